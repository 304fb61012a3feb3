// Command recordgen generates the Go types of package translate/records from
// Kafka's JSON message schemas (translate/records/schemas). It is run by
// `go generate ./translate/...`; its output is committed and never edited.
//
// It understands what the 3.9 metadata and control-record schemas use:
// validVersions, flexibleVersions (which must cover every valid version),
// per-field versions, nullableVersions, taggedVersions/tag, default,
// ignorable, inline struct and struct-array fields, and commonStructs.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

func main() {
	schemas := flag.String("schemas", "schemas", "directory of metadata record schemas (control records in its control/ subdirectory)")
	out := flag.String("out", ".", "output directory")
	flag.Parse()
	if err := run(*schemas, *out); err != nil {
		log.Fatal(err)
	}
}

// controlTypes maps control-record schema names to ControlRecordType codes.
var controlTypes = map[string]int{
	"LeaderChangeMessage":  2,
	"SnapshotHeaderRecord": 3,
	"SnapshotFooterRecord": 4,
	"KRaftVersionRecord":   5,
	"VotersRecord":         6,
}

// controlTypeNames are Kafka's ControlRecordType enum names.
var controlTypeNames = map[string]string{
	"LeaderChangeMessage":  "LEADER_CHANGE",
	"SnapshotHeaderRecord": "SNAPSHOT_HEADER",
	"SnapshotFooterRecord": "SNAPSHOT_FOOTER",
	"KRaftVersionRecord":   "KRAFT_VERSION",
	"VotersRecord":         "KRAFT_VOTERS",
}

// secretFields are redacted in JSON unless ShowSecrets (Kafka's
// RecordRedactor does the same for these fields).
var secretFields = map[string]bool{
	"UserScramCredentialRecord.Salt":      true,
	"UserScramCredentialRecord.StoredKey": true,
	"UserScramCredentialRecord.ServerKey": true,
}

type rawSchema struct {
	APIKey           *int        `json:"apiKey"`
	Type             string      `json:"type"`
	Name             string      `json:"name"`
	ValidVersions    string      `json:"validVersions"`
	FlexibleVersions string      `json:"flexibleVersions"`
	Fields           []rawField  `json:"fields"`
	CommonStructs    []rawStruct `json:"commonStructs"`
}

type rawStruct struct {
	Name     string     `json:"name"`
	Versions string     `json:"versions"`
	Fields   []rawField `json:"fields"`
}

type rawField struct {
	Name             string          `json:"name"`
	Type             string          `json:"type"`
	Versions         string          `json:"versions"`
	NullableVersions string          `json:"nullableVersions"`
	TaggedVersions   string          `json:"taggedVersions"`
	Tag              json.RawMessage `json:"tag"`
	Default          json.RawMessage `json:"default"`
	Ignorable        bool            `json:"ignorable"`
	About            string          `json:"about"`
	Fields           []rawField      `json:"fields"`
	EntityType       string          `json:"entityType"`
	MapKey           bool            `json:"mapKey"`
}

// vrange is an inclusive version range; empty when lo > hi.
type vrange struct{ lo, hi int }

const maxVersion = 32767

func parseVersions(s string) (vrange, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "none":
		return vrange{1, 0}, nil
	case strings.HasSuffix(s, "+"):
		lo, err := strconv.Atoi(strings.TrimSuffix(s, "+"))
		return vrange{lo, maxVersion}, err
	case strings.Contains(s, "-"):
		p := strings.SplitN(s, "-", 2)
		lo, err1 := strconv.Atoi(p[0])
		hi, err2 := strconv.Atoi(p[1])
		if err1 != nil || err2 != nil {
			return vrange{}, fmt.Errorf("bad versions %q", s)
		}
		return vrange{lo, hi}, nil
	}
	v, err := strconv.Atoi(s)
	return vrange{v, v}, err
}

func (v vrange) empty() bool { return v.lo > v.hi }

func (v vrange) intersect(o vrange) vrange {
	r := vrange{max(v.lo, o.lo), min(v.hi, o.hi)}
	return r
}

func (v vrange) covers(o vrange) bool { return o.empty() || (v.lo <= o.lo && v.hi >= o.hi) }

// subtract returns v minus o; it must be a single range.
func (v vrange) subtract(o vrange) (vrange, error) {
	x := o.intersect(v)
	switch {
	case x.empty():
		return v, nil
	case x == v:
		return vrange{1, 0}, nil
	case x.lo == v.lo:
		return vrange{x.hi + 1, v.hi}, nil
	case x.hi == v.hi:
		return vrange{v.lo, x.lo - 1}, nil
	}
	return vrange{}, fmt.Errorf("versions %v minus %v is not one range", v, o)
}

// cond renders "version is in v" given that version is in valid: "true",
// "false" or a Go expression.
func cond(v, valid vrange) string {
	x := v.intersect(valid)
	if x.empty() {
		return "false"
	}
	var parts []string
	if x.lo > valid.lo {
		parts = append(parts, fmt.Sprintf("version >= %d", x.lo))
	}
	if x.hi < valid.hi {
		parts = append(parts, fmt.Sprintf("version <= %d", x.hi))
	}
	if len(parts) == 0 {
		return "true"
	}
	return strings.Join(parts, " && ")
}

