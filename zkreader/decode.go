package zkreader

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Finding codes the parsers emit.
const (
	CodeMalformed      = "malformed-znode"    // bad JSON, missing field, wrong type, out of range
	CodeInvalidName    = "invalid-znode-name" // a znode name that must be a number, an enum, ...
	CodeEmptyZnode     = "empty-znode"        // a znode without data where data is optional (kept out)
	CodeStrayPartition = "partition-not-in-assignment"
	CodeUnknownACLType = "unknown-acl-resource-type"
	CodeUnreadable     = "unreadable-znode" // ZooKeeper refused the read (e.g. NoAuth)
)

// malformed builds the blocker finding for a znode that cannot be used.
func malformed(path, field, expected, format string, args ...any) Finding {
	return Finding{
		Severity: Blocker,
		Code:     CodeMalformed,
		Path:     path,
		Field:    field,
		Expected: expected,
		Message:  fmt.Sprintf(format, args...),
		Remedy:   "fix or delete the znode with zkCli.sh (Kafka itself would fail on it), then read again",
	}
}

// isNullData reports whether a znode holds no JSON value (no data, or "null").
func isNullData(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) == 0 || string(t) == "null"
}

// decodeJSON unmarshals data into v (a pointer to a struct whose required
// fields are pointers) and turns a failure into a precise finding. Unknown
// fields are tolerated. It never echoes znode values (they may be secrets).
//
// encoding/json is lenient where Kafka's reader (Jackson) is not or where
// the result would be ambiguous, so decodeJSON also refuses, with the field
// named: strings that are not valid UTF-8 (encoding/json would silently turn
// them into U+FFFD; Jackson fails), and a key that appears twice in one
// object (encoding/json keeps the last; which one a Kafka broker acted on
// is not knowable from the znode, so the migration does not guess).
func decodeJSON(path string, data []byte, v any, what string) []Finding {
	if isNullData(data) {
		return []Finding{malformed(path, "", what, "znode has no data")}
	}
	err := json.Unmarshal(data, v)
	if err == nil {
		if f := checkJSONText(path, data); f != nil {
			return []Finding{*f}
		}
		return nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		if strings.Contains(se.Error(), "exceeded max depth") {
			return []Finding{malformed(path, "", what, "JSON nested more than %d levels deep (at byte %d)", maxJSONDepth, se.Offset)}
		}
		if !utf8.Valid(data) {
			// a syntax error inside garbage: say what is wrong with the bytes
			return []Finding{malformed(path, "", what, "malformed JSON at byte %d (the znode is not valid UTF-8 text)", se.Offset)}
		}
		return []Finding{malformed(path, "", what, "malformed JSON at byte %d", se.Offset)}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return []Finding{malformed(path, "", what, "JSON %s where %s was expected", jsonKind(te.Value), what)}
		}
		return []Finding{malformed(path, field, goTypeName(te.Type.String()), "%s", typeErrMessage(te))}
	default:
		return []Finding{malformed(path, "", what, "cannot decode: %v", err)}
	}
}

// maxJSONDepth is encoding/json's nesting limit (a Kafka znode nests at
// most 4 levels).
const maxJSONDepth = 10000

// typeErrMessage says why a JSON value does not fit its field: a number
// out of the field's range, a number with a fraction or exponent where an
// integer belongs, or a value of the wrong kind. The value is not echoed.
func typeErrMessage(te *json.UnmarshalTypeError) string {
	kind, lit, _ := strings.Cut(te.Value, " ")
	if kind == "number" && te.Type != nil {
		switch te.Type.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if strings.ContainsAny(lit, ".eE") {
				return "number is not an integer (it has a fraction or an exponent)"
			}
			return "number out of range for a " + goTypeName(te.Type.String())
		case reflect.Float32, reflect.Float64:
			return "number out of range for a double"
		}
	}
	return "wrong type: JSON " + kind
}

