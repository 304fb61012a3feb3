package quorum

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// Machine is the state a quorum's log builds: the metadata image. The FSM
// around it assigns offsets, handles tokens, preconditions and Meta; the
// Machine only decodes and applies records, and writes and reads checkpoints.
// Every method is called from one goroutine at a time (raft's FSM goroutine),
// except the Checkpoint returned by Capture, which is written concurrently.
type Machine interface {
	// ApplyBatch applies every record of one RecordBatch, or none of them
	// (when it returns an error). baseOffset and epoch are the Kafka offset of
	// the first record and the raft term. It returns the number of records.
	ApplyBatch(batch []byte, baseOffset int64, epoch int32) (records int, err error)
	// Capture returns a consistent view of the current state that can be
	// written later while ApplyBatch keeps running.
	Capture() (Checkpoint, error)
	// Restore replaces the state with the one read from a checkpoint written
	// by a Checkpoint of the same kind of Machine.
	Restore(r io.Reader) error
}

// Checkpoint is a captured state, written in Kafka's .checkpoint layout.
type Checkpoint interface {
	// WriteCheckpoint writes the state as a Kafka snapshot whose last
	// contained record has offset pos.LastOffset and epoch pos.LastEpoch.
	WriteCheckpoint(w io.Writer, pos Position) error
}

// Position is where the log stands: the last applied record and entry.
type Position struct {
	LastOffset      int64  `json:"last_offset"` // -1 before any record
	LastEpoch       int32  `json:"last_epoch"`
	NextOffset      int64  `json:"next_offset"`
	LastAppendTime  int64  `json:"last_append_time_ms"`
	AppliedIndex    uint64 `json:"applied_index"`
	AppliedTerm     uint64 `json:"applied_term"`
	AppliedEntries  uint64 `json:"applied_entries"`
	RejectedEntries uint64 `json:"rejected_entries"`
}

// CheckpointName is Kafka's file name for a snapshot ending after lastOffset:
// "%020d-%010d.checkpoint" of the exclusive end offset and the epoch.
func CheckpointName(pos Position) string {
	return fmtCheckpointName(pos.LastOffset+1, pos.LastEpoch)
}

// RecordBatch v2 header layout (kafka-migration-spec §4.3): the base offset
// and the partition leader epoch are outside the CRC, so the state machine can
// stamp them into a batch without re-encoding it.
const (
	batchHeaderLen      = 61
	batchMagicOffset    = 16
	batchEpochOffset    = 12
	batchCountOffset    = 57
	batchTimestampStart = 27
)

// stampBatch returns a copy of a RecordBatch with its base offset and leader
// epoch set. A buffer that is not a v2 batch is returned copied, unchanged.
func stampBatch(b []byte, baseOffset int64, epoch int32) []byte {
	c := append([]byte(nil), b...)
	if len(c) >= batchHeaderLen && c[batchMagicOffset] == 2 {
		binary.BigEndian.PutUint64(c[0:8], uint64(baseOffset))
		binary.BigEndian.PutUint32(c[batchEpochOffset:batchEpochOffset+4], uint32(epoch))
	}
	return c
}

// batchAppendTime returns a v2 batch's base timestamp, or 0.
func batchAppendTime(b []byte) int64 {
	if len(b) >= batchHeaderLen && b[batchMagicOffset] == 2 {
		return int64(binary.BigEndian.Uint64(b[batchTimestampStart : batchTimestampStart+8]))
	}
	return 0
}

func fmtCheckpointName(endOffset int64, epoch int32) string {
	return fmt.Sprintf("%020d-%010d.checkpoint", endOffset, epoch)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// validateRecordBatch checks that b is exactly one RecordBatch v2: length
// field, magic, CRC-32C and record count. The records themselves are decoded
// by the Machine.
func validateRecordBatch(b []byte) error {
	if len(b) < batchHeaderLen {
		return fmt.Errorf("%d bytes: shorter than a RecordBatch v2 header (%d)", len(b), batchHeaderLen)
	}
	if got := int64(int32(binary.BigEndian.Uint32(b[8:12]))); got != int64(len(b)-12) {
		return fmt.Errorf("batchLength %d: want %d (one batch of %d bytes)", got, len(b)-12, len(b))
	}
	if b[batchMagicOffset] != 2 {
		return fmt.Errorf("magic %d: want 2", b[batchMagicOffset])
	}
	want := binary.BigEndian.Uint32(b[17:21])
	if got := crc32.Checksum(b[21:], castagnoli); got != want {
		return fmt.Errorf("CRC-32C %08x: header says %08x", got, want)
	}
	if c := int32(binary.BigEndian.Uint32(b[batchCountOffset : batchCountOffset+4])); c < 0 {
		return fmt.Errorf("recordCount %d: want >= 0", c)
	}
	return nil
}
