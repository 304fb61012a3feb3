package quorum

import (
	"bufio"
	"fmt"
	"io"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// PartialApplyError is returned by a Machine whose state changed before a
// record of the batch failed; the FSM then rebuilds the machine's state
// from the last snapshot and the log, so that the batch is all-or-nothing.
type PartialApplyError struct {
	Applied int // records applied before the failing one
	Err     error
}

func (e *PartialApplyError) Error() string { return e.Err.Error() }
func (e *PartialApplyError) Unwrap() error { return e.Err }

// metadataMachine is the Machine of a real quorum: the KRaft metadata image.
type metadataMachine struct {
	im  *image.Image
	dec recordDecoder // ApplyBatch runs on one goroutine
}

// NewMetadataMachine returns the metadata-image state machine.
func NewMetadataMachine() Machine { return &metadataMachine{im: image.New()} }

func (m *metadataMachine) ApplyBatch(b []byte, base int64, epoch int32) (int, error) {
	recs, err := m.dec.decode(b)
	defer m.dec.release()
	if err != nil {
		return 0, err
	}
	// The image applies a batch all or nothing (its undo journal), so a
	// contradiction leaves it exactly as before: no rebuild needed.
	if i, err := m.im.ApplyBatch(recs); err != nil {
		return 0, fmt.Errorf("offset %d: %w", base+int64(i), err)
	}
	return len(recs), nil
}

// Image returns the machine's image (callers must hold the FSM lock).
func (m *metadataMachine) Image() *image.Image { return m.im }

func (m *metadataMachine) Capture() (Checkpoint, error) {
	recs, losses := m.im.RecordsWithLosses()
	if len(losses) > 0 {
		return nil, fmt.Errorf("the image holds what its metadata.version cannot write (%s); a snapshot would lose it", losses[0])
	}
	return &metadataCheckpoint{recs: recs}, nil
}

func (m *metadataMachine) Restore(r io.Reader) error {
	im, err := ReadImage(r)
	if err != nil {
		return err
	}
	m.im = im
	return nil
}

// ReadImage builds an image from a Kafka .checkpoint.
func ReadImage(r io.Reader) (*image.Image, error) {
	im := image.New()
	n := 0
	err := ReadCheckpointRecords(r, func(v records.Versioned) error {
		if err := im.Apply(v); err != nil {
			return fmt.Errorf("checkpoint record %d: %w", n, err)
		}
		n++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return im, nil
}

type metadataCheckpoint struct {
	recs []records.Versioned
}

func (c *metadataCheckpoint) WriteCheckpoint(w io.Writer, pos Position) error {
	return WriteCheckpointRecords(w, c.recs, pos.LastEpoch, pos.LastAppendTime)
}

// sectionOf maps a record to the image section it belongs to.
func sectionOf(r records.Record) string {
	switch r.(type) {
	case *records.FeatureLevelRecord, *records.ZkMigrationStateRecord:
		return image.SectionFeatures
	case *records.TopicRecord, *records.PartitionRecord:
		return image.SectionTopics
	case *records.ConfigRecord:
		return image.SectionConfigs
	case *records.ClientQuotaRecord:
		return image.SectionClientQuotas
	case *records.ProducerIdsRecord:
		return image.SectionProducerIDs
	case *records.AccessControlEntryRecord:
		return image.SectionACLs
	case *records.UserScramCredentialRecord:
		return image.SectionScram
	case *records.DelegationTokenRecord:
		return image.SectionDelegationTokens
	}
	return image.SectionCluster
}

var sectionAliases = map[string]string{
	"quotas": image.SectionClientQuotas, "client_quotas": image.SectionClientQuotas,
	"producer_ids": image.SectionProducerIDs, "delegation_tokens": image.SectionDelegationTokens,
	"migration": image.SectionFeatures,
}

// WriteJSON renders the image ("" = every section, as an object keyed by
// section), one section (an array of records), or one topic ("topic" with
// name: its TopicRecord and PartitionRecords) as Kafka-style JSON records.
// Secrets (SCRAM salts and keys, sensitive config values) are redacted.
func (c *metadataCheckpoint) WriteJSON(w io.Writer, section, name string) error {
	if a, ok := sectionAliases[section]; ok {
		section = a
	}
	known := section == "" || section == "topic"
	for _, s := range image.Sections {
		known = known || s == section
	}
	if !known {
		return fmt.Errorf("%w %q: want one of %v or topic", ErrUnknownSection, section, image.Sections)
	}
	var topicID string
	if section == "topic" {
		for _, v := range c.recs {
			if t, ok := v.Record.(*records.TopicRecord); ok && t.Name == name {
				topicID = t.TopicId.String()
			}
		}
		if topicID == "" {
			return fmt.Errorf("%w: no topic %q", ErrUnknownSection, name)
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	open := ""
	first := true
	if section == "" {
		bw.WriteString("{")
	} else {
		bw.WriteString("[")
	}
	var line []byte
	for _, v := range c.recs {
		s := sectionOf(v.Record)
		switch section {
		case "":
			if s != open {
				if open != "" {
					bw.WriteString("\n  ],")
				}
				fmt.Fprintf(bw, "\n  %q: [", s)
				open, first = s, true
			}
		case "topic":
			switch r := v.Record.(type) {
			case *records.TopicRecord:
				if r.Name != name {
					continue
				}
			case *records.PartitionRecord:
				if r.TopicId.String() != topicID {
					continue
				}
			default:
				continue
			}
		default:
			if s != section {
				continue
			}
		}
		var err error
		line, err = records.AppendJSONLine(line[:0], v, records.JSONOptions{})
		if err != nil {
			return fmt.Errorf("render %s: %w", v.Record.TypeName(), err)
		}
		if !first {
			bw.WriteString(",")
		}
		first = false
		bw.WriteString("\n    ")
		bw.Write(line)
	}
	if section == "" {
		if open != "" {
			bw.WriteString("\n  ]")
		}
		bw.WriteString("\n}\n")
	} else {
		bw.WriteString("\n]\n")
	}
	return bw.Flush()
}