// Model after resolution.

type record struct {
	Name        string
	File        string
	APIKey      int // -1 for control records
	ControlType int
	TypeName    string
	Valid       vrange
	Root        *structT
	Structs     []*structT // nested, in declaration order
}

type structT struct {
	GoName string
	Path   string // for errors: RecordName or RecordName.Field
	Fields []*field
}

type field struct {
	Name      string
	JSONName  string
	Kind      string // bool int8 int16 int32 int64 uint16 float64 string bytes uuid array struct
	Elem      string // for arrays: element kind
	Struct    *structT
	Versions  vrange
	Nullable  vrange
	Tagged    vrange
	Tag       int
	Default   string // raw default text
	Ignorable bool
	Secret    bool
	About     string
}

func (f *field) isNullableType() bool { return !f.Nullable.empty() }

func (f *field) goType() string {
	switch f.Kind {
	case "string":
		if f.isNullableType() {
			return "*string"
		}
		return "string"
	case "bytes":
		return "[]byte"
	case "uuid":
		return "kafka.UUID"
	case "struct":
		return f.Struct.GoName
	case "array":
		switch f.Elem {
		case "struct":
			return "[]" + f.Struct.GoName
		case "uuid":
			return "[]kafka.UUID"
		default:
			return "[]" + f.Elem
		}
	}
	return f.Kind
}

var baseTypes = map[string]bool{"bool": true, "int8": true, "int16": true, "int32": true, "int64": true, "uint16": true, "float64": true, "string": true, "bytes": true, "uuid": true}

// stripComments removes // comments that are outside JSON strings.
func stripComments(b []byte) []byte {
	var out bytes.Buffer
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			out.WriteByte(c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		if c == '"' {
			inStr = true
		}
		if c == '/' && i+1 < len(b) && b[i+1] == '/' {
			for i < len(b) && b[i] != '\n' {
				i++
			}
			out.WriteByte('\n')
			continue
		}
		out.WriteByte(c)
	}
	return out.Bytes()
}

func loadRecord(path string, control bool) (*record, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s rawSchema
	dec := json.NewDecoder(bytes.NewReader(stripComments(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	valid, err := parseVersions(s.ValidVersions)
	if err != nil || valid.empty() {
		return nil, fmt.Errorf("%s: validVersions %q", path, s.ValidVersions)
	}
	flex, err := parseVersions(s.FlexibleVersions)
	if err != nil || !flex.covers(valid) {
		return nil, fmt.Errorf("%s: flexibleVersions %q must cover validVersions %q (non-flexible encodings are not supported by this generator)", path, s.FlexibleVersions, s.ValidVersions)
	}
	r := &record{Name: s.Name, File: filepath.Base(path), Valid: valid, APIKey: -1}
	if control {
		ct, ok := controlTypes[s.Name]
		if !ok {
			return nil, fmt.Errorf("%s: unknown control record %s", path, s.Name)
		}
		r.ControlType = ct
		r.TypeName = controlTypeNames[s.Name]
	} else {
		if s.APIKey == nil || s.Type != "metadata" {
			return nil, fmt.Errorf("%s: want type metadata with an apiKey", path)
		}
		r.APIKey = *s.APIKey
		r.TypeName = strings.ToUpper(toSnakeCase(s.Name))
	}
	common := map[string]rawStruct{}
	for _, c := range s.CommonStructs {
		common[c.Name] = c
	}
	root, err := r.buildStruct(s.Name, s.Name, s.Fields, common)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.Root = root
	return r, nil
}

// toSnakeCase is Kafka's MessageGenerator.toSnakeCase.
func toSnakeCase(s string) string {
	var b strings.Builder
	prevCapital := true
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			if !prevCapital {
				b.WriteByte('_')
			}
			b.WriteRune(c + ('a' - 'A'))
			prevCapital = true
		} else {
			b.WriteRune(c)
			prevCapital = false
		}
	}
	return b.String()
}

func (r *record) buildStruct(goName, path string, raws []rawField, common map[string]rawStruct) (*structT, error) {
	st := &structT{GoName: goName, Path: path}
	tags := map[int]string{}
	for _, rf := range raws {
		f := &field{Name: rf.Name, JSONName: strings.ToLower(rf.Name[:1]) + rf.Name[1:], Ignorable: rf.Ignorable, About: rf.About}
		var err error
		if f.Versions, err = parseVersions(rf.Versions); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", path, rf.Name, err)
		}
		if f.Nullable, err = parseVersions(rf.NullableVersions); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", path, rf.Name, err)
		}
		if f.Tagged, err = parseVersions(rf.TaggedVersions); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", path, rf.Name, err)
		}
		if !f.Tagged.empty() {
			t := strings.Trim(string(rf.Tag), `" `)
			if f.Tag, err = strconv.Atoi(t); err != nil {
				return nil, fmt.Errorf("%s.%s: tag %q", path, rf.Name, rf.Tag)
			}
			if other, dup := tags[f.Tag]; dup {
				return nil, fmt.Errorf("%s.%s: tag %d already used by %s", path, rf.Name, f.Tag, other)
			}
			tags[f.Tag] = rf.Name
			if _, err := f.Versions.subtract(f.Tagged); err != nil {
				return nil, fmt.Errorf("%s.%s: %w", path, rf.Name, err)
			}
		}
		if len(rf.Default) > 0 {
			var s string
			if json.Unmarshal(rf.Default, &s) != nil {
				s = string(rf.Default)
			}
			f.Default = s
		}
		f.Secret = secretFields[path+"."+rf.Name]
		typ := rf.Type
		isArray := strings.HasPrefix(typ, "[]")
		elem := strings.TrimPrefix(typ, "[]")
		switch {
		case baseTypes[elem] && isArray:
			f.Kind, f.Elem = "array", elem
			if elem == "bytes" {
				return nil, fmt.Errorf("%s.%s: arrays of bytes are not supported", path, rf.Name)
			}
		case baseTypes[elem]:
			f.Kind = elem
		default:
			fields := rf.Fields
			if len(fields) == 0 {
				c, ok := common[elem]
				if !ok {
					return nil, fmt.Errorf("%s.%s: unknown struct type %s", path, rf.Name, elem)
				}
				fields = c.Fields
			}
			var sub *structT
			for _, s := range r.Structs {
				if s.GoName == r.Name+elem {
					sub = s
				}
			}
			if sub == nil {
				sub, err = r.buildStruct(r.Name+elem, path+"."+rf.Name, fields, common)
				if err != nil {
					return nil, err
				}
				r.Structs = append(r.Structs, sub)
			}
			f.Struct = sub
			if isArray {
				f.Kind, f.Elem = "array", "struct"
			} else {
				f.Kind = "struct"
				if !f.Tagged.empty() || !f.Nullable.empty() {
					return nil, fmt.Errorf("%s.%s: tagged or nullable struct fields are not supported", path, rf.Name)
				}
			}
		}
		if !f.Nullable.empty() && !(f.Kind == "string" || f.Kind == "bytes" || f.Kind == "array") {
			return nil, fmt.Errorf("%s.%s: nullable %s is not supported", path, rf.Name, f.Kind)
		}
		if f.Default == "null" && f.Nullable.empty() {
			return nil, fmt.Errorf("%s.%s: default null but not nullable", path, rf.Name)
		}
		st.Fields = append(st.Fields, f)
	}
	return st, nil
}

