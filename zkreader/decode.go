package zkreader

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
func decodeJSON(path string, data []byte, v any, what string) []Finding {
	if isNullData(data) {
		return []Finding{malformed(path, "", what, "znode has no data")}
	}
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return []Finding{malformed(path, "", what, "malformed JSON at byte %d", se.Offset)}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return []Finding{malformed(path, "", what, "JSON %s where %s was expected", jsonKind(te.Value), what)}
		}
		return []Finding{malformed(path, field, goTypeName(te.Type.String()), "wrong type: JSON %s", jsonKind(te.Value))}
	default:
		return []Finding{malformed(path, "", what, "cannot decode: %v", err)}
	}
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
			return nil, []Finding{malformed(path, field+"."+k, expected, "wrong type: JSON %s", jsonValueKind(v))}
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
