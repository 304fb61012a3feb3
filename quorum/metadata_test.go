package quorum_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/quorum/quorumtest"
	"github.com/zk2kraft/zk2kraft/translate/batch"
	"github.com/zk2kraft/zk2kraft/translate/batch/checkpoint"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

var mv = image.LatestProduction

func featureRecords() []records.Versioned {
	return []records.Versioned{{Record: &records.FeatureLevelRecord{Name: "metadata.version", FeatureLevel: mv.Level}, Version: 0}}
}

func topicRecords(name string, partitions int) []records.Versioned {
	id := kafka.DerivedUUID("test-topic", name)
	out := []records.Versioned{{Record: &records.TopicRecord{Name: name, TopicId: id}, Version: 0}}
	for p := 0; p < partitions; p++ {
		out = append(out, records.Versioned{Record: &records.PartitionRecord{
			PartitionId: int32(p), TopicId: id, Replicas: []int32{1, 2, 3}, Isr: []int32{1, 2, 3},
			Leader: int32(1 + p%3), LeaderEpoch: 0, PartitionEpoch: 0,
		}, Version: mv.PartitionRecordVersion()})
	}
	return out
}

func startMeta(t *testing.T, n int, extra ...func(*quorum.Config)) (*quorum.LocalCluster, *client.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: real raft quorum on loopback")
	}
	opts := append([]func(*quorum.Config){func(c *quorum.Config) { c.Logger = testLogger() }}, extra...)
	return quorumtest.Start(t, n, "", "MkU3OEVBNTcwNTJENDM2Qg", opts...)
}