func run(schemaDir, outDir string) error {
	var recs []*record
	for _, sub := range []struct {
		dir     string
		control bool
	}{{schemaDir, false}, {filepath.Join(schemaDir, "control"), true}} {
		files, err := filepath.Glob(filepath.Join(sub.dir, "*.json"))
		if err != nil {
			return err
		}
		sort.Strings(files)
		for _, f := range files {
			r, err := loadRecord(f, sub.control)
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
	}
	if len(recs) == 0 {
		return fmt.Errorf("no schemas in %s", schemaDir)
	}
	old, _ := filepath.Glob(filepath.Join(outDir, "*_gen.go"))
	for _, o := range old {
		os.Remove(o)
	}
	for _, r := range recs {
		g := &gen{r: r}
		src, err := g.file()
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		name := filepath.Join(outDir, toSnakeCase(r.Name)+"_gen.go")
		if err := os.WriteFile(name, src, 0o644); err != nil {
			return err
		}
	}
	src, err := registry(recs)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(outDir, "registry_gen.go"), src, 0o644)
}

const header = "// Code generated by translate/internal/recordgen from %s; DO NOT EDIT.\n\npackage records\n\n"

type gen struct {
	r *record
	b bytes.Buffer
}

func (g *gen) p(format string, args ...any) { fmt.Fprintf(&g.b, format+"\n", args...) }

// open starts a block guarded by condition c ("true" needs no guard).
func (g *gen) open(c string) {
	if c == "true" {
		g.p("{")
	} else {
		g.p("if %s {", c)
	}
}

func (g *gen) file() ([]byte, error) {
	r := g.r
	fmt.Fprintf(&g.b, header, "schemas/"+map[bool]string{true: "control/", false: ""}[r.APIKey < 0]+r.File)
	g.p("import (")
	g.p(`"encoding/json"`)
	g.p(`"fmt"`)
	g.p(`"math"`)
	g.p("")
	g.p(`"github.com/zk2kraft/zk2kraft/kafka"`)
	g.p(")")
	g.p("var _ = math.Float64bits")
	g.p("var _ = fmt.Sprintf")
	g.p("var _ json.RawMessage")
	g.p("var _ kafka.UUID")
	g.p("")
	all := append([]*structT{r.Root}, r.Structs...)
	for _, st := range all {
		g.structDecl(st, st == r.Root)
	}
	g.recordMethods()
	for _, st := range all {
		if err := g.encode(st); err != nil {
			return nil, err
		}
		g.decode(st)
		g.jsonWrite(st)
		g.jsonRead(st)
		g.defaults(st)
	}
	src, err := format.Source(g.b.Bytes())
	if err != nil {
		return g.b.Bytes(), fmt.Errorf("gofmt generated code: %w", err)
	}
	return src, nil
}

