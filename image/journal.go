package image

import (
	"fmt"
	"slices"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// The undo journal makes metadata transactions and batches cheap: while a
// transaction is open or ApplyBatch runs, every change Apply makes is
// preceded by an entry that restores what it replaces. Aborting a
// transaction or a failed batch replays the entries backwards; the cost is
// proportional to the changes, not to the image.

type undoKind uint8

const (
	undoFeature undoKind = iota
	undoZkState
	undoBroker
	undoController
	undoTopicAdded
	undoTopicRemoved
	undoPartitionSet
	undoPartitionInserted
	undoConfig
	undoQuota
	undoScram
	undoACL
	undoProducerID
	undoToken
	undoTxn
)

// undo is one journal entry: the state before one change. It is small (the
// copy of a 1,000,000-partition cluster journals one entry per partition);
// payloads that are rarely needed sit behind obj. Saved objects are never
// modified after they are saved (changes replace objects).
type undo struct {
	kind undoKind
	had  bool
	i8   int8
	idx  int32      // partition index, broker or controller id
	uuid kafka.UUID // topic or ACL id
	key  string     // feature name, quota entity key, token id
	obj  any        // see save* helpers
}

type configUndo struct {
	res ConfigResource
	key string
	old string
	had bool
}

type topicRemoval struct {
	topic  *Topic
	config map[string]string
}

type scramUndo struct {
	key ScramKey
	old *ScramCredential
}

type txnState struct {
	inTxn bool
	name  string
	mark  int
}

func (im *Image) journaling() bool { return im.inTxn || im.batchDepth > 0 }

func (im *Image) save(u undo) {
	if im.journaling() {
		im.journal = append(im.journal, u)
	}
}

// rollback undoes journal entries back to mark.
func (im *Image) rollback(mark int) {
	for i := len(im.journal) - 1; i >= mark; i-- {
		im.undoOne(&im.journal[i])
		im.journal[i] = undo{}
	}
	im.journal = im.journal[:mark]
}

func (im *Image) undoOne(u *undo) {
	switch u.kind {
	case undoFeature:
		if u.had {
			im.features[u.key] = u.obj.(int16)
		} else {
			delete(im.features, u.key)
		}
	case undoZkState:
		im.zkMigrationState = u.i8
	case undoBroker:
		if b, _ := u.obj.(*Broker); b != nil {
			im.brokers[u.idx] = b
		} else {
			delete(im.brokers, u.idx)
		}
	case undoController:
		if c, _ := u.obj.(*Controller); c != nil {
			im.controllers[u.idx] = c
		} else {
			delete(im.controllers, u.idx)
		}
	case undoTopicAdded:
		t := im.topicsByID[u.uuid]
		delete(im.topicsByID, u.uuid)
		delete(im.topicsByName, t.Name)
	case undoTopicRemoved:
		r := u.obj.(*topicRemoval)
		im.topicsByID[r.topic.ID] = r.topic
		im.topicsByName[r.topic.Name] = r.topic
		im.partitions += len(r.topic.Partitions)
		if r.config != nil {
			im.configs[ConfigResource{kafka.ConfigResourceTopic, r.topic.Name}] = r.config
		}
	case undoPartitionSet:
		im.topicsByID[u.uuid].Partitions[u.idx] = *u.obj.(*Partition)
	case undoPartitionInserted:
		t := im.topicsByID[u.uuid]
		t.Partitions = slices.Delete(t.Partitions, int(u.idx), int(u.idx)+1)
		im.partitions--
	case undoConfig:
		c := u.obj.(*configUndo)
		m := im.configs[c.res]
		if c.had {
			if m == nil {
				m = map[string]string{}
				im.configs[c.res] = m
			}
			m[c.key] = c.old
		} else if m != nil {
			delete(m, c.key)
			if len(m) == 0 {
				delete(im.configs, c.res)
			}
		}
	case undoQuota:
		if q, _ := u.obj.(*QuotaEntity); q != nil {
			im.quotas[u.key] = q
		} else {
			delete(im.quotas, u.key)
		}
	case undoScram:
		s := u.obj.(*scramUndo)
		if s.old != nil {
			im.scram[s.key] = s.old
		} else {
			delete(im.scram, s.key)
		}
	case undoACL:
		if a, _ := u.obj.(*ACL); a != nil {
			im.acls[u.uuid] = a
		} else {
			delete(im.acls, u.uuid)
		}
	case undoProducerID:
		im.nextProducerID = u.obj.(int64)
	case undoToken:
		if t, _ := u.obj.(*DelegationToken); t != nil {
			im.tokens[u.key] = t
		} else {
			delete(im.tokens, u.key)
		}
	case undoTxn:
		s := u.obj.(*txnState)
		im.inTxn, im.txnName, im.txnMark = s.inTxn, s.name, s.mark
	}
}

// cloneUndo deep-copies an entry's saved objects for Clone.
func cloneUndo(u undo) undo {
	switch o := u.obj.(type) {
	case *topicRemoval:
		t := &Topic{Name: o.topic.Name, ID: o.topic.ID, Partitions: make([]Partition, len(o.topic.Partitions))}
		for i := range o.topic.Partitions {
			t.Partitions[i] = clonePartition(&o.topic.Partitions[i])
		}
		var m map[string]string
		if o.config != nil {
			m = make(map[string]string, len(o.config))
			for k, v := range o.config {
				m[k] = v
			}
		}
		u.obj = &topicRemoval{topic: t, config: m}
	case *Partition:
		p := clonePartition(o)
		u.obj = &p
	case *Broker:
		if o != nil {
			u.obj = cloneBroker(o)
		}
	case *Controller:
		if o != nil {
			c := *o
			c.Endpoints, c.Features = slices.Clone(c.Endpoints), slices.Clone(c.Features)
			u.obj = &c
		}
	case *QuotaEntity:
		if o != nil {
			u.obj = cloneQuota(o)
		}
	case *scramUndo:
		n := *o
		if o.old != nil {
			c := *o.old
			c.Salt, c.StoredKey, c.ServerKey = slices.Clone(c.Salt), slices.Clone(c.StoredKey), slices.Clone(c.ServerKey)
			n.old = &c
		}
		u.obj = &n
	case *ACL:
		if o != nil {
			a := *o
			u.obj = &a
		}
	case *DelegationToken:
		if o != nil {
			t := *o
			t.Renewers = slices.Clone(t.Renewers)
			u.obj = &t
		}
	case *configUndo:
		c := *o
		u.obj = &c
	case *txnState:
		s := *o
		u.obj = &s
	}
	return u
}

// ApplyBatch applies recs all or nothing: on the first record that
// contradicts the image it undoes the records before it and returns the
// index of that record with its error. The image is then exactly as before.
func (im *Image) ApplyBatch(recs []records.Versioned) (int, error) {
	// Aborting a transaction consumes its journal entries, so a batch with
	// an AbortTransactionRecord keeps a copy to return to instead (rare:
	// Kafka aborts only after a controller failover).
	var before *Image
	for _, v := range recs {
		if _, ok := v.Record.(*records.AbortTransactionRecord); ok {
			before = im.Clone()
			break
		}
	}
	mark := len(im.journal)
	// Most records journal one entry: grow the journal once, not by doubling.
	im.journal = slices.Grow(im.journal, len(recs))
	im.batchDepth++
	for i, v := range recs {
		var hint int
		if t, ok := v.Record.(*records.TopicRecord); ok {
			hint = partitionsFollowing(recs[i+1:], t.TopicId)
		}
		if err := im.Apply(v); err != nil {
			im.batchDepth--
			if before != nil {
				*im = *before
			} else {
				im.rollback(mark)
			}
			return i, fmt.Errorf("record %d of %d: %w", i, len(recs), err)
		}
		if hint > 0 {
			// A new topic whose partitions follow it in the batch: size
			// its partition slice once.
			t := im.topicsByID[v.Record.(*records.TopicRecord).TopicId]
			t.Partitions = make([]Partition, 0, hint)
		}
	}
	im.batchDepth--
	if !im.journaling() {
		im.clearJournal()
	}
	return len(recs), nil
}

// partitionsFollowing counts the PartitionRecords of topic id at the start
// of recs (how the copy phase and Kafka write a new topic).
func partitionsFollowing(recs []records.Versioned, id kafka.UUID) int {
	n := 0
	for _, v := range recs {
		p, ok := v.Record.(*records.PartitionRecord)
		if !ok || p.TopicId != id {
			break
		}
		n++
	}
	return n
}

// maxKeptJournal is the largest journal backing array clearJournal keeps for
// the next batch (about 1 MB; a 10,000-record batch needs 10,000 entries).
const maxKeptJournal = 16 << 10

// clearJournal empties the journal, releasing a large backing array (the
// copy of a big cluster journals millions of entries inside one transaction).
func (im *Image) clearJournal() {
	if cap(im.journal) > maxKeptJournal {
		im.journal = nil
		return
	}
	clear(im.journal)
	im.journal = im.journal[:0]
}
