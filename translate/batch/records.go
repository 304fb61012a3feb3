package batch

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/zk2kraft/zk2kraft/translate/records"
)

// ControlKeyVersion is the version Kafka writes in control record keys.
const ControlKeyVersion = 0

// DataRecord frames a metadata record as the value of a keyless batch record.
func DataRecord(v records.Versioned) (Record, error) {
	val, err := records.AppendFrame(nil, v)
	if err != nil {
		return Record{}, err
	}
	return Record{Value: val}, nil
}

// ControlRecord encodes a control record: key = int16 key version 0 + int16
// control type; value = the message body at v.Version (no frame).
func ControlRecord(v records.Versioned) (Record, error) {
	c, ok := v.Record.(records.ControlRecord)
	if !ok {
		return Record{}, fmt.Errorf("control record: %T is not a control record", v.Record)
	}
	key := make([]byte, 4)
	binary.BigEndian.PutUint16(key, ControlKeyVersion)
	binary.BigEndian.PutUint16(key[2:], uint16(c.ControlType()))
	val, err := c.AppendTo(nil, v.Version)
	if err != nil {
		return Record{}, err
	}
	return Record{Key: key, Value: val}, nil
}

// ControlType parses a control record key (Kafka's ControlRecordType.parse).
func ControlType(key []byte) (int16, error) {
	if len(key) < 4 {
		return 0, fmt.Errorf("control record key of %d byte(s), want at least 4 (int16 version, int16 type)", len(key))
	}
	if v := int16(binary.BigEndian.Uint16(key)); v < 0 {
		return 0, fmt.Errorf("control record key version %d is negative", v)
	}
	return int16(binary.BigEndian.Uint16(key[2:])), nil
}

// ControlTypeName is Kafka's ControlRecordType name for a code.
func ControlTypeName(t int16) string {
	switch t {
	case 0:
		return "ABORT"
	case 1:
		return "COMMIT"
	case 2:
		return "LEADER_CHANGE"
	case 3:
		return "SNAPSHOT_HEADER"
	case 4:
		return "SNAPSHOT_FOOTER"
	case 5:
		return "KRAFT_VERSION"
	case 6:
		return "KRAFT_VOTERS"
	}
	return "UNKNOWN"
}

// DecodeControl decodes a control record of a control batch. The message
// version is taken from the body's leading int16 Version field (every KRaft
// control message starts with it and Kafka writes it equal to the version it
// serializes at); a value outside the type's valid versions reads as 0.
func DecodeControl(r Record) (records.Versioned, error) {
	t, err := ControlType(r.Key)
	if err != nil {
		return records.Versioned{}, err
	}
	rec, err := records.NewControlRecord(t)
	if err != nil {
		return records.Versioned{}, fmt.Errorf("control record type %d (%s): %w", t, ControlTypeName(t), err)
	}
	var ver int16
	if len(r.Value) >= 2 {
		if v := int16(binary.BigEndian.Uint16(r.Value)); v >= rec.LowestVersion() && v <= rec.HighestVersion() {
			ver = v
		}
	}
	n, err := rec.ReadFrom(r.Value, ver)
	if err != nil {
		return records.Versioned{}, fmt.Errorf("control record %s: %w", rec.TypeName(), err)
	}
	if n != len(r.Value) {
		return records.Versioned{}, fmt.Errorf("control record %s: found %d byte(s) of garbage after the message", rec.TypeName(), len(r.Value)-n)
	}
	return records.Versioned{Record: rec, Version: ver}, nil
}

// DecodeRecord decodes one record of b: a framed metadata record in a data
// batch, a control message in a control batch.
func DecodeRecord(b *Batch, r Record) (records.Versioned, error) {
	if b.Control {
		return DecodeControl(r)
	}
	if r.Value == nil {
		return records.Versioned{}, fmt.Errorf("data record with a null value")
	}
	return records.DecodeFrame(r.Value)
}

// DecodeRecords decodes every record of b; errors name the record's offset.
func DecodeRecords(b *Batch) ([]records.Versioned, error) {
	return AppendDecodedRecords(make([]records.Versioned, 0, len(b.Records)), b)
}

// AppendDecodedRecords decodes every record of b and appends them to dst
// (reusing its backing array when large enough); errors name the record's
// offset.
func AppendDecodedRecords(dst []records.Versioned, b *Batch) ([]records.Versioned, error) {
	out := slices.Grow(dst, len(b.Records))
	for _, r := range b.Records {
		v, err := DecodeRecord(b, r)
		if err != nil {
			return nil, fmt.Errorf("record at offset %d: %w", b.BaseOffset+int64(r.OffsetDelta), err)
		}
		out = append(out, v)
	}
	return out, nil
}
