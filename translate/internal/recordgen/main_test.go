package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestToSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"TopicRecord": "topic_record", "ZkMigrationStateRecord": "zk_migration_state_record",
		"KRaftVersionRecord": "kraft_version_record", "NoOpRecord": "no_op_record",
	} {
		if got := toSnakeCase(in); got != want {
			t.Errorf("%s: got %s want %s", in, got, want)
		}
	}
}

func TestVersions(t *testing.T) {
	valid := vrange{0, 2}
	for _, tc := range []struct {
		in, want string
	}{{"0+", "true"}, {"1+", "version >= 1"}, {"0-1", "version <= 1"}, {"1", "version >= 1 && version <= 1"}, {"3+", "false"}, {"", "false"}} {
		v, err := parseVersions(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := cond(v, valid); got != tc.want {
			t.Errorf("cond(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	a, _ := parseVersions("0+")
	b, _ := parseVersions("2+")
	if d, err := a.subtract(b); err != nil || d != (vrange{0, 1}) {
		t.Errorf("0+ minus 2+ = %v %v", d, err)
	}
	c, _ := parseVersions("1-2")
	if _, err := a.subtract(c); err == nil {
		t.Error("0+ minus 1-2 is two ranges: want error")
	}
}

func TestStripComments(t *testing.T) {
	in := "// header\n{ \"a\": \"x // not a comment\", // trailing\n \"b\": 1 }\n"
	got := string(stripComments([]byte(in)))
	if !strings.Contains(got, `"x // not a comment"`) || strings.Contains(got, "trailing") || strings.Contains(got, "header") {
		t.Fatalf("got %q", got)
	}
}

func TestRejectsUnsupportedSchemas(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"nonflexible": `{"apiKey": 1, "type": "metadata", "name": "X", "validVersions": "0-1", "flexibleVersions": "1+", "fields": []}`,
		"dup tag": `{"apiKey": 1, "type": "metadata", "name": "X", "validVersions": "0", "flexibleVersions": "0+", "fields": [
			{"name": "A", "type": "int8", "versions": "0+", "taggedVersions": "0+", "tag": 0},
			{"name": "B", "type": "int8", "versions": "0+", "taggedVersions": "0+", "tag": 0}]}`,
		"unknown key": `{"apiKey": 1, "type": "metadata", "name": "X", "validVersions": "0", "flexibleVersions": "0+", "fields": [], "surprise": 1}`,
		"null default": `{"apiKey": 1, "type": "metadata", "name": "X", "validVersions": "0", "flexibleVersions": "0+", "fields": [
			{"name": "A", "type": "string", "versions": "0+", "default": "null"}]}`,
		"unknown struct": `{"apiKey": 1, "type": "metadata", "name": "X", "validVersions": "0", "flexibleVersions": "0+", "fields": [
			{"name": "A", "type": "[]Nope", "versions": "0+"}]}`,
	} {
		p := filepath.Join(dir, "X.json")
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := loadRecord(p, false); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}
