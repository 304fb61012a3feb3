package translate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strconv"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// AssignTopicIDs gives every topic of snap that has no topic id (created
// before Kafka 2.8) an id, and WRITES it into ZooKeeper: the topic znode
// /brokers/topics/<name> is rewritten as a version-3 znode with "topic_id",
// conditionally on the znode's version, as Kafka's controller does
// (KafkaZkClient.setTopicIds). Brokers and the quorum then agree on the id.
//
// It is idempotent: a topic whose znode already has an id (assigned by a
// previous run, or by a ZooKeeper controller meanwhile) keeps it. An id is
// derived from the cluster id, the topic name and the znode's czxid, so a
// re-created topic gets a new id. Topics pending deletion are left alone; a
// topic deleted since the snapshot is skipped. A concurrent change of the
// znode (BADVERSION) is retried on the fresh data.
//
// The result maps every topic of snap without an id to the id its znode now
// has; pass it as Options.AssignedTopicIDs (or re-read ZooKeeper).
func AssignTopicIDs(ctx context.Context, conn *zk.Conn, chroot string, snap *zkreader.Snapshot) (map[string]kafka.UUID, error) {
	if conn == nil || snap == nil {
		return nil, errors.New("assign topic ids: nil connection or snapshot")
	}
	clusterID := ""
	if snap.ClusterID != nil {
		clusterID = snap.ClusterID.ID
	}
	pending := map[string]bool{}
	for _, t := range snap.PendingDeletions {
		pending[t] = true
	}
	out := map[string]kafka.UUID{}
	for _, t := range snap.Topics {
		if t.TopicID != nil && !t.TopicID.IsZero() || pending[t.Name] {
			continue
		}
		p := path.Join("/", chroot, "brokers/topics", t.Name)
		id, ok, err := assignOne(ctx, conn, p, clusterID, t.Name)
		if err != nil {
			return out, err
		}
		if ok {
			out[t.Name] = id
		}
	}
	return out, nil
}

const assignAttempts = 10

func assignOne(ctx context.Context, conn *zk.Conn, p, clusterID, topic string) (kafka.UUID, bool, error) {
	for attempt := 0; attempt < assignAttempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return kafka.UUID{}, false, fmt.Errorf("assign topic id %s: %w", p, err)
		}
		data, st, err := conn.Get(p)
		if errors.Is(err, zk.ErrNoNode) {
			slog.Warn("topic deleted since the snapshot; no id assigned", "path", p)
			return kafka.UUID{}, false, nil
		}
		if err != nil {
			return kafka.UUID{}, false, fmt.Errorf("assign topic id: read %s: %w", p, err)
		}
		newID := kafka.DerivedUUID("zk2kraft-topic-id", clusterID, topic, strconv.FormatInt(st.Czxid, 10))
		newData, id, changed, err := WithTopicID(data, newID)
		if err != nil {
			return kafka.UUID{}, false, fmt.Errorf("assign topic id: %s: %w", p, err)
		}
		if !changed {
			return id, true, nil // already has one
		}
		_, err = conn.Set(p, newData, st.Version)
		if errors.Is(err, zk.ErrBadVersion) {
			continue // changed meanwhile: look again
		}
		if errors.Is(err, zk.ErrNoNode) {
			return kafka.UUID{}, false, nil
		}
		if err != nil {
			return kafka.UUID{}, false, fmt.Errorf("assign topic id: write %s (version %d): %w", p, st.Version, err)
		}
		slog.Info("assigned topic id", "path", p, "topic_id", id.String(), "znode_version", st.Version+1)
		return id, true, nil
	}
	return kafka.UUID{}, false, fmt.Errorf("assign topic id: %s kept changing (%d attempts)", p, assignAttempts)
}

// WithTopicID rewrites a topic znode's JSON (v1, v2 or v3) as version 3
// with topic_id = id, keeping the partition assignment and adding/removing
// replicas as they are (absent ones become {} as Kafka's encoder writes
// them). If the znode already has a topic id, it returns that id and
// changed = false.
func WithTopicID(data []byte, id kafka.UUID) (out []byte, got kafka.UUID, changed bool, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, got, false, fmt.Errorf("topic znode is not a JSON object")
	}
	if raw, ok := m["topic_id"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, got, false, fmt.Errorf("field topic_id: not a string")
		}
		u, err := kafka.ParseUUID(s)
		if err != nil {
			return nil, got, false, fmt.Errorf("field topic_id: %w", err)
		}
		return data, u, false, nil
	}
	parts, ok := m["partitions"]
	if !ok {
		return nil, got, false, fmt.Errorf("field partitions: missing")
	}
	var check map[string][]int32
	if err := json.Unmarshal(parts, &check); err != nil {
		return nil, got, false, fmt.Errorf("field partitions: want {\"<partition>\":[broker ids]}")
	}
	obj := func(k string) json.RawMessage {
		if v, ok := m[k]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return v
		}
		return json.RawMessage("{}")
	}
	var b bytes.Buffer
	b.WriteString(`{"version":3,"partitions":`)
	b.Write(parts)
	b.WriteString(`,"adding_replicas":`)
	b.Write(obj("adding_replicas"))
	b.WriteString(`,"removing_replicas":`)
	b.Write(obj("removing_replicas"))
	b.WriteString(`,"topic_id":"`)
	b.WriteString(id.String())
	b.WriteString(`"}`)
	return b.Bytes(), id, true, nil
}
