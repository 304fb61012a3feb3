package records

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/zk2kraft/zk2kraft/kafka"
)

// JSON in the style of Kafka's generated JsonConverters, as printed by
// kafka-dump-log --cluster-metadata-decoder and the metadata shell:
//
//	{"type":"TOPIC_RECORD","version":0,"data":{"name":"orders","topicId":"..."}}
//
// Field names are the schema names with a lower-case first letter; fields not
// in the version are left out; tagged fields only appear when they differ
// from their default; UUIDs are Kafka's base64url text; bytes are standard
// base64 with padding (Jackson's BinaryNode); float64 is printed as Java's
// Double.toString does.

// Redacted replaces secret values in JSON unless JSONOptions.ShowSecrets.
const Redacted = "<redacted>"

// JSONOptions control MarshalJSONLine.
type JSONOptions struct {
	// ShowSecrets prints SCRAM salts and keys and sensitive config values;
	// otherwise they are rendered as "<redacted>".
	ShowSecrets bool
}

// MarshalJSONLine renders v as one line of Kafka-style JSON (no newline).
// It fails when v.Record cannot be written at v.Version.
func MarshalJSONLine(v Versioned, opts JSONOptions) ([]byte, error) {
	return AppendJSONLine(nil, v, opts)
}

// AppendJSONLine is MarshalJSONLine appending to dst.
func AppendJSONLine(dst []byte, v Versioned, opts JSONOptions) ([]byte, error) {
	if v.Record == nil {
		return dst, fmt.Errorf("marshal json: nil record")
	}
	// The binary writer checks the version and every version-dependent
	// field; JSON must not show what the record could not carry.
	var scratch [256]byte
	if _, err := v.Record.AppendTo(scratch[:0], v.Version); err != nil {
		return dst, fmt.Errorf("marshal json: %w", err)
	}
	rec := v.Record
	if !opts.ShowSecrets {
		if c, ok := rec.(*ConfigRecord); ok && c.Value != nil && IsSensitiveConfig(c.Name) {
			cp := *c
			red := Redacted
			cp.Value = &red
			rec = &cp
		}
	}
	dst = append(dst, `{"type":`...)
	dst = appendJSONString(dst, rec.TypeName())
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, int64(v.Version), 10)
	dst = append(dst, `,"data":`...)
	dst = rec.(jsonRecord).appendJSON(dst, v.Version, &opts)
	return append(dst, '}'), nil
}

// UnmarshalJSONLine parses one line written by MarshalJSONLine (with
// ShowSecrets; a redacted value cannot be read back).
func UnmarshalJSONLine(line []byte) (Versioned, error) {
	var env struct {
		Type    string          `json:"type"`
		Version *int16          `json:"version"`
		Data    json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		return Versioned{}, fmt.Errorf("unmarshal json line: %w", err)
	}
	if env.Type == "" || env.Version == nil || env.Data == nil {
		return Versioned{}, fmt.Errorf("unmarshal json line: want an object with type, version and data")
	}
	rec := recordByTypeName(env.Type)
	if rec == nil {
		return Versioned{}, fmt.Errorf("unmarshal json line: unknown record type %q", env.Type)
	}
	ver := *env.Version
	if ver < rec.LowestVersion() || ver > rec.HighestVersion() {
		return Versioned{}, fmt.Errorf("unmarshal json line: %w", versionError(rec.TypeName(), ver, rec.LowestVersion(), rec.HighestVersion()))
	}
	obj, err := jsonObjectOf(env.Data)
	if err != nil {
		return Versioned{}, fmt.Errorf("unmarshal json line: %s data: %w", env.Type, err)
	}
	if err := rec.(jsonRecord).readJSON(obj, ver); err != nil {
		return Versioned{}, fmt.Errorf("unmarshal json line: %s: %w", env.Type, err)
	}
	return Versioned{Record: rec, Version: ver}, nil
}

// jsonRecord is implemented by every generated record type.
type jsonRecord interface {
	appendJSON(dst []byte, version int16, o *JSONOptions) []byte
	readJSON(obj jsonObject, version int16) error
}

