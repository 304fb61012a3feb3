package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// globalOptions are the flags every command takes.
type globalOptions struct {
	Output    string // text or json
	LogLevel  string
	LogFormat string
}

var globals globalOptions

// commandFactories is filled by each command file's init, so command files
// can be added without touching this one.
var commandFactories []func() *cobra.Command

func register(f func() *cobra.Command) { commandFactories = append(commandFactories, f) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "zk2kraft",
		Short:         "Move a Kafka cluster's metadata from ZooKeeper to a KRaft quorum",
		Long:          "zk2kraft reads a ZooKeeper-mode Kafka cluster's metadata, translates it into KRaft metadata records,\ncopies it into a Raft controller quorum, mirrors later changes and proves parity before cutover.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch globals.Output {
			case "text", "json":
			default:
				return withExitCode(2, fmt.Errorf("--output %q: want text or json", globals.Output))
			}
			logger, err := newLogger(os.Stderr, globals.LogLevel, globals.LogFormat)
			if err != nil {
				return withExitCode(2, err)
			}
			slog.SetDefault(logger)
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&globals.Output, "output", "o", "text", "output format: text or json (JSON goes to stdout, progress and logs to stderr)")
	pf.StringVar(&globals.LogLevel, "log-level", "warn", "log level: debug, info, warn, error")
	pf.StringVar(&globals.LogFormat, "log-format", "text", "log format: text or json")
	for _, f := range commandFactories {
		root.AddCommand(f())
	}
	return root
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// writeJSON writes v as indented JSON to w.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether f is a terminal (progress is shown only then).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
