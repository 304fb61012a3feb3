package zkreader

// A fast path for the two znode kinds a large cluster has by the million
// (partition states) and by the thousand (topics). It accepts only the plain
// shape Kafka writes: an object of known keys with integer, integer-array,
// ASCII string or object-of-integer-array values, each key once. Anything
// else (unknown or duplicate keys, nulls, floats, escapes, non-ASCII, odd
// whitespace is fine) makes it give up, and the parser falls back to
// encoding/json, which produces the precise finding. FuzzFastPathAgrees
// checks that both paths agree whenever the fast one succeeds.

import "math"

type fastJSON struct {
	b []byte
	i int
}

func (s *fastJSON) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *fastJSON) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *fastJSON) peek(c byte) bool {
	s.ws()
	return s.i < len(s.b) && s.b[s.i] == c
}

// str reads a string of printable ASCII without escapes.
func (s *fastJSON) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// integer reads a JSON integer (no fraction, exponent or leading zero) within [lo, hi].
func (s *fastJSON) integer(lo, hi int64) (int64, bool) {
	s.ws()
	neg := false
	if s.i < len(s.b) && s.b[s.i] == '-' {
		neg = true
		s.i++
	}
	start := s.i
	var v int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		if v > (math.MaxInt64-9)/10 {
			return 0, false
		}
		v = v*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	n := s.i - start
	if n == 0 || (n > 1 && s.b[start] == '0') {
		return 0, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	if v < lo || v > hi {
		return 0, false
	}
	return v, true
}

// int32s appends a JSON array of 32-bit integers to dst.
func (s *fastJSON) int32s(dst []int32) ([]int32, bool) {
	if !s.eat('[') {
		return nil, false
	}
	if s.eat(']') {
		return dst, true
	}
	for {
		v, ok := s.integer(math.MinInt32, math.MaxInt32)
		if !ok {
			return nil, false
		}
		dst = append(dst, int32(v))
		if s.eat(']') {
			return dst, true
		}
		if !s.eat(',') {
			return nil, false
		}
	}
}

// object calls field for every key of an object; field reads the value.
func (s *fastJSON) object(field func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		k, ok := s.str()
		if !ok || !s.eat(':') || !field(k) {
			return false
		}
		if s.eat('}') {
			return true
		}
		if !s.eat(',') {
			return false
		}
	}
}

func (s *fastJSON) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// stateFields are the fields of a partition state znode.
type stateFields struct {
	version                          int
	leader, epoch, ctlEpoch          int32
	isr                              []int32
	lrs                              int8
	hasVersion, hasLeader, hasEpoch  bool
	hasCtlEpoch, hasISR, hasLRS, bad bool
}

func fastPartitionState(b []byte) (f stateFields, ok bool) {
	s := fastJSON{b: b}
	seen := 0
	ok = s.object(func(k []byte) bool {
		var bit int
		switch string(k) {
		case "version":
			bit = 1
			v, ok := s.integer(math.MinInt64, math.MaxInt64)
			f.version, f.hasVersion = int(v), ok
		case "leader":
			bit = 2
			v, ok := s.integer(math.MinInt32, math.MaxInt32)
			f.leader, f.hasLeader = int32(v), ok
		case "leader_epoch":
			bit = 4
			v, ok := s.integer(math.MinInt32, math.MaxInt32)
			f.epoch, f.hasEpoch = int32(v), ok
		case "controller_epoch":
			bit = 8
			v, ok := s.integer(math.MinInt32, math.MaxInt32)
			f.ctlEpoch, f.hasCtlEpoch = int32(v), ok
		case "isr":
			bit = 16
			var ok bool
			f.isr, ok = s.int32s(make([]int32, 0, 4))
			f.hasISR = ok
		case "leader_recovery_state":
			bit = 32
			v, ok := s.integer(math.MinInt8, math.MaxInt8)
			f.lrs, f.hasLRS = int8(v), ok
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		// a value that failed to parse leaves its has-flag false: give up
		switch bit {
		case 1:
			return f.hasVersion
		case 2:
			return f.hasLeader
		case 4:
			return f.hasEpoch
		case 8:
			return f.hasCtlEpoch
		case 16:
			return f.hasISR
		default:
			return f.hasLRS
		}
	}) && s.end()
	return f, ok
}

// partList is one "partitions"/"adding_replicas"/"removing_replicas" entry.
type partList struct {
	key  string
	reps []int32
}

type topicFields struct {
	version                 int
	hasVersion              bool
	parts, adding, removing []partList
	hasParts                bool
	topicID                 *string
}

func fastTopic(b []byte) (f topicFields, ok bool) {
	s := fastJSON{b: b}
	seen := 0
	// one backing array for every replica list of the topic
	backing := make([]int32, 0, 64)
	lists := func(dst *[]partList) bool {
		return s.object(func(k []byte) bool {
			start := len(backing)
			var ok bool
			backing, ok = s.int32s(backing)
			if !ok {
				return false
			}
			*dst = append(*dst, partList{key: string(k), reps: backing[start:len(backing):len(backing)]})
			return true
		})
	}
	ok = s.object(func(k []byte) bool {
		var bit int
		var ok bool
		switch string(k) {
		case "version":
			bit = 1
			var v int64
			v, ok = s.integer(math.MinInt64, math.MaxInt64)
			f.version, f.hasVersion = int(v), ok
		case "partitions":
			bit = 2
			ok = lists(&f.parts)
			f.hasParts = ok
		case "adding_replicas":
			bit = 4
			ok = lists(&f.adding)
		case "removing_replicas":
			bit = 8
			ok = lists(&f.removing)
		case "topic_id":
			bit = 16
			var v []byte
			v, ok = s.str()
			id := string(v)
			f.topicID = &id
		default:
			return false
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	}) && s.end()
	if ok {
		// duplicate partition keys: leave them to encoding/json's last-wins
		for _, l := range [][]partList{f.parts, f.adding, f.removing} {
			keys := make(map[string]struct{}, len(l))
			for _, p := range l {
				if _, dup := keys[p.key]; dup {
					return f, false
				}
				keys[p.key] = struct{}{}
			}
		}
	}
	return f, ok
}
