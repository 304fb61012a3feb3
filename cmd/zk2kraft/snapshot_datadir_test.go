package main

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestDataDirFlags(t *testing.T) {
	for _, c := range []struct {
		name            string
		args            []string
		connect, chroot string
		wantChroot      string
		wantZxid        int64
		wantErr         string
	}{
		{"dir only", []string{"--zk-data-dir", "/d"}, "", "/kafka", "/kafka", 0, ""},
		{"hex zxid", []string{"--zk-data-dir", "/d", "--at-zxid", "0x1000004d2"}, "", "", "", 0x1000004d2, ""},
		{"decimal zxid", []string{"--zk-data-dir", "/d", "--at-zxid", "1234"}, "", "", "", 1234, ""},
		{"chroot from connect", []string{"--zk-data-dir", "/d"}, "zk1:2181/kafka", "", "/kafka", 0, ""},
		{"chroot conflict", []string{"--zk-data-dir", "/d"}, "zk1:2181/a", "/b", "", 0, "differs"},
		{"bad zxid", []string{"--zk-data-dir", "/d", "--at-zxid", "soon"}, "", "", "", 0, "--at-zxid"},
		{"zxid without dir", []string{"--at-zxid", "5"}, "", "", "", 0, "need --zk-data-dir"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var f dataDirFlags
			cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
			addDataDirFlags(cmd, &f)
			if err := cmd.ParseFlags(c.args); err != nil {
				t.Fatal(err)
			}
			if !f.set() {
				t.Fatal("flags not seen as set")
			}
			o, err := f.options(c.connect, c.chroot)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || o.Chroot != c.wantChroot || o.AtZxid != c.wantZxid || o.DataDir != "/d" {
				t.Fatalf("options %+v, err %v", o, err)
			}
		})
	}
}

func TestReadDataDirSnapshot(t *testing.T) {
	f := zkReadFlags{chroot: "/kafka", dataDir: dataDirFlags{dir: "../../zkreader/datadir/testdata/zk"}}
	s, err := readDataDirSnapshot(context.Background(), &f)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Topics) == 0 || s.MaxZxid == 0 || !strings.HasPrefix(s.Source, "datadir:") {
		t.Fatalf("topics %d, max zxid %#x, source %q", len(s.Topics), s.MaxZxid, s.Source)
	}
	f.dataDir.dir, f.chroot = t.TempDir(), ""
	if _, err := readDataDirSnapshot(context.Background(), &f); err == nil || exitCode(err) != 2 {
		t.Fatalf("empty dir: err %v", err)
	}
}
