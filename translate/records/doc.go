// Package records holds Kafka's KRaft metadata records and control records as
// Go types, generated from Kafka's own JSON schemas (schemas/, copied from
// apache/kafka 3.9 with their Apache license headers), plus the hand-written
// pieces around them:
//
//   - Record: what every generated type implements. AppendTo appends the
//     message body at a version to a caller's buffer; ReadFrom decodes one.
//     Both follow Kafka's flexible-version rules (spec §4.2): compact strings,
//     bytes and arrays, tagged fields written only when they differ from
//     their default, unknown tagged fields skipped on read.
//   - NewXxx() returns a record with the schema's defaults (PartitionRecord
//     Leader -1, PartitionChangeRecord Leader -2, RegisterBrokerRecord Fenced
//     true, ...). Nested structs are named RecordName+StructName.
//   - Versioned (Kafka's ApiMessageAndVersion), AppendFrame and DecodeFrame:
//     the metadata record frame (spec §4.1) that goes into a batch's value.
//   - MarshalJSONLine / UnmarshalJSONLine: Kafka's metadata-record JSON,
//     {"type":"TOPIC_RECORD","version":0,"data":{...}}, secrets redacted
//     unless asked for.
//
// Generated files end in _gen.go; regenerate with `go generate ./translate/...`.
package records

//go:generate go run ../internal/recordgen -schemas schemas -out .