// IsSensitiveConfig reports whether a config name holds a secret (Kafka's
// PASSWORD-typed configs, including listener- and mechanism-prefixed forms).
// Their values are redacted in JSON unless ShowSecrets.
func IsSensitiveConfig(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"password", "secret", "sasl.jaas.config", "ssl.keystore.key", "ssl.keystore.certificate.chain", "ssl.truststore.certificates", "token.master.key", "credentials"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// ---- writing ----

// jsonKey appends `"key":`, preceded by a comma unless it is the first
// member of the object that starts at objStart (the '{').
func jsonKey(dst []byte, objStart int, key string) []byte {
	if len(dst) > objStart+1 {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

const hexDigits = "0123456789abcdef"

func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendJSONNullableString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return appendJSONString(dst, *s)
}

func appendJSONInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

func appendJSONBool(dst []byte, v bool) []byte { return strconv.AppendBool(dst, v) }

func appendJSONUUID(dst []byte, u kafka.UUID) []byte {
	dst = append(dst, '"')
	dst = base64.RawURLEncoding.AppendEncode(dst, u[:])
	return append(dst, '"')
}

func appendJSONBytes(dst []byte, b []byte, secret bool, o *JSONOptions) []byte {
	if b == nil {
		return append(dst, "null"...)
	}
	if secret && !o.ShowSecrets {
		return appendJSONString(dst, Redacted)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendJSONFloat prints f as Java's Double.toString (Jackson's DoubleNode)
// does: "900.0", "0.001", "1.0E7", "1.5E-4". NaN and infinities, which JSON
// cannot carry, are written as the strings "NaN", "Infinity", "-Infinity".
func appendJSONFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // [-]d[.ddd]e±XX
	neg := e[0] == '-'
	if neg {
		e = e[1:]
		dst = append(dst, '-')
	}
	epos := bytes.IndexByte(e, 'e')
	digits := make([]byte, 0, 20)
	digits = append(digits, e[0])
	if epos > 1 {
		digits = append(digits, e[2:epos]...)
	}
	exp, _ := strconv.Atoi(string(e[epos+1:]))
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		if exp >= 0 {
			intPart := exp + 1
			for len(digits) < intPart {
				digits = append(digits, '0')
			}
			dst = append(dst, digits[:intPart]...)
			dst = append(dst, '.')
			if len(digits) > intPart {
				return append(dst, digits[intPart:]...)
			}
			return append(dst, '0')
		}
		dst = append(dst, '0', '.')
		for i := 0; i < -exp-1; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[0], '.')
	if len(digits) > 1 {
		dst = append(dst, digits[1:]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// ---- reading ----

type jsonObject map[string]json.RawMessage

func jsonObjectOf(raw json.RawMessage) (jsonObject, error) {
	var obj jsonObject
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("want a JSON object: %w", err)
	}
	if obj == nil {
		return nil, fmt.Errorf("want a JSON object, got null")
	}
	return obj, nil
}

func isJSONNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

func missingField(name string, version int16) error {
	return fmt.Errorf("field %q is mandatory in version %d but missing", name, version)
}

func badField(name string, err error) error { return fmt.Errorf("field %q: %w", name, err) }

// jsonInt reads an integer (a JSON number or a string holding one, as Kafka's
// MessageUtil accepts) within [lo, hi].
func jsonInt(raw json.RawMessage, lo, hi int64) (int64, error) {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 1 && s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer, got %s", truncate(string(raw)))
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%d out of range [%d, %d]", v, lo, hi)
	}
	return v, nil
}

func jsonFloat(raw json.RawMessage) (float64, error) {
	s := string(bytes.TrimSpace(raw))
	switch s {
	case `"NaN"`:
		return math.NaN(), nil
	case `"Infinity"`:
		return math.Inf(1), nil
	case `"-Infinity"`:
		return math.Inf(-1), nil
	}
	if len(s) > 1 && s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("want a number, got %s", truncate(string(raw)))
	}
	return v, nil
}

func jsonBool(raw json.RawMessage) (bool, error) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("want true or false, got %s", truncate(string(raw)))
}

func jsonString(raw json.RawMessage) (string, error) {
	var s string
	if isJSONNull(raw) {
		return "", fmt.Errorf("null for a non-nullable string")
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("want a string, got %s", truncate(string(raw)))
	}
	return s, nil
}

func jsonNullableString(raw json.RawMessage) (*string, error) {
	if isJSONNull(raw) {
		return nil, nil
	}
	s, err := jsonString(raw)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func jsonUUID(raw json.RawMessage) (kafka.UUID, error) {
	s, err := jsonString(raw)
	if err != nil {
		return kafka.UUID{}, err
	}
	return kafka.ParseUUID(s)
}

func jsonBytes(raw json.RawMessage) ([]byte, error) {
	if isJSONNull(raw) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		// Bytes fields hold secrets (SCRAM keys): never echo the value.
		return nil, fmt.Errorf("want a base64 string")
	}
	if s == Redacted {
		return nil, fmt.Errorf("value is redacted (write the JSON with secrets shown to read it back)")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b2, err2 := base64.RawStdEncoding.DecodeString(s); err2 == nil {
			return b2, nil
		}
		return nil, fmt.Errorf("want a base64 string")
	}
	return b, nil
}

// jsonArray splits a JSON array; null gives (nil, true).
func jsonArray(raw json.RawMessage) (elems []json.RawMessage, isNull bool, err error) {
	if isJSONNull(raw) {
		return nil, true, nil
	}
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, false, fmt.Errorf("want a JSON array, got %s", truncate(string(raw)))
	}
	if elems == nil {
		elems = []json.RawMessage{}
	}
	return elems, false, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