// checkJSONText walks syntactically valid JSON (encoding/json accepted it)
// and reports the first string that is not valid UTF-8 and the first object
// key that appears twice, naming the field where it sits ("config.x",
// "partitions.0", "acls[2].host"). Keys are compared after unescaping. It
// allocates nothing for the small objects Kafka writes.
func checkJSONText(path string, data []byte) *Finding {
	type frame struct {
		obj      bool
		key      []byte // object: the key whose value comes next
		idx      int    // array: the index of the next element
		keyStart int    // object: its keys are keys[keyStart:] (or set)
		set      map[string]struct{}
	}
	var (
		stackBuf [8]frame
		keysBuf  [32][]byte
		stack    = stackBuf[:0]
		keys     = keysBuf[:0] // the keys of every open object, innermost last
	)
	// field names the position: the open objects' keys and arrays' indexes
	field := func(withTop bool) string {
		var b strings.Builder
		n := len(stack)
		if !withTop {
			n--
		}
		for _, f := range stack[:n] {
			if f.obj {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.Write(f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.idx) + "]")
			}
		}
		return b.String()
	}
	expectKey := false
	for i := 0; i < len(data); {
		c := data[i]
		switch c {
		case ' ', '\t', '\n', '\r', ':':
			i++
		case ',':
			i++
			if len(stack) == 0 {
				return nil
			}
			if top := &stack[len(stack)-1]; top.obj {
				expectKey = true
			} else {
				top.idx++
			}
		case '{', '[':
			stack = append(stack, frame{obj: c == '{', keyStart: len(keys)})
			expectKey = c == '{'
			i++
		case '}', ']':
			if len(stack) == 0 {
				return nil
			}
			keys = keys[:stack[len(stack)-1].keyStart]
			stack = stack[:len(stack)-1]
			expectKey = false
			i++
		case '"':
			end := i + 1
			escaped := false
			for end < len(data) && data[end] != '"' {
				if data[end] == '\\' {
					escaped = true
					end++
				}
				end++
			}
			if end >= len(data) {
				return nil // not JSON: encoding/json said so already
			}
			raw := data[i+1 : end]
			quoted := data[i : end+1]
			i = end + 1
			if !utf8.Valid(raw) {
				if expectKey {
					f := malformed(path, field(false), "object keys of valid UTF-8 text", "an object key is not valid UTF-8")
					return &f
				}
				f := malformed(path, field(true), "string of valid UTF-8 text", "string value is not valid UTF-8 (Kafka's JSON reader refuses it)")
				return &f
			}
			if !expectKey || len(stack) == 0 {
				continue
			}
			expectKey = false
			k := raw
			if escaped {
				var u string
				if json.Unmarshal(quoted, &u) == nil {
					k = []byte(u)
				}
			}
			top := &stack[len(stack)-1]
			top.key = k
			dup := false
			if top.set != nil {
				_, dup = top.set[string(k)]
				top.set[string(k)] = struct{}{}
			} else {
				for _, x := range keys[top.keyStart:] {
					if bytes.Equal(x, k) {
						dup = true
						break
					}
				}
				keys = append(keys, k)
				if n := len(keys) - top.keyStart; n > 16 { // a big object: a set
					top.set = make(map[string]struct{}, 2*n)
					for _, x := range keys[top.keyStart:] {
						top.set[string(x)] = struct{}{}
					}
					keys = keys[:top.keyStart]
				}
			}
			if dup {
				f := malformed(path, field(true), "each key once in a JSON object",
					"key appears more than once; encoding/json and Kafka would keep the last value, the migration does not guess")
				f.Remedy = "rewrite the znode with each key once (zkCli.sh set), then read again"
				return &f
			}
		default: // a number, true, false or null
			for i < len(data) && !isJSONDelim(data[i]) {
				i++
			}
		}
	}
	return nil
}

func joinField(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func isJSONDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// jsonKind keeps only the kind of a JSON value from an UnmarshalTypeError's
// description ("number 1.5" -> "number"): values are never echoed.
func jsonKind(v string) string {
	k, _, _ := strings.Cut(v, " ")
	return k
}

// decodeMapOf decodes a JSON object whose values are each decoded into a T,
// so a wrong value names its key ("partitions.3").
func decodeMapOf[T any](path, field string, raw map[string]json.RawMessage, expected string) (map[string]T, []Finding) {
	if raw == nil {
		return nil, nil
	}
	out := make(map[string]T, len(raw))
	for k, v := range raw {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			msg := "wrong type: JSON " + jsonValueKind(v)
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && strings.HasPrefix(te.Value, "number") {
				msg = typeErrMessage(te) // e.g. a broker id beyond 32 bits
			}
			return nil, []Finding{malformed(path, field+"."+k, expected, "%s", msg)}
		}
		out[k] = x
	}
	return out, nil
}

func jsonValueKind(v json.RawMessage) string {
	t := bytes.TrimSpace(v)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

func goTypeName(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch t {
	case "int8":
		return "integer in [-128, 127]"
	case "int16":
		return "16-bit integer"
	case "int32":
		return "32-bit integer"
	case "int64", "int":
		return "64-bit integer"
	case "string":
		return "string"
	case "[]int32":
		return "array of 32-bit integers"
	case "[]string":
		return "array of strings"
	case "map[string]string":
		return "object of string values"
	case "map[string][]int32":
		return "object of integer arrays"
	}
	return t
}

// missing reports a required field that is absent or null.
func missing(path, field, expected string) Finding {
	return malformed(path, field, expected, "required field %q is missing", field)
}

// lastElem returns the last element of a znode path.
func lastElem(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// parentPath returns the parent of a znode path ("/" for top-level nodes).
func parentPath(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/"
	}
	return path[:i]
}
