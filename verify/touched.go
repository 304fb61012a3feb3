package verify

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/translate/batch"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// touched is what the records appended while a comparison ran changed in
// the quorum's image: those objects' quorum side may be newer than the
// ZooKeeper read, so a difference on them is in flight.
type touched struct {
	all      bool            // unknown (records unreadable): everything may be newer
	objects  map[string]bool // section|object
	topics   map[string]bool // topic names: the topic, its partitions and configs
	sections map[string]bool // whole sections (ACLs: their diff objects are contents)
}

func (t *touched) empty() bool {
	return !t.all && len(t.objects) == 0 && len(t.topics) == 0 && len(t.sections) == 0
}

// has reports whether a difference is on something the records changed.
func (t *touched) has(d image.Difference) bool {
	if t.all || t.sections[d.Section] || t.objects[d.Section+"|"+d.Object] {
		return true
	}
	switch d.Section {
	case image.SectionTopics:
		for name := range t.topics {
			if d.Object == "topic "+name || partitionOf(d.Object, name) {
				return true
			}
		}
	case image.SectionConfigs:
		for name := range t.topics {
			if d.Object == (image.ConfigResource{Type: 2, Name: name}).String() {
				return true
			}
		}
	}
	return false
}

// partitionOf: object is "<name>-<partition id>".
func partitionOf(object, name string) bool {
	rest, ok := strings.CutPrefix(object, name+"-")
	if !ok {
		return false
	}
	_, err := strconv.Atoi(rest)
	return err == nil
}

// touchedBetween reads the records with offsets in [from, to) from the quorum
// and collects what they change. Topic ids are resolved with the images
// (want: ZooKeeper's side, got: the quorum's). Any error makes it "all".
func touchedBetween(ctx context.Context, q *client.Client, from, to int64, want, got *image.Image) *touched {
	t := &touched{objects: map[string]bool{}, topics: map[string]bool{}, sections: map[string]bool{}}
	if from >= to {
		return t
	}
	names := map[kafka.UUID]string{}
	topicName := func(id kafka.UUID) (string, bool) {
		if n, ok := names[id]; ok {
			return n, true
		}
		if tp := got.TopicByID(id); tp != nil {
			return tp.Name, true
		}
		if tp := want.TopicByID(id); tp != nil {
			return tp.Name, true
		}
		return "", false
	}
	next := from
	for next < to {
		data, n, err := q.Records(ctx, next, 0)
		if err != nil || n <= next {
			t.all = true
			return t
		}
		for len(data) > 0 {
			b, size, err := batch.Decode(data)
			if err != nil {
				t.all = true
				return t
			}
			data = data[size:]
			if b.LastOffset() < from || b.BaseOffset >= to || b.Control {
				continue
			}
			recs, err := batch.DecodeRecords(&b)
			if err != nil {
				t.all = true
				return t
			}
			for _, v := range recs {
				if !t.add(v, names, topicName) {
					t.all = true
					return t
				}
			}
		}
		next = n
	}
	return t
}

// add notes what one record changes; false when it cannot tell.
func (t *touched) add(v records.Versioned, names map[kafka.UUID]string, topicName func(kafka.UUID) (string, bool)) bool {
	topic := func(id kafka.UUID) bool {
		n, ok := topicName(id)
		if ok {
			t.topics[n] = true
		}
		return ok
	}
	switch r := v.Record.(type) {
	case *records.TopicRecord:
		names[r.TopicId] = r.Name
		t.topics[r.Name] = true
	case *records.PartitionRecord:
		return topic(r.TopicId)
	case *records.PartitionChangeRecord:
		return topic(r.TopicId)
	case *records.RemoveTopicRecord:
		return topic(r.TopicId)
	case *records.ConfigRecord:
		t.objects[image.SectionConfigs+"|"+(image.ConfigResource{Type: r.ResourceType, Name: r.ResourceName}).String()] = true
	case *records.ClientQuotaRecord:
		var parts []image.EntityPart
		for _, e := range r.Entity {
			parts = append(parts, image.EntityPart{Type: e.EntityType, Name: e.EntityName})
		}
		t.objects[image.SectionClientQuotas+"|"+image.EntityKey(parts)] = true
	case *records.UserScramCredentialRecord:
		t.objects[fmt.Sprintf("%s|user %s mechanism %d", image.SectionScram, r.Name, r.Mechanism)] = true
	case *records.RemoveUserScramCredentialRecord:
		t.objects[fmt.Sprintf("%s|user %s mechanism %d", image.SectionScram, r.Name, r.Mechanism)] = true
	case *records.AccessControlEntryRecord, *records.RemoveAccessControlEntryRecord:
		t.sections[image.SectionACLs] = true
	case *records.ProducerIdsRecord:
		t.objects[image.SectionProducerIDs+"|nextProducerId"] = true
	case *records.DelegationTokenRecord:
		t.objects[image.SectionDelegationTokens+"|token "+r.TokenId] = true
	case *records.RemoveDelegationTokenRecord:
		t.objects[image.SectionDelegationTokens+"|token "+r.TokenId] = true
	case *records.NoOpRecord:
	default:
		// Registrations, features, migration state, transactions: the
		// sections Diff shows them in.
		t.sections[image.SectionCluster] = true
		t.sections[image.SectionFeatures] = true
	}
	return true
}
