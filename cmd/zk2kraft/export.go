package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
)

func init() { register(newExportCmd) }

func newExportCmd() *cobra.Command {
	var (
		qf      quorumFlags
		out     string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "export --quorum h1:a1,... --out DIR",
		Short: "Write the quorum's current metadata image as a Kafka .checkpoint file",
		Long: `Reads the image from the quorum leader (after every committed entry is applied) and writes it to
DIR/<end offset>-<epoch>.checkpoint in Kafka's snapshot layout (header batch, data batches in
MetadataImage order, footer batch), readable by Kafka's own snapshot tools.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := qf.client()
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var buf bytes.Buffer
			name, pos, err := c.Checkpoint(ctx, &buf)
			if err != nil {
				return withExitCode(2, err)
			}
			if name == "" {
				return withExitCode(2, fmt.Errorf("export: the quorum did not name the checkpoint"))
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return withExitCode(2, fmt.Errorf("export: create %s: %w", out, err))
			}
			path := filepath.Join(out, name)
			if err := exportWriteAtomic(path, buf.Bytes()); err != nil {
				return withExitCode(2, fmt.Errorf("export: %w", err))
			}
			res := map[string]any{"path": path, "bytes": buf.Len(), "last_offset": pos.LastOffset, "epoch": pos.LastEpoch}
			if globals.Output == "json" {
				return writeJSON(os.Stdout, res)
			}
			fmt.Printf("wrote %s (%d bytes, last offset %d, epoch %d)\n", path, buf.Len(), pos.LastOffset, pos.LastEpoch)
			return nil
		},
	}
	qf.add(cmd, true)
	cmd.Flags().StringVar(&out, "out", "", "directory to write the .checkpoint file into")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the quorum")
	cmd.MarkFlagRequired("out")
	return cmd
}

// exportWriteAtomic writes data to path via a synced temporary file and a rename.
func exportWriteAtomic(path string, data []byte) error {
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}