func versionsText(v vrange) string {
	switch {
	case v.empty():
		return "none"
	case v.hi == maxVersion:
		return fmt.Sprintf("%d+", v.lo)
	case v.lo == v.hi:
		return fmt.Sprintf("%d", v.lo)
	}
	return fmt.Sprintf("%d-%d", v.lo, v.hi)
}

func (g *gen) structDecl(st *structT, root bool) {
	r := g.r
	if root {
		if r.APIKey >= 0 {
			g.p("// %s is metadata record type %d (%s), versions %s.", st.GoName, r.APIKey, r.TypeName, versionsText(r.Valid))
		} else {
			g.p("// %s is the control record %s (control type %d), versions %s.", st.GoName, r.TypeName, r.ControlType, versionsText(r.Valid))
		}
	} else {
		g.p("// %s is an element of %s.", st.GoName, st.Path)
	}
	g.p("type %s struct {", st.GoName)
	for _, f := range st.Fields {
		var notes []string
		notes = append(notes, "versions "+versionsText(f.Versions))
		if !f.Nullable.empty() {
			notes = append(notes, "nullable "+versionsText(f.Nullable))
		}
		if !f.Tagged.empty() {
			notes = append(notes, fmt.Sprintf("tagged %s tag %d", versionsText(f.Tagged), f.Tag))
		}
		if f.Default != "" {
			notes = append(notes, "default "+f.Default)
		}
		about := strings.TrimSpace(f.About)
		if about != "" {
			about += " "
		}
		g.p("// %s(%s)", about, strings.Join(notes, "; "))
		g.p("%s %s", f.Name, f.goType())
	}
	g.p("}")
	g.p("")
}

func (g *gen) recordMethods() {
	r := g.r
	n := r.Root.GoName
	g.p("// New%s returns a %s with the schema's defaults.", n, n)
	g.p("func New%s() *%s { m := &%s{}; m.setDefaults(); return m }", n, n, n)
	g.p("")
	g.p("// APIKey returns the record's metadata api key (-1 for control records).")
	g.p("func (*%s) APIKey() int16 { return %d }", n, r.APIKey)
	g.p("// TypeName returns Kafka's name for the record type.")
	g.p("func (*%s) TypeName() string { return %q }", n, r.TypeName)
	g.p("// LowestVersion returns the lowest valid version.")
	g.p("func (*%s) LowestVersion() int16 { return %d }", n, r.Valid.lo)
	g.p("// HighestVersion returns the highest valid version.")
	g.p("func (*%s) HighestVersion() int16 { return %d }", n, r.Valid.hi)
	if r.APIKey < 0 {
		g.p("// ControlType returns Kafka's ControlRecordType code.")
		g.p("func (*%s) ControlType() int16 { return %d }", n, r.ControlType)
	}
	g.p("")
	g.p("// AppendTo appends the message body at the given version to dst.")
	g.p("func (m *%s) AppendTo(dst []byte, version int16) ([]byte, error) {", n)
	g.p("if version < %d || version > %d { return dst, versionError(%q, version, %d, %d) }", r.Valid.lo, r.Valid.hi, n, r.Valid.lo, r.Valid.hi)
	g.p("return m.appendTo(dst, version)")
	g.p("}")
	g.p("")
	g.p("// ReadFrom decodes a message body of the given version from the start of b")
	g.p("// and returns the number of bytes it used. Unknown tagged fields are skipped.")
	g.p("func (m *%s) ReadFrom(b []byte, version int16) (int, error) {", n)
	g.p("if version < %d || version > %d { return 0, versionError(%q, version, %d, %d) }", r.Valid.lo, r.Valid.hi, n, r.Valid.lo, r.Valid.hi)
	g.p("r := reader{b: b}")
	g.p("m.readFrom(&r, version)")
	g.p("if r.err != nil { return r.off, fmt.Errorf(\"decode %s v%%d: %%w\", version, r.err) }", n)
	g.p("return r.off, nil")
	g.p("}")
	g.p("")
}

