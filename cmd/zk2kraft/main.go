// Command zk2kraft moves a Kafka cluster's metadata from ZooKeeper to a KRaft
// quorum. Every subcommand is a thin shell over a library package.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	stopProfile := startCPUProfile(os.Getenv("ZK2KRAFT_CPUPROFILE"))
	err := root.ExecuteContext(ctx)
	stopProfile()
	if err != nil && ctx.Err() != nil {
		// Interrupted (Ctrl-C, SIGTERM): say so, with the conventional code.
		var ee *exitError
		if !errors.As(err, &ee) || ee.code == 2 {
			fmt.Fprintln(os.Stderr, "zk2kraft: interrupted:", err)
			os.Exit(exitInterrupted)
		}
	}
	os.Exit(exitCode(err))
}

// exitInterrupted is the exit code after Ctrl-C or SIGTERM (128+SIGINT).
const exitInterrupted = 130

// exitCode maps an error to the documented exit codes: 0 ok, 1 findings or
// differences, 2 usage or runtime error (130 interrupted, see main).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "zk2kraft:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "zk2kraft:", err)
	return 2
}

// exitError carries an exit code; err (optional) is printed on stderr.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit %d", e.code)
}

func (e *exitError) Unwrap() error { return e.err }

// withExitCode returns an error that makes zk2kraft exit with code.
func withExitCode(code int, err error) error { return &exitError{code: code, err: err} }

// startCPUProfile writes a CPU profile of the whole run to path (for the
// developers' benchmarks: ZK2KRAFT_CPUPROFILE=FILE); "" does nothing.
func startCPUProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zk2kraft: ZK2KRAFT_CPUPROFILE:", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
