package records

// Record is a Kafka metadata record or control record message.
type Record interface {
	// APIKey is the metadata record type (MetadataRecordType id); -1 for
	// control records.
	APIKey() int16
	// TypeName is Kafka's name for the type: MetadataRecordType's enum name
	// ("TOPIC_RECORD") or, for control records, ControlRecordType's
	// ("SNAPSHOT_HEADER").
	TypeName() string
	LowestVersion() int16
	HighestVersion() int16
	// AppendTo appends the message body at version to dst. It fails for a
	// version outside [LowestVersion, HighestVersion] and for a field that
	// holds a non-default value the version cannot carry.
	AppendTo(dst []byte, version int16) ([]byte, error)
	// ReadFrom decodes a message body of version from the start of b,
	// replacing the receiver's contents, and returns the bytes used.
	ReadFrom(b []byte, version int16) (n int, err error)
}

// ControlRecord is a Record carried in a control batch; its type lives in the
// batch record's key.
type ControlRecord interface {
	Record
	// ControlType is Kafka's ControlRecordType code (3 = SNAPSHOT_HEADER...).
	ControlType() int16
}

// Versioned is a record with the version it is (to be) written at: Kafka's
// ApiMessageAndVersion.
type Versioned struct {
	Record  Record
	Version int16
}