// nonDefault returns a Go expression that is true when the field differs
// from its default, or an error if the default is not representable.
func (g *gen) nonDefault(f *field, recv string) (string, error) {
	x := recv + "." + f.Name
	d := f.Default
	switch f.Kind {
	case "bool":
		if d == "true" {
			return "!" + x, nil
		}
		return x, nil
	case "int8", "int16", "int32", "int64", "uint16", "float64":
		if d == "" {
			d = "0"
		}
		return fmt.Sprintf("%s != %s", x, d), nil
	case "string":
		if f.isNullableType() {
			if d == "null" {
				return x + " != nil", nil
			}
			return fmt.Sprintf("(%s == nil || *%s != %q)", x, x, d), nil
		}
		return fmt.Sprintf("%s != %q", x, d), nil
	case "bytes":
		if d == "null" {
			return x + " != nil", nil
		}
		return fmt.Sprintf("len(%s) != 0", x), nil
	case "uuid":
		return fmt.Sprintf("%s != (kafka.UUID{})", x), nil
	case "array":
		if d == "null" {
			return x + " != nil", nil
		}
		return fmt.Sprintf("len(%s) != 0", x), nil
	case "struct":
		return fmt.Sprintf("%s != (%s{})", x, f.Struct.GoName), nil
	}
	return "", fmt.Errorf("no default check for %s", f.Kind)
}

// appendValue emits statements appending field value expression x.
func (g *gen) appendValue(st *structT, f *field, x string) {
	valid := g.r.Valid
	nullable := cond(f.Nullable, valid)
	switch f.Kind {
	case "bool":
		g.p("dst = appendBool(dst, %s)", x)
	case "int8":
		g.p("dst = append(dst, byte(%s))", x)
	case "int16", "uint16":
		g.p("dst = appendUint16(dst, uint16(%s))", x)
	case "int32":
		g.p("dst = appendUint32(dst, uint32(%s))", x)
	case "int64":
		g.p("dst = appendUint64(dst, uint64(%s))", x)
	case "float64":
		g.p("dst = appendUint64(dst, math.Float64bits(%s))", x)
	case "uuid":
		g.p("dst = appendUUID(dst, %s)", x)
	case "string":
		if f.isNullableType() {
			if nullable != "true" {
				g.p("if %s == nil && !(%s) { return dst, nullFieldError(%q, version) }", x, nullable, st.Path+"."+f.Name)
			}
			g.p("dst = appendCompactNullableString(dst, %s)", x)
		} else {
			g.p("dst = appendCompactString(dst, %s)", x)
		}
	case "bytes":
		g.p("dst = appendCompactBytes(dst, %s, %s)", x, nullable)
	case "struct":
		g.p("if dst, err = %s.appendTo(dst, version); err != nil { return dst, err }", x)
	case "array":
		switch f.Elem {
		case "int32":
			g.p("dst = appendInt32Array(dst, %s, %s)", x, nullable)
		case "string":
			g.p("dst = appendStringArray(dst, %s, %s)", x, nullable)
		case "uuid":
			g.p("dst = appendUUIDArray(dst, %s, %s)", x, nullable)
		case "struct":
			g.p("dst = appendArrayLen(dst, len(%s), %s == nil, %s)", x, x, nullable)
			g.p("for i := range %s {", x)
			g.p("if dst, err = %s[i].appendTo(dst, version); err != nil { return dst, err }", x)
			g.p("}")
		default:
			g.p("for _, e := range %s {", x)
			g.p("_ = e // unsupported element %s", f.Elem)
			g.p("}")
		}
	}
}

func (g *gen) needsErr(st *structT) bool {
	for _, f := range st.Fields {
		if f.Kind == "struct" || (f.Kind == "array" && f.Elem == "struct") {
			return true
		}
	}
	return false
}

func (g *gen) encode(st *structT) error {
	valid := g.r.Valid
	g.p("func (m *%s) appendTo(dst []byte, version int16) ([]byte, error) {", st.GoName)
	if g.needsErr(st) {
		g.p("var err error")
	}
	g.p("_ = version")
	var tagged []*field
	for _, f := range st.Fields {
		untagged, _ := f.Versions.subtract(f.Tagged)
		nd, err := g.nonDefault(f, "m")
		if err != nil {
			return err
		}
		if !f.Tagged.empty() {
			tagged = append(tagged, f)
		}
		c := cond(untagged, valid)
		if c != "false" {
			g.open(c)
			g.appendValue(st, f, "m."+f.Name)
			g.p("}")
		}
		absent := g.absentCond(f)
		if absent != "false" && !f.Ignorable {
			g.p("if (%s) && %s { return dst, fieldVersionError(%q, version) }", absent, nd, st.Path+"."+f.Name)
		}
	}
	sort.Slice(tagged, func(i, j int) bool { return tagged[i].Tag < tagged[j].Tag })
	if len(tagged) == 0 {
		g.p("dst = append(dst, 0) // no tagged fields")
	} else {
		g.p("numTagged := 0")
		for _, f := range tagged {
			nd, _ := g.nonDefault(f, "m")
			g.p("if %s { numTagged++ }", andCond(cond(f.Tagged.intersect(f.Versions), valid), nd))
		}
		g.p("dst = appendUvarint(dst, uint64(numTagged))")
		for _, f := range tagged {
			nd, _ := g.nonDefault(f, "m")
			g.p("if %s {", andCond(cond(f.Tagged.intersect(f.Versions), valid), nd))
			g.p("dst = appendUvarint(dst, %d)", f.Tag)
			g.p("start := len(dst)")
			g.appendValue(st, f, "m."+f.Name)
			g.p("dst = insertSize(dst, start)")
			g.p("}")
		}
	}
	g.p("return dst, nil")
	g.p("}")
	g.p("")
	return nil
}

