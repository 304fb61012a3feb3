package zkreader

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseZxid parses a zxid as an operator or the quorum's metadata writes
// it: decimal, or hex after 0x (as ZooKeeper names its files, log.<hex>).
// A zxid is never negative; signs, other bases and underscores are refused.
func ParseZxid(s string) (int64, error) {
	digits, base := s, 10
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		digits, base = h, 16
	} else if h, ok := strings.CutPrefix(s, "0X"); ok {
		digits, base = h, 16
	}
	if digits == "" || strings.ContainsAny(digits[:1], "+-") || strings.Contains(digits, "_") {
		return 0, fmt.Errorf("zxid %q: want a non-negative decimal or 0x hex number", s)
	}
	z, err := strconv.ParseInt(digits, base, 64)
	if err != nil {
		return 0, fmt.Errorf("zxid %q: want a non-negative decimal or 0x hex number below 2^63", s)
	}
	return z, nil
}