func imageOf(t *testing.T, n *quorum.Node) *image.Image {
	t.Helper()
	im, _, err := n.Image()
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func sameImage(t *testing.T, what string, want, got *image.Image) {
	t.Helper()
	if d := image.Diff(want, got); len(d) > 0 {
		var b strings.Builder
		for i, x := range d {
			if i == 10 {
				fmt.Fprintf(&b, "  ... %d more\n", len(d)-10)
				break
			}
			fmt.Fprintf(&b, "  %s\n", x)
		}
		t.Fatalf("%s: images differ:\n%s", what, b.String())
	}
}

func TestMetadataImageReplicatedSnapshottedAndExported(t *testing.T) {
	lc, c := startMeta(t, 3, func(cfg *quorum.Config) { cfg.SnapshotThreshold = 1 << 20 })
	ctx := ctxT(t, 30*time.Second)
	if _, err := c.Append(ctx, featureRecords(), map[string]string{"migration.phase": "copying"}, client.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := c.Append(ctx, topicRecords(fmt.Sprintf("topic-%02d", i), 12), nil, client.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A partition of an unknown topic: rejected, reported, the node stays up.
	bad := topicRecords("ghost", 2)[1:]
	_, err := c.Append(ctx, bad, nil, client.AppendOptions{})
	var re *client.RejectedError
	if !errors.As(err, &re) {
		t.Fatalf("partition of an unknown topic: err %v, want RejectedError", err)
	}
	// A batch whose second record contradicts the image is undone entirely.
	mixed := append(topicRecords("half", 1), topicRecords("topic-00", 1)[0])
	if _, err := c.Append(ctx, mixed, nil, client.AppendOptions{}); !errors.As(err, &re) {
		t.Fatalf("batch with a duplicate topic: err %v, want RejectedError", err)
	}
	off, err := c.Append(ctx, topicRecords("last", 3), map[string]string{"migration.phase": "copied"}, client.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLast := int64(1 + 20*13 + 4 - 1)
	if off.Last != wantLast {
		t.Fatalf("last offset %d, want %d", off.Last, wantLast)
	}
	leader := imageOf(t, lc.Node(lc.Leader()))
	if leader.TopicByName("half") != nil || leader.TopicByName("last") == nil || leader.NumPartitions() != 20*12+3 {
		t.Fatalf("leader image: %d partitions, half=%v", leader.NumPartitions(), leader.TopicByName("half") != nil)
	}
	for i := 0; i < 3; i++ {
		if err := lc.Node(i).WaitOffset(ctx, wantLast); err != nil {
			t.Fatal(err)
		}
		sameImage(t, fmt.Sprintf("node %d vs leader", i+1), leader, imageOf(t, lc.Node(i)))
		if st := lc.Node(i).Status(); st.FSMErrors.Count != 2 {
			t.Fatalf("node %d: %d FSM errors, want 2", i+1, st.FSMErrors.Count)
		}
	}

	// The image through the client: a Kafka checkpoint, read back.
	var buf bytes.Buffer
	name, pos, err := c.Checkpoint(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%020d-%010d.checkpoint", wantLast+1, off.Epoch); name != want || pos.LastOffset != wantLast {
		t.Fatalf("checkpoint %s at %+v, want %s", name, pos, want)
	}
	back, err := quorum.ReadImage(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	sameImage(t, "checkpoint read back", leader, back)

	// JSON sections.
	js, err := c.ImageJSON(ctx, "topic", "last")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(js), "PARTITION_RECORD"); n != 3 || !strings.Contains(string(js), `"last"`) {
		t.Fatalf("topic JSON: %d partition records:\n%s", n, js)
	}
	if _, err := c.ImageJSON(ctx, "nonsense", ""); err == nil {
		t.Fatal("unknown section accepted")
	}
	all, err := c.ImageJSON(ctx, "", "")
	if err != nil || !strings.Contains(string(all), `"features"`) || !strings.Contains(string(all), `"topics"`) {
		t.Fatalf("whole image JSON: %v\n%.300s", err, all)
	}

	// Snapshots on every node, then a full restart: the same image from disk.
	for i := 0; i < 3; i++ {
		if err := lc.Node(i).Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	// Each snapshot is also kept as a plain Kafka checkpoint in the data dir,
	// readable by translate/batch/checkpoint (Kafka's layout checks).
	for i := 0; i < 3; i++ {
		files, _ := filepath.Glob(filepath.Join(lc.Node(i).DataDir(), quorum.CheckpointDirName, "*.checkpoint"))
		if len(files) != 1 || filepath.Base(files[0]) != name {
			t.Fatalf("node %d: checkpoint files %v, want %s", i+1, files, name)
		}
		snap, err := checkpoint.Read(files[0])
		if err != nil {
			t.Fatal(err)
		}
		if snap.Epoch != off.Epoch {
			t.Fatalf("node %d: checkpoint epoch %d, want %d", i+1, snap.Epoch, off.Epoch)
		}
		f, _ := os.Open(files[0])
		im, err := quorum.ReadImage(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		sameImage(t, fmt.Sprintf("node %d data dir checkpoint", i+1), leader, im)
	}
	if _, err := c.Append(ctx, topicRecords("after-snapshot", 2), nil, client.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	leader = imageOf(t, lc.Node(lc.Leader()))
	lc.Close()
	for i := 0; i < 3; i++ {
		if err := lc.Restart(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	im, pos2, err := c.Image(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameImage(t, "after full restart", leader, im)
	mvw, err := c.Meta(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if mvw.Meta["migration.phase"] != "copied" || pos2.NextOffset != wantLast+4 {
		t.Fatalf("after restart: meta %v, position %+v", mvw.Meta, pos2)
	}
}

func TestRecordStream(t *testing.T) {
	_, c := startMeta(t, 3, func(cfg *quorum.Config) { cfg.RetainBytes = 64 << 10 })
	ctx := ctxT(t, 30*time.Second)
	first, err := c.Append(ctx, featureRecords(), nil, client.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var offs []client.Offsets
	for i := 0; i < 3; i++ {
		o, err := c.Append(ctx, topicRecords(fmt.Sprintf("s%d", i), 4), nil, client.AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, o)
	}
	data, next, err := c.Records(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if next != offs[2].Last+1 {
		t.Fatalf("next offset %d, want %d", next, offs[2].Last+1)
	}
	var got []batch.Batch
	if _, err := batch.Scan("stream", data, func(_ int64, b *batch.Batch) error { got = append(got, *b); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].BaseOffset != first.Base || got[3].BaseOffset != offs[2].Base || got[3].PartitionLeaderEpoch != offs[2].Epoch || len(got[3].Records) != 5 {
		t.Fatalf("stream: %d batches, last %+v", len(got), got[len(got)-1])
	}
	// From the middle of a batch: that batch is returned (Kafka semantics).
	if data, _, err := c.Records(ctx, offs[1].Base+2, 0); err != nil || len(data) == 0 {
		t.Fatalf("mid-batch read: %v", err)
	}
	// Long poll: a read at the end waits for the next commit.
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		d, _, err := c.Records(ctx, next, 5*time.Second)
		done <- result{d, err}
	}()
	time.Sleep(200 * time.Millisecond)
	t0 := time.Now()
	if _, err := c.Append(ctx, topicRecords("late", 1), nil, client.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || len(r.data) == 0 || time.Since(t0) > 2*time.Second {
		t.Fatalf("long poll: %d bytes, %v after %v", len(r.data), r.err, time.Since(t0))
	}
	// Records older than what a node keeps: read the image instead.
	for i := 0; i < 40; i++ {
		if _, err := c.Append(ctx, topicRecords(fmt.Sprintf("fill%d", i), 200), nil, client.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.Records(ctx, 0, 0); !errors.Is(err, client.ErrOffsetTooOld) {
		t.Fatalf("read of a dropped offset: err %v, want ErrOffsetTooOld", err)
	}
}