// andCond joins two conditions, dropping "true".
func andCond(a, b string) string {
	switch {
	case a == "true":
		return b
	case b == "true":
		return a
	}
	return "(" + a + ") && (" + b + ")"
}

// absentCond is the condition under which the field does not exist.
func (g *gen) absentCond(f *field) string {
	valid := g.r.Valid
	present := f.Versions.intersect(valid)
	if present.empty() {
		return "true"
	}
	var parts []string
	if present.lo > valid.lo {
		parts = append(parts, fmt.Sprintf("version < %d", present.lo))
	}
	if present.hi < valid.hi {
		parts = append(parts, fmt.Sprintf("version > %d", present.hi))
	}
	if len(parts) == 0 {
		return "false"
	}
	return strings.Join(parts, " || ")
}

// readValue emits statements reading into x using reader rv.
func (g *gen) readValue(st *structT, f *field, x, rv string) {
	valid := g.r.Valid
	nullable := cond(f.Nullable, valid)
	switch f.Kind {
	case "bool":
		g.p("%s = %s.bool()", x, rv)
	case "int8":
		g.p("%s = %s.int8()", x, rv)
	case "int16":
		g.p("%s = %s.int16()", x, rv)
	case "uint16":
		g.p("%s = %s.uint16()", x, rv)
	case "int32":
		g.p("%s = %s.int32()", x, rv)
	case "int64":
		g.p("%s = %s.int64()", x, rv)
	case "float64":
		g.p("%s = %s.float64()", x, rv)
	case "uuid":
		g.p("%s = %s.uuid()", x, rv)
	case "string":
		if f.isNullableType() {
			g.p("%s = %s.nullableString(%s)", x, rv, nullable)
		} else {
			g.p("%s = %s.string()", x, rv)
		}
	case "bytes":
		g.p("%s = %s.bytes(%s)", x, rv, nullable)
	case "struct":
		g.p("%s.readFrom(%s, version)", x, rv)
	case "array":
		switch f.Elem {
		case "int32":
			g.p("%s = %s.int32Array(%s)", x, rv, nullable)
		case "string":
			g.p("%s = %s.stringArray(%s)", x, rv, nullable)
		case "uuid":
			g.p("%s = %s.uuidArray(%s)", x, rv, nullable)
		case "struct":
			g.p("if n := %s.arrayLen(%s, 1); %s.err == nil && n >= 0 {", rv, nullable, rv)
			g.p("%s = make([]%s, n)", x, f.Struct.GoName)
			g.p("for i := range %s {", x)
			g.p("%s[i].readFrom(%s, version)", x, rv)
			g.p("if %s.err != nil { %s.annotate(fmt.Sprintf(\"[%%d]\", i)); break }", rv, rv)
			g.p("}")
			g.p("}")
		}
	}
}

func (g *gen) decode(st *structT) {
	valid := g.r.Valid
	g.p("func (m *%s) readFrom(r *reader, version int16) {", st.GoName)
	g.p("m.setDefaults()")
	var tagged []*field
	for _, f := range st.Fields {
		if !f.Tagged.empty() {
			tagged = append(tagged, f)
		}
		untagged, _ := f.Versions.subtract(f.Tagged)
		c := cond(untagged, valid)
		if c == "false" {
			continue
		}
		g.open(c)
		g.readValue(st, f, "m."+f.Name, "r")
		g.p("if r.err != nil { r.annotate(%q); return }", f.Name)
		g.p("}")
	}
	g.p("numTagged := r.uvarint32()")
	g.p("if r.err != nil { r.annotate(\"(tagged fields)\"); return }")
	g.p("for i := 0; i < numTagged; i++ {")
	if len(tagged) == 0 {
		g.p("r.taggedField() // unknown tagged field: skipped")
		g.p("if r.err != nil { r.annotate(\"(tagged fields)\"); return }")
		g.p("}")
		g.p("}")
		g.p("")
		return
	}
	g.p("tag, sub := r.taggedField()")
	g.p("if r.err != nil { r.annotate(\"(tagged fields)\"); return }")
	sort.Slice(tagged, func(i, j int) bool { return tagged[i].Tag < tagged[j].Tag })
	g.p("switch {")
	for _, f := range tagged {
		g.p("case %s:", andCond(fmt.Sprintf("tag == %d", f.Tag), cond(f.Tagged.intersect(f.Versions), valid)))
		g.readValue(st, f, "m."+f.Name, "(&sub)")
		g.p("r.endTagged(&sub, %q)", f.Name)
		g.p("if r.err != nil { return }")
	}
	g.p("default:")
	g.p("_ = tag // unknown tagged field: skipped")
	g.p("}")
	g.p("}")
	g.p("}")
	g.p("")
}

