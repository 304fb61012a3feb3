package zkreader

// A fast path for the two znode kinds a large cluster has by the million
// (partition states) and by the thousand (topics). It accepts only the plain
// shape Kafka writes: an object of known keys with integer, integer-array,
// ASCII string or object-of-integer-array values, each key once. Anything
// else (unknown or duplicate keys, nulls, floats, escapes, non-ASCII, odd
// whitespace is fine) makes it give up, and the parser falls back to
// encoding/json, which produces the precise finding. FuzzFastPathAgrees
// checks that both paths agree whenever the fast one succeeds.

import (
	"cmp"
	"math"
	"slices"

	"github.com/zk2kraft/zk2kraft/kafka"
)

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
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return s.eatSpace(c)
}

// eatSpace is eat after whitespace.
func (s *fastJSON) eatSpace(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] > ' ' { // not whitespace: no need to skip any
		return false
	}
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
	if s.i < len(s.b) && s.b[s.i] <= ' ' {
		s.ws()
	}
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
		// duplicate partition keys: the full parser reports them
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

// The model fast paths below build the model value itself for the plain
// shape, with every check of ParsePartitionState / ParseTopic; they give up
// (false) on anything those would report or that they decode differently,
// and the caller then calls the full parser. FuzzFastModelAgrees checks
// that both give deep-equal values whenever the fast path succeeds.

// stateArena hands out partition states and ISR lists from shared chunks:
// one allocation per few hundred states instead of two per state. Each ISR
// slice is capped at its length, so an append copies it.
type stateArena struct {
	states []PartitionState
	ints   []int32
}

func (a *stateArena) state() *PartitionState {
	if len(a.states) == 0 {
		a.states = make([]PartitionState, 256)
	}
	p := &a.states[0]
	a.states = a.states[1:]
	return p
}

func (a *stateArena) int32s(v []int32) []int32 {
	if cap(a.ints)-len(a.ints) < len(v) || a.ints == nil {
		a.ints = make([]int32, 0, max(1024, len(v)))
	}
	start := len(a.ints)
	a.ints = append(a.ints, v...)
	return a.ints[start:len(a.ints):len(a.ints)]
}

// fastStateModel is ParsePartitionState for the plain shape.
func fastStateModel(a *stateArena, b []byte, st Stat) (*PartitionState, bool) {
	s := fastJSON{b: b}
	if !s.eat('{') {
		return nil, false
	}
	var (
		v    PartitionState
		isr  [16]int32
		n    int
		seen int
	)
	if s.eat('}') {
		return nil, false // required fields missing: the parser says which
	}
	for {
		k, ok := s.key()
		if !ok {
			return nil, false
		}
		var bit int
		switch string(k) {
		case "version":
			bit = 1
			x, ok := s.integer(math.MinInt64, math.MaxInt64)
			if !ok {
				return nil, false
			}
			v.Version = int(x)
		case "leader":
			bit = 2
			x, ok := s.integer(-2, math.MaxInt32) // below -2: a finding
			if !ok {
				return nil, false
			}
			v.Leader = int32(x)
		case "leader_epoch":
			bit = 4
			x, ok := s.integer(math.MinInt32, math.MaxInt32)
			if !ok {
				return nil, false
			}
			v.LeaderEpoch = int32(x)
		case "controller_epoch":
			bit = 8
			x, ok := s.integer(math.MinInt32, math.MaxInt32)
			if !ok {
				return nil, false
			}
			v.ControllerEpoch = int32(x)
		case "isr":
			bit = 16
			if !s.eat('[') {
				return nil, false
			}
			if !s.eat(']') {
				for {
					x, ok := s.integer(0, math.MaxInt32) // negative: a finding
					if !ok || n == len(isr) {
						return nil, false
					}
					for _, y := range isr[:n] {
						if y == int32(x) {
							return nil, false // a duplicate: a finding
						}
					}
					isr[n] = int32(x)
					n++
					if s.eat(']') {
						break
					}
					if !s.eat(',') {
						return nil, false
					}
				}
			}
		case "leader_recovery_state":
			bit = 32
			x, ok := s.integer(0, 1) // anything else: a finding
			if !ok {
				return nil, false
			}
			v.LeaderRecoveryState = int8(x)
		default:
			return nil, false
		}
		if seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		if s.eat('}') {
			break
		}
		if !s.eat(',') {
			return nil, false
		}
	}
	if seen&31 != 31 || !s.end() {
		return nil, false
	}
	p := a.state()
	*p = v
	p.ISR = a.int32s(isr[:n])
	p.Stat = st
	return p, true
}

