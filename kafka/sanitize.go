package kafka

import (
	"fmt"
	"net/url"
	"strings"
)

// Sanitize encodes an entity name the way Kafka's Sanitizer.sanitize does:
// java.net.URLEncoder (UTF-8) with '*' as %2A and '+' (a space) as %20.
// [A-Za-z0-9._-] stay; every other byte becomes %XX (uppercase hex).
func Sanitize(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Desanitize decodes a sanitized entity name as Kafka's Sanitizer.desanitize
// (java.net.URLDecoder) does: %XX sequences are decoded and '+' becomes a space.
func Desanitize(name string) (string, error) {
	s, err := url.QueryUnescape(name)
	if err != nil {
		return "", fmt.Errorf("desanitize %q: %w", name, err)
	}
	return s, nil
}
