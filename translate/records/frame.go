package records

import (
	"fmt"
)

// FrameVersion is the metadata record frame version Kafka writes
// (AbstractApiMessageSerde.DEFAULT_FRAME_VERSION).
const FrameVersion = 1

// AppendFrame appends v as a framed metadata record (spec §4.1): unsigned
// varints frame version 1, api key and version, then the message body. This
// is the value of a data batch record.
func AppendFrame(dst []byte, v Versioned) ([]byte, error) {
	if v.Record == nil {
		return dst, fmt.Errorf("frame: nil record")
	}
	key := v.Record.APIKey()
	if key < 0 {
		return dst, fmt.Errorf("frame: %s is a control record; control records are not framed", v.Record.TypeName())
	}
	if v.Version < 0 {
		return dst, fmt.Errorf("frame: %s: negative version %d", v.Record.TypeName(), v.Version)
	}
	dst = append(dst, FrameVersion)
	dst = appendUvarint(dst, uint64(key))
	dst = appendUvarint(dst, uint64(v.Version))
	return v.Record.AppendTo(dst, v.Version)
}

// DecodeFrame decodes one framed metadata record that fills b exactly.
func DecodeFrame(b []byte) (Versioned, error) {
	r := reader{b: b}
	frame := r.uvarint()
	if r.err != nil {
		return Versioned{}, fmt.Errorf("metadata record frame: frame version: %w", r.err)
	}
	switch {
	case frame == 0:
		return Versioned{}, fmt.Errorf("metadata record frame: frame version 0 is from a preview release of KRaft in Apache Kafka 2.8 and is not supported")
	case frame != FrameVersion:
		return Versioned{}, fmt.Errorf("metadata record frame: unknown frame version %d (want %d)", frame, FrameVersion)
	}
	key := r.uvarint()
	if r.err != nil {
		return Versioned{}, fmt.Errorf("metadata record frame: api key: %w", r.err)
	}
	ver := r.uvarint()
	if r.err != nil {
		return Versioned{}, fmt.Errorf("metadata record frame: version: %w", r.err)
	}
	if key > 0x7fff {
		return Versioned{}, fmt.Errorf("metadata record frame: unknown api key %d", key)
	}
	rec, err := NewRecord(int16(key))
	if err != nil {
		return Versioned{}, fmt.Errorf("metadata record frame: %w", err)
	}
	if ver < uint64(rec.LowestVersion()) || ver > uint64(rec.HighestVersion()) {
		return Versioned{}, fmt.Errorf("metadata record frame: %s version %d is not supported (valid %d-%d)", rec.TypeName(), ver, rec.LowestVersion(), rec.HighestVersion())
	}
	n, err := rec.ReadFrom(b[r.off:], int16(ver))
	if err != nil {
		return Versioned{}, fmt.Errorf("metadata record frame: %w", err)
	}
	if extra := len(b) - r.off - n; extra > 0 {
		return Versioned{}, fmt.Errorf("metadata record frame: found %d byte(s) of garbage after %s v%d", extra, rec.TypeName(), ver)
	}
	return Versioned{Record: rec, Version: int16(ver)}, nil
}
