package quorum

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/zk2kraft/zk2kraft/translate/batch"
	"github.com/zk2kraft/zk2kraft/translate/batch/checkpoint"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// EncodeBatch returns one RecordBatch v2 (translate/batch) holding recs as
// framed metadata records. baseOffset and epoch are placeholders the quorum
// overwrites when it applies the batch.
func EncodeBatch(recs []records.Versioned, baseOffset int64, epoch int32, appendTimeMs int64) ([]byte, error) {
	if len(recs) == 0 {
		return nil, errors.New("record batch: no records")
	}
	b := batch.Batch{BaseOffset: baseOffset, PartitionLeaderEpoch: epoch, AppendTimeMs: appendTimeMs, Records: make([]batch.Record, len(recs))}
	size := batchHeaderLen
	for i, v := range recs {
		r, err := batch.DataRecord(v)
		if err != nil {
			return nil, fmt.Errorf("record batch: record %d (%s): %w", i, typeName(v), err)
		}
		b.Records[i] = r
		size += len(r.Value) + 8
	}
	return batch.Encode(make([]byte, 0, size), b), nil
}

func typeName(v records.Versioned) string {
	if v.Record == nil {
		return "nil"
	}
	return v.Record.TypeName()
}

// decodeDataBatch decodes exactly one data RecordBatch into its records.
func decodeDataBatch(b []byte) ([]records.Versioned, error) {
	_, recs, err := decodeDataBatchReuse(b, nil, nil)
	return recs, err
}

// decodeDataBatchReuse is decodeDataBatch decoding into the backing arrays
// of raw and dst when they are large enough; it returns the slices used.
func decodeDataBatchReuse(b []byte, raw []batch.Record, dst []records.Versioned) ([]batch.Record, []records.Versioned, error) {
	bt, n, err := batch.DecodeReuse(b, raw[:cap(raw)])
	if err != nil {
		return raw, dst, fmt.Errorf("record batch: %w", err)
	}
	if n != len(b) {
		return bt.Records, dst, fmt.Errorf("record batch: %d byte(s) after the batch (one entry holds one batch)", len(b)-n)
	}
	if bt.Control {
		return bt.Records, dst, errors.New("record batch: control batches are written by the quorum itself, not appended")
	}
	recs, err := batch.AppendDecodedRecords(dst[:0], &bt)
	if err != nil {
		return bt.Records, dst, fmt.Errorf("record batch: %w", err)
	}
	return bt.Records, recs, nil
}

// WriteCheckpointRecords writes recs as a Kafka .checkpoint (translate/batch/
// checkpoint): header batch, data batches with the snapshot epoch, footer.
// The batches' append time is the last contained record's, so every node
// writes the same bytes for the same state.
func WriteCheckpointRecords(w io.Writer, recs []records.Versioned, epoch int32, lastTimestampMs int64) error {
	return checkpoint.Encode(context.Background(), w, epoch, recs, checkpoint.Options{
		AppendTimeMs:              lastTimestampMs,
		LastContainedLogTimestamp: lastTimestampMs,
	})
}

// ReadCheckpointRecords reads and checks a Kafka .checkpoint stream (header,
// epochs, offsets, footer) and calls fn for every data record in order.
func ReadCheckpointRecords(r io.Reader, fn func(records.Versioned) error) error {
	const name = "checkpoint"
	c := checkpoint.NewChecker(name, false)
	br := batch.NewReader(bufio.NewReaderSize(r, 1<<20), name)
	for {
		b, pos, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := c.Batch(pos, b); err != nil {
			return err
		}
		if b.Control {
			continue
		}
		recs, err := batch.DecodeRecords(b)
		if err != nil {
			return fmt.Errorf("checkpoint batch at byte %d: %w", pos, err)
		}
		for _, v := range recs {
			if err := fn(v); err != nil {
				return err
			}
		}
	}
	_, err := c.End(br.Tail)
	return err
}