func (g *gen) defaults(st *structT) {
	g.p("func (m *%s) setDefaults() {", st.GoName)
	g.p("*m = %s{}", st.GoName)
	for _, f := range st.Fields {
		d := f.Default
		switch f.Kind {
		case "bool":
			if d == "true" {
				g.p("m.%s = true", f.Name)
			}
		case "int8", "int16", "int32", "int64", "uint16", "float64":
			if d != "" && d != "0" {
				g.p("m.%s = %s", f.Name, d)
			}
		case "string":
			if f.isNullableType() {
				if d != "null" {
					g.p("m.%s = new(string)", f.Name)
					if d != "" {
						g.p("*m.%s = %q", f.Name, d)
					}
				}
			} else if d != "" {
				g.p("m.%s = %q", f.Name, d)
			}
		case "struct":
			g.p("m.%s.setDefaults()", f.Name)
		}
	}
	g.p("}")
	g.p("")
	if st != g.r.Root {
		g.p("// New%s returns a %s with the schema's defaults.", st.GoName, st.GoName)
		g.p("func New%s() *%s { m := &%s{}; m.setDefaults(); return m }", st.GoName, st.GoName, st.GoName)
		g.p("")
	}
}

func (g *gen) jsonValue(f *field, x string, elem bool) {
	kind := f.Kind
	if elem {
		kind = f.Elem
	}
	switch kind {
	case "bool":
		g.p("dst = appendJSONBool(dst, %s)", x)
	case "int8", "int16", "int32", "int64", "uint16":
		g.p("dst = appendJSONInt(dst, int64(%s))", x)
	case "float64":
		g.p("dst = appendJSONFloat(dst, %s)", x)
	case "uuid":
		g.p("dst = appendJSONUUID(dst, %s)", x)
	case "string":
		if f.isNullableType() && !elem {
			g.p("dst = appendJSONNullableString(dst, %s)", x)
		} else {
			g.p("dst = appendJSONString(dst, %s)", x)
		}
	case "bytes":
		g.p("dst = appendJSONBytes(dst, %s, %v, o)", x, f.Secret)
	case "struct":
		g.p("dst = %s.appendJSON(dst, version, o)", x)
	case "array":
		if f.isNullableType() {
			g.p("if %s == nil { dst = append(dst, \"null\"...) } else {", x)
		} else {
			g.p("{")
		}
		g.p("dst = append(dst, '[')")
		g.p("for i := range %s {", x)
		g.p("if i > 0 { dst = append(dst, ',') }")
		g.jsonValue(f, x+"[i]", true)
		g.p("}")
		g.p("dst = append(dst, ']')")
		g.p("}")
	}
}

func (g *gen) jsonWrite(st *structT) {
	valid := g.r.Valid
	g.p("func (m *%s) appendJSON(dst []byte, version int16, o *JSONOptions) []byte {", st.GoName)
	g.p("_ = o")
	g.p("obj := len(dst)")
	g.p("_ = obj")
	g.p("dst = append(dst, '{')")
	for _, f := range st.Fields {
		untagged, _ := f.Versions.subtract(f.Tagged)
		if c := cond(untagged, valid); c != "false" {
			g.open(c)
			g.p("dst = jsonKey(dst, obj, %q)", f.JSONName)
			g.jsonValue(f, "m."+f.Name, false)
			g.p("}")
		}
		if !f.Tagged.empty() {
			nd, _ := g.nonDefault(f, "m")
			g.p("if %s {", andCond(cond(f.Tagged.intersect(f.Versions), valid), nd))
			g.p("dst = jsonKey(dst, obj, %q)", f.JSONName)
			g.jsonValue(f, "m."+f.Name, false)
			g.p("}")
		}
	}
	g.p("return append(dst, '}')")
	g.p("}")
	g.p("")
}

func intRange(kind string) (string, string) {
	switch kind {
	case "int8":
		return "math.MinInt8", "math.MaxInt8"
	case "int16":
		return "math.MinInt16", "math.MaxInt16"
	case "uint16":
		return "0", "math.MaxUint16"
	case "int32":
		return "math.MinInt32", "math.MaxInt32"
	}
	return "math.MinInt64", "math.MaxInt64"
}

