package translate

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/zk2kraft/zk2kraft/translate/batch/checkpoint"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// WriteJSONLines writes every record of batches as one line of Kafka-style
// JSON ({"type":"TOPIC_RECORD","version":0,"data":{...}}). Secrets (SCRAM
// salts and keys, password configs) are redacted unless opts.ShowSecrets.
func WriteJSONLines(w io.Writer, batches [][]records.Versioned, opts records.JSONOptions) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var line []byte
	for _, b := range batches {
		for _, v := range b {
			var err error
			line, err = records.AppendJSONLine(line[:0], v, opts)
			if err != nil {
				return fmt.Errorf("json: %w", err)
			}
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// CheckpointOptions returns the checkpoint writer options of a result:
// timestamps from Now(), data batches of SnapshotBatchRecords records capped
// at MaxBatchBytes.
func (r *Result) CheckpointOptions() checkpoint.Options {
	ts := r.Now().UnixMilli()
	return checkpoint.Options{
		AppendTimeMs:              ts,
		LastContainedLogTimestamp: ts,
		MaxBatchBytes:             r.opts.MaxBatchBytes,
		MaxRecords:                SnapshotBatchRecords,
	}
}

// CheckpointRecords returns the data records of a checkpoint of the migrated
// state: the image of Log() in MetadataImage.write order. It fails when the
// metadata version cannot express part of the image.
func (r *Result) CheckpointRecords() ([]records.Versioned, error) {
	im, err := r.Image()
	if err != nil {
		return nil, err
	}
	recs, losses := im.RecordsWithLosses()
	if len(losses) > 0 {
		return nil, fmt.Errorf("checkpoint at metadata.version %s would lose: %s", r.MetadataVersion, strings.Join(losses, "; "))
	}
	return recs, nil
}

// CheckpointID is the snapshot id a checkpoint of the result gets when the
// quorum's log is Log() from offset 0 at epoch 0: the end offset is the number
// of records of Log() (exclusive end, as Kafka names snapshots).
func (r *Result) CheckpointID() checkpoint.SnapshotID {
	n := 0
	for _, b := range r.Log() {
		n += len(b)
	}
	return checkpoint.SnapshotID{EndOffset: int64(n), Epoch: 0}
}

// WriteCheckpoint writes a Kafka-layout snapshot (.checkpoint) of the
// migrated state to w, at snapshot epoch 0.
func WriteCheckpoint(ctx context.Context, w io.Writer, r *Result) error {
	recs, err := r.CheckpointRecords()
	if err != nil {
		return err
	}
	return checkpoint.Encode(ctx, w, 0, recs, r.CheckpointOptions())
}

// WriteText writes the human summary of a dry run: what would be written
// (records per type, batches), what is not migrated and why, and findings
// (the snapshot's, then the translation's).
func WriteText(w io.Writer, snap *zkreader.Snapshot, r *Result) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	src := snap.Source
	if src == "" {
		src = "(snapshot)"
	}
	p("zk2kraft translate — dry run, nothing was written\n")
	p("source:           %s\n", src)
	if snap.ClusterID != nil {
		p("cluster id:       %s\n", snap.ClusterID.ID)
	}
	p("metadata.version: %s (feature level %d)\n\n", r.MetadataVersion.Name, r.MetadataVersion.Level)

	total := 0
	names := make([]string, 0, len(r.Counts))
	for n, c := range r.Counts {
		names = append(names, n)
		total += c
	}
	sort.Strings(names)
	p("Records (%d in total, bootstrap + broker registrations + copy):\n", total)
	for _, n := range names {
		p("  %-36s %10d\n", n, r.Counts[n])
	}
	copyRecs := 0
	for _, b := range r.Batches {
		copyRecs += len(b)
	}
	p("\nCopy: %d records in %d logical batches, written as %d controller batches inside the \"%s\" transaction\n",
		copyRecs, len(r.Logical), len(r.Batches), MigrationTransactionName)
	p("Broker registrations: %d (RegisterBrokerRecord, isMigratingZkBroker)\n", len(r.Registrations))

	p("\nNot migrated (%d):\n", len(r.Skipped))
	byKind := map[string][]Skip{}
	var kinds []string
	for _, s := range r.Skipped {
		if byKind[s.Kind] == nil {
			kinds = append(kinds, s.Kind)
		}
		byKind[s.Kind] = append(byKind[s.Kind], s)
	}
	for _, k := range kinds {
		list := byKind[k]
		if len(list) > 5 && k != "password-config" {
			p("  %-24s %d paths, e.g. %s: %s\n", k, len(list), list[0].Path, list[0].Reason)
			continue
		}
		for _, s := range list {
			p("  %-24s %s: %s\n", k, s.Path, s.Reason)
		}
	}
	all := append(append([]zkreader.Finding{}, snap.Findings...), r.Findings...)
	p("\nFindings (%d):\n", len(all))
	for _, f := range all {
		p("  %s\n", f.String())
		if f.Remedy != "" {
			p("      remedy: %s\n", f.Remedy)
		}
	}
	if len(all) == 0 {
		p("  none\n")
	}
	blocked := r.Blocked()
	for _, f := range snap.Findings {
		blocked = blocked || f.Severity == zkreader.Blocker
	}
	if blocked {
		p("\nBLOCKED: the migration must not start until the blocker findings are resolved.\n")
	}
	return bw.Flush()
}
