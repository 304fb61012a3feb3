package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zk2kraft/zk2kraft/translate/batch"
	"github.com/zk2kraft/zk2kraft/translate/batch/checkpoint"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

func init() { register(newDecodeCmd) }

type decodeOptions struct {
	ShowSecrets bool
	Format      string // auto, checkpoint, log
	Batches     bool
	RecordsOnly bool
}

func newDecodeCmd() *cobra.Command {
	var o decodeOptions
	cmd := &cobra.Command{
		Use:   "decode FILE|-",
		Short: "Print a .checkpoint snapshot, a metadata log segment or a raw record batch file as JSON lines",
		Long: `decode prints every record of a KRaft snapshot (.checkpoint, bootstrap.checkpoint), a
__cluster_metadata log segment (.log) or a file of raw RecordBatches as one JSON line each,
like kafka-dump-log --cluster-metadata-decoder:

  {"offset":1,"epoch":0,"timestamp":1700000000000,"control":false,"type":"FEATURE_LEVEL_RECORD","version":0,"data":{"name":"metadata.version","featureLevel":21}}

Control records (SNAPSHOT_HEADER, SNAPSHOT_FOOTER, LEADER_CHANGE, KRAFT_VERSION, KRAFT_VOTERS)
are included. SCRAM salts and keys and sensitive config values print as "<redacted>" unless
--show-secrets. --records-only prints just the metadata records in the form
'zk2kraft translate --output json' writes. The output is JSON lines whatever --output says.

FILE "-" reads standard input. A checkpoint is recognised by its name or its leading snapshot header, and its structure
is checked (header first, footer last, one epoch, offsets from 0). A log segment that ends
inside a batch (a torn tail, as an interrupted append leaves) is printed up to it and
reported. Exit codes: 0 ok; 1 torn tail or undecodable records (reported as "error" lines);
2 corrupt or unreadable file (the error names the file and byte position).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch o.Format {
			case "auto", "checkpoint", "log":
			default:
				return withExitCode(2, fmt.Errorf("--format %q: want auto, checkpoint or log", o.Format))
			}
			sum, err := decodeFile(cmd.Context(), args[0], o, cmd.InOrStdin(), cmd.OutOrStdout())
			if err != nil {
				return withExitCode(2, err)
			}
			slog.Info("decoded", "file", args[0], "kind", sum.Kind, "batches", sum.Batches, "records", sum.Records)
			var problems []string
			if sum.Tail != nil {
				problems = append(problems, fmt.Sprintf("%s: torn tail at byte %d: %d byte(s) that do not make a complete batch (%s)", args[0], sum.Tail.Offset, sum.Tail.Bytes, sum.Tail.Reason))
			}
			if sum.BadRecords > 0 {
				problems = append(problems, fmt.Sprintf("%s: %d record(s) could not be decoded (see the \"error\" lines)", args[0], sum.BadRecords))
			}
			if len(problems) > 0 {
				return withExitCode(1, errors.New(strings.Join(problems, "; ")))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.ShowSecrets, "show-secrets", false, "print SCRAM salts/keys and sensitive config values instead of <redacted>")
	f.StringVar(&o.Format, "format", "auto", "file kind: auto, checkpoint or log")
	f.BoolVar(&o.Batches, "batches", false, "also print one {\"batch\":{...}} line before each batch's records")
	f.BoolVar(&o.RecordsOnly, "records-only", false, "print only metadata records, as {\"type\",\"version\",\"data\"} lines (control records and offsets left out)")
	return cmd
}

type decodeSummary struct {
	Kind       string // checkpoint or log
	Batches    int
	Records    int
	BadRecords int
	Tail       *batch.TornTail
}

// decodeLooksLikeCheckpoint tells a snapshot by its name or, failing that,
// by its first batch (peeked) being a control batch that starts with a
// snapshot header.
func decodeLooksLikeCheckpoint(path string, in *bufio.Reader) bool {
	base := filepath.Base(path)
	for _, s := range []string{checkpoint.Suffix, checkpoint.PartSuffix, ".checkpoint.deleted"} {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	head, _ := in.Peek(batch.LogOverhead)
	size, err := batch.BatchSize(head)
	if err != nil || size > in.Size() {
		return false
	}
	first, _ := in.Peek(size)
	b, _, err := batch.Decode(first)
	if err != nil || !b.Control || len(b.Records) == 0 {
		return false
	}
	t, err := batch.ControlType(b.Records[0].Key)
	return err == nil && t == records.SnapshotHeaderRecordControlType
}

func decodeFile(ctx context.Context, path string, o decodeOptions, stdin io.Reader, stdout io.Writer) (decodeSummary, error) {
	var sum decodeSummary
	src := stdin
	name := "(stdin)"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return sum, err
		}
		defer f.Close()
		src, name = f, path
	}
	in := bufio.NewReaderSize(src, 1<<20)
	isCheckpoint := o.Format == "checkpoint" || (o.Format == "auto" && decodeLooksLikeCheckpoint(path, in))
	sum.Kind = "log"
	var check *checkpoint.Checker
	if isCheckpoint {
		sum.Kind = "checkpoint"
		check = checkpoint.NewChecker(name, false)
	}
	w := bufio.NewWriterSize(stdout, 1<<16)
	defer w.Flush()
	jopts := records.JSONOptions{ShowSecrets: o.ShowSecrets}
	var line []byte
	rd := batch.NewReader(in, name)
	for {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		b, pos, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, err
		}
		sum.Batches++
		if o.Batches && !o.RecordsOnly {
			line = decodeBatchLine(line[:0], pos, b)
			if _, err := w.Write(line); err != nil {
				return sum, err
			}
		}
		for _, r := range b.Records {
			sum.Records++
			v, derr := batch.DecodeRecord(b, r)
			if o.RecordsOnly && (b.Control || derr != nil) {
				if derr != nil {
					sum.BadRecords++
				}
				continue
			}
			line = line[:0]
			if !o.RecordsOnly {
				line = append(line, `{"offset":`...)
				line = strconv.AppendInt(line, b.BaseOffset+int64(r.OffsetDelta), 10)
				line = append(line, `,"epoch":`...)
				line = strconv.AppendInt(line, int64(b.PartitionLeaderEpoch), 10)
				line = append(line, `,"timestamp":`...)
				line = strconv.AppendInt(line, b.AppendTimeMs+r.TimestampDelta, 10)
				line = append(line, `,"control":`...)
				line = strconv.AppendBool(line, b.Control)
			}
			if derr == nil {
				var js []byte
				js, derr = records.MarshalJSONLine(v, jopts)
				if derr == nil {
					if o.RecordsOnly {
						line = append(line, js...)
					} else {
						line = append(line, ',')
						line = append(line, js[1:]...) // the record's own members
					}
				}
			}
			if derr != nil {
				sum.BadRecords++
				line = append(line, `,"error":`...)
				line = strconv.AppendQuote(line, fmt.Sprintf("batch at byte %d: %v", pos, derr))
				line = append(line, '}')
			}
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return sum, err
			}
		}
		// Printed first, then checked: a dump shows what is there.
		if check != nil {
			if err := check.Batch(pos, b); err != nil {
				return sum, fmt.Errorf("not a valid snapshot: %w", err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		return sum, err
	}
	sum.Tail = rd.Tail
	if check != nil {
		if _, err := check.End(rd.Tail); err != nil {
			return sum, fmt.Errorf("not a valid snapshot: %w", err)
		}
	}
	return sum, nil
}

func decodeBatchLine(dst []byte, pos int64, b *batch.Batch) []byte {
	dst = append(dst, `{"batch":{"baseOffset":`...)
	dst = strconv.AppendInt(dst, b.BaseOffset, 10)
	dst = append(dst, `,"lastOffset":`...)
	dst = strconv.AppendInt(dst, b.LastOffset(), 10)
	dst = append(dst, `,"count":`...)
	dst = strconv.AppendInt(dst, int64(len(b.Records)), 10)
	dst = append(dst, `,"position":`...)
	dst = strconv.AppendInt(dst, pos, 10)
	dst = append(dst, `,"epoch":`...)
	dst = strconv.AppendInt(dst, int64(b.PartitionLeaderEpoch), 10)
	dst = append(dst, `,"control":`...)
	dst = strconv.AppendBool(dst, b.Control)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, b.AppendTimeMs, 10)
	dst = append(dst, `,"producerId":`...)
	dst = strconv.AppendInt(dst, b.ProducerID, 10)
	dst = append(dst, `,"crc":"`...)
	dst = fmt.Appendf(dst, "%08x", b.CRC)
	return append(dst, "\"}}\n"...)
}