// jsonReadValue emits statements reading raw (a json.RawMessage variable)
// into x, returning an error naming name on failure.
func (g *gen) jsonReadValue(f *field, x, raw, name string, elem bool) {
	kind := f.Kind
	if elem {
		kind = f.Elem
	}
	fail := fmt.Sprintf("return badField(%s, err)", name)
	switch kind {
	case "bool":
		g.p("v, err := jsonBool(%s); if err != nil { %s }; %s = v", raw, fail, x)
	case "int8", "int16", "int32", "int64", "uint16":
		lo, hi := intRange(kind)
		g.p("v, err := jsonInt(%s, %s, %s); if err != nil { %s }; %s = %s(v)", raw, lo, hi, fail, x, kind)
	case "float64":
		g.p("v, err := jsonFloat(%s); if err != nil { %s }; %s = v", raw, fail, x)
	case "uuid":
		g.p("v, err := jsonUUID(%s); if err != nil { %s }; %s = v", raw, fail, x)
	case "string":
		if f.isNullableType() && !elem {
			g.p("v, err := jsonNullableString(%s); if err != nil { %s }; %s = v", raw, fail, x)
		} else {
			g.p("v, err := jsonString(%s); if err != nil { %s }; %s = v", raw, fail, x)
		}
	case "bytes":
		g.p("v, err := jsonBytes(%s); if err != nil { %s }; %s = v", raw, fail, x)
	case "struct":
		g.p("sub, err := jsonObjectOf(%s); if err != nil { %s }", raw, fail)
		g.p("if err := %s.readJSON(sub, version); err != nil { %s }", x, fail)
	case "array":
		g.p("elems, isNull, err := jsonArray(%s); if err != nil { %s }", raw, fail)
		g.p("if isNull { %s = nil } else {", x)
		g.p("%s = make(%s, len(elems))", x, f.goType())
		g.p("for i, e := range elems {")
		g.p("if err := func() error {")
		g.jsonReadValue(f, x+"[i]", "e", fmt.Sprintf("fmt.Sprintf(\"%%s[%%d]\", %s, i)", name), true)
		g.p("return nil")
		g.p("}(); err != nil { return err }")
		g.p("}")
		g.p("}")
	}
}

func (g *gen) jsonRead(st *structT) {
	valid := g.r.Valid
	g.p("func (m *%s) readJSON(obj jsonObject, version int16) error {", st.GoName)
	g.p("m.setDefaults()")
	for _, f := range st.Fields {
		mandatory, _ := f.Versions.subtract(f.Tagged)
		g.p("if raw, ok := obj[%q]; !ok {", f.JSONName)
		if c := cond(mandatory, valid); c != "false" {
			if c == "true" {
				g.p("return missingField(%q, version)", f.JSONName)
			} else {
				g.p("if %s { return missingField(%q, version) }", c, f.JSONName)
			}
		}
		g.p("} else {")
		g.p("if err := func() error {")
		g.jsonReadValue(f, "m."+f.Name, "raw", strconv.Quote(f.JSONName), false)
		g.p("return nil")
		g.p("}(); err != nil { return err }")
		g.p("}")
	}
	g.p("return nil")
	g.p("}")
	g.p("")
}

func registry(recs []*record) ([]byte, error) {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	fmt.Fprintf(&b, header, "schemas/")
	p(`import "fmt"`)
	p("")
	p("// NewRecord returns an empty metadata record (with its defaults) for apiKey.")
	p("func NewRecord(apiKey int16) (Record, error) {")
	p("switch apiKey {")
	for _, r := range recs {
		if r.APIKey >= 0 {
			p("case %d: return New%s(), nil", r.APIKey, r.Name)
		}
	}
	p("}")
	p("return nil, fmt.Errorf(\"unknown metadata record api key %%d\", apiKey)")
	p("}")
	p("")
	p("// NewControlRecord returns an empty control record (with its defaults) for a")
	p("// ControlRecordType code (2 leader change, 3 snapshot header, 4 snapshot")
	p("// footer, 5 kraft version, 6 voters).")
	p("func NewControlRecord(controlType int16) (Record, error) {")
	p("switch controlType {")
	for _, r := range recs {
		if r.APIKey < 0 {
			p("case %d: return New%s(), nil", r.ControlType, r.Name)
		}
	}
	p("}")
	p("return nil, fmt.Errorf(\"unknown or unsupported control record type %%d\", controlType)")
	p("}")
	p("")
	p("func recordByTypeName(name string) Record {")
	p("switch name {")
	for _, r := range recs {
		p("case %q: return New%s()", r.TypeName, r.Name)
	}
	p("}")
	p("return nil")
	p("}")
	p("")
	p("// MetadataAPIKeys lists every metadata record api key, ascending.")
	p("var MetadataAPIKeys = []int16{")
	var keys []int
	for _, r := range recs {
		if r.APIKey >= 0 {
			keys = append(keys, r.APIKey)
		}
	}
	sort.Ints(keys)
	for _, k := range keys {
		p("%d,", k)
	}
	p("}")
	p("")
	p("// ControlTypes lists every control record type this package decodes.")
	p("var ControlTypes = []int16{")
	var cts []int
	for _, r := range recs {
		if r.APIKey < 0 {
			cts = append(cts, r.ControlType)
		}
	}
	sort.Ints(cts)
	for _, k := range cts {
		p("%d,", k)
	}
	p("}")
	p("")
	p("// Record type constants (Kafka's MetadataRecordType ids).")
	p("const (")
	for _, r := range recs {
		if r.APIKey >= 0 {
			p("%sType int16 = %d", r.Name, r.APIKey)
		}
	}
	p(")")
	p("")
	p("// Control record type constants (Kafka's ControlRecordType ids).")
	p("const (")
	for _, r := range recs {
		if r.APIKey < 0 {
			p("%sControlType int16 = %d", r.Name, r.ControlType)
		}
	}
	p(")")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return b.Bytes(), err
	}
	return src, nil
}
