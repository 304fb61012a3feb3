// Package kafka holds the small Kafka value types that every stage of the
// migration shares: UUIDs in Kafka's text form, entity-name sanitizing, and the
// enum codes that ZooKeeper spells as names and metadata records as numbers.
package kafka

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// UUID is a Kafka Uuid: 16 bytes, most significant long first.
type UUID [16]byte

// ZeroUUID is Kafka's Uuid.ZERO_UUID.
var ZeroUUID UUID

// String renders the UUID as Kafka does: base64url without padding (22 chars).
func (u UUID) String() string { return base64.RawURLEncoding.EncodeToString(u[:]) }

// IsZero reports whether u is the all-zero UUID.
func (u UUID) IsZero() bool { return u == ZeroUUID }

// ParseUUID parses Kafka's 22-character base64url form.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 22 {
		return u, fmt.Errorf("uuid %q: want 22 base64url characters, got %d", s, len(s))
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return u, fmt.Errorf("uuid %q: not base64url without padding", s)
	}
	copy(u[:], b)
	return u, nil
}

// MarshalText implements encoding.TextMarshaler (Kafka's text form).
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (u *UUID) UnmarshalText(b []byte) error {
	p, err := ParseUUID(string(b))
	if err != nil {
		return err
	}
	*u = p
	return nil
}

// DerivedUUID returns a deterministic UUID derived from the given parts, for
// objects Kafka would give a random id (ACL entries, assigned topic ids). It
// follows Kafka's rules for generated ids: never the zero or the sentinel
// "one" UUID, and never one whose text form starts with '-'.
func DerivedUUID(parts ...string) UUID {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	sum := h.Sum(nil)
	for {
		var u UUID
		copy(u[:], sum[:16])
		if !u.IsZero() && u != (UUID{15: 1}) && u.String()[0] != '-' {
			return u
		}
		next := sha256.Sum256(sum)
		sum = next[:]
	}
}