// key reads an object key and the colon after it without checking its
// characters: only for callers that accept nothing but known plain-ASCII
// keys (a key with an escape or a control character never equals one).
func (s *fastJSON) key() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) && s.b[s.i] != '"' { // keys are short
		s.i++
	}
	if s.i == len(s.b) {
		return nil, false
	}
	k := s.b[start:s.i]
	s.i++
	return k, s.eat(':')
}

// canonicalID reads a partition key written as Kafka writes it: a
// non-negative decimal int32 without sign or leading zeros.
func canonicalID(k []byte) (int32, bool) {
	if len(k) == 0 || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	var v int64
	for _, c := range k {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

// fastTopicModel is ParseTopic for the plain shape: no reassignment in
// progress (empty or absent adding/removing_replicas), canonical partition
// keys, non-empty replica lists of distinct non-negative broker ids.
func fastTopicModel(path string, b []byte, st Stat) (*Topic, bool) {
	s := fastJSON{b: b}
	if !s.eat('{') || s.eat('}') {
		return nil, false
	}
	type span struct {
		id         int32
		start, end int
	}
	var (
		version       int
		topicID       []byte
		hasID         bool
		seen          int
		spans         []span
		backing       []int32
		spansBuf      [64]span
		sorted, dense = true, true
	)
	spans = spansBuf[:0]
	for {
		k, ok := s.key()
		if !ok {
			return nil, false
		}
		var bit int
		switch string(k) {
		case "version":
			bit = 1
			x, ok := s.integer(math.MinInt64, math.MaxInt64)
			if !ok {
				return nil, false
			}
			version = int(x)
		case "partitions":
			bit = 2
			if !s.eat('{') {
				return nil, false
			}
			if !s.eat('}') {
				if backing == nil {
					backing = make([]int32, 0, 256)
				}
				for {
					pk, ok := s.key()
					if !ok {
						return nil, false
					}
					id, ok := canonicalID(pk) // digits only: a plain key
					if !ok || !s.eat('[') || s.eat(']') {
						return nil, false
					}
					start := len(backing)
					for {
						x, ok := s.integer(0, math.MaxInt32)
						if !ok {
							return nil, false
						}
						for _, y := range backing[start:] {
							if y == int32(x) {
								return nil, false
							}
						}
						backing = append(backing, int32(x))
						if s.eat(']') {
							break
						}
						if !s.eat(',') {
							return nil, false
						}
					}
					if len(spans) > 0 && spans[len(spans)-1].id >= id {
						sorted = false
					}
					spans = append(spans, span{id, start, len(backing)})
					if s.eat('}') {
						break
					}
					if !s.eat(',') {
						return nil, false
					}
				}
			}
		case "adding_replicas", "removing_replicas":
			bit = 4
			if string(k) == "removing_replicas" {
				bit = 8
			}
			// only an empty object: entries need the full parser's checks
			if !s.eat('{') || !s.eat('}') {
				return nil, false
			}
		case "topic_id":
			bit = 16
			topicID, ok = s.str()
			if !ok {
				return nil, false
			}
			hasID = true
		default:
			return nil, false
		}
		if seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		if s.eat('}') {
			break
		}
		if !s.eat(',') {
			return nil, false
		}
	}
	if seen&3 != 3 || !s.end() {
		return nil, false
	}
	t := &Topic{Name: lastElem(path), Version: version, Stat: st}
	if !LegalTopicName(t.Name) {
		return nil, false // the full parser warns
	}
	if hasID {
		id, err := kafka.ParseUUID(string(topicID))
		if err != nil || id.IsZero() {
			return nil, false
		}
		t.TopicID = &id
	}
	parts := make([]Partition, len(spans))
	// partitions 0..n-1 in any order (Kafka writes a map) go straight to
	// their place; anything else is sorted
	for _, sp := range spans {
		if int(sp.id) >= len(parts) || parts[sp.id].Replicas != nil {
			dense = false
			break
		}
		parts[sp.id] = Partition{ID: sp.id, Replicas: backing[sp.start:sp.end:sp.end]}
	}
	if !dense {
		if !sorted {
			if len(spans) <= 64 {
				// insertion sort: no closure, so spans stays on the stack
				for i := 1; i < len(spans); i++ {
					for j := i; j > 0 && spans[j].id < spans[j-1].id; j-- {
						spans[j], spans[j-1] = spans[j-1], spans[j]
					}
				}
			} else {
				big := append([]span(nil), spans...)
				slices.SortFunc(big, func(x, y span) int { return cmp.Compare(x.id, y.id) })
				copy(spans, big)
			}
		}
		for i, sp := range spans {
			if i > 0 && spans[i-1].id == sp.id {
				return nil, false // a duplicate partition: a finding
			}
			parts[i] = Partition{ID: sp.id, Replicas: backing[sp.start:sp.end:sp.end]}
		}
	}
	t.Partitions = parts
	return t, true
}
