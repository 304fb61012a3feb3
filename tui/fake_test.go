package tui

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zk2kraft/zk2kraft/preflight"
	"github.com/zk2kraft/zk2kraft/progress"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// fakeDriver is a scripted Driver for the model's tests.
type fakeDriver struct {
	mu          sync.Mutex
	calls       []string
	settings    Settings
	connectErr  error
	blockers    bool
	verifyCalls int
	parityAfter int // Verify declares parity from this call on (1-based)
	confirmed   string
	aborted     bool
}

const fakeClusterID = "MkU3OEVBNTcwNTJENDM2Qg"

func (f *fakeDriver) called(name string) {
	f.mu.Lock()
	f.calls = append(f.calls, name)
	f.mu.Unlock()
}

func (f *fakeDriver) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeDriver) Connect(ctx context.Context, s Settings) (Connection, error) {
	f.called("connect")
	f.mu.Lock()
	f.settings = s
	f.mu.Unlock()
	if f.connectErr != nil {
		return Connection{}, f.connectErr
	}
	return fakeConnection(), nil
}

func fakeConnection() Connection {
	return Connection{ZKServer: "127.0.0.1:2181 (ZooKeeper 3.8.4)", ClusterID: fakeClusterID, Quorum: "127.0.0.1:9190,127.0.0.1:9191,127.0.0.1:9192"}
}

func (f *fakeDriver) Check(ctx context.Context, p progress.Func) (*preflight.Report, error) {
	f.called("check")
	p(progress.Event{Phase: "check", Unit: "znodes", Done: 500, Total: 1000, Rate: 5000})
	return fakeReport(f.blockers), nil
}

func fakeReport(blockers bool) *preflight.Report {
	r := &preflight.Report{
		Source: "127.0.0.1:2181/kafka", MaxZxid: 0x1000004d2, ClusterID: fakeClusterID,
		Summary: preflight.Summary{Brokers: 3, Topics: 1204, Partitions: 36120, ACLs: 57},
	}
	r.Findings = append(r.Findings,
		zkreader.Finding{Severity: zkreader.Warning, Code: "offline-partition", Path: "/brokers/topics/orders/partitions/7/state",
			Message: "partition orders-7 has leader -1 (offline); it is copied as it is and stays offline in KRaft",
			Remedy:  "bring a replica of orders-7 back, or accept that it stays offline",
			Paths:   []string{"/brokers/topics/orders/partitions/7/state", "/brokers/topics/orders/partitions/9/state"}},
		zkreader.Finding{Severity: zkreader.Info, Code: "delegation-tokens-present", Path: "/delegation_token/tokens",
			Message: "2 delegation tokens are copied; their secrets are never shown"},
		zkreader.Finding{Severity: zkreader.Warning, Code: "encrypted-password-configs", Path: "/config/brokers/1",
			Field: "listener.name.internal.ssl.keystore.password", Expected: "a password encoder secret",
			Message: "1 broker config holds an encrypted password", Remedy: "pass --password-encoder-secret so the value can be decrypted and re-encoded"},
	)
	r.Summary.Warnings, r.Summary.Infos = 2, 1
	if blockers {
		paths := []string{}
		for i := 0; i < 12; i++ {
			paths = append(paths, fmt.Sprintf("/brokers/topics/legacy-%02d", i))
		}
		r.Findings = append(r.Findings,
			zkreader.Finding{Severity: zkreader.Blocker, Code: "topic-without-id", Path: paths[0], Paths: paths,
				Message: "12 topics have no topic id (written by Kafka before 2.8); Kafka's migration fails on them",
				Remedy:  "let a Kafka 2.8+ controller assign ids (restart the controller), or run with --assign-topic-ids"},
			zkreader.Finding{Severity: zkreader.Blocker, Code: "migration-already-started", Path: "/migration",
				Message: "a /migration znode exists from an earlier attempt (a known cause of a wiped cluster on retry)",
				Remedy:  "if the earlier attempt was rolled back, delete /migration after checking it"})
		r.Summary.Blockers = 2
	}
	r.OK = !blockers
	return r
}

func (f *fakeDriver) Plan(ctx context.Context, p progress.Func) (Plan, error) {
	f.called("plan")
	return fakePlan(), nil
}

func fakePlan() Plan {
	p := Plan{
		Objects: []Count{{"brokers", 3}, {"topics", 1204}, {"partitions", 36120}, {"topic configs", 2210},
			{"broker configs", 4}, {"client quotas", 12}, {"SCRAM users", 9}, {"ACL resources", 57}},
		Records: []Count{{"TopicRecord", 1204}, {"PartitionRecord", 36120}, {"ConfigRecord", 2214}, {"ClientQuotaRecord", 14},
			{"UserScramCredentialRecord", 9}, {"AccessControlEntryRecord", 131}, {"ProducerIdsRecord", 1}, {"DelegationTokenRecord", 2}, {"FeatureLevelRecord", 1}},
		Skipped:  []Skip{{What: "topics pending deletion", Count: 2, Reason: "Kafka's migration skips them (KAFKA-15605)"}},
		Estimate: 42 * time.Second,
	}
	for i := 0; i < 40; i++ {
		p.Preview = append(p.Preview, fmt.Sprintf(`PartitionRecord {"partitionId":%d,"topicId":"b1mS3RX2QJeCq9V5ae6m3A","replicas":[1,2,3],"isr":[1,2,3],"leader":%d,"leaderEpoch":4}`, i, i%3+1))
	}
	p.Preview = append([]string{
		`TopicRecord {"name":"orders","topicId":"b1mS3RX2QJeCq9V5ae6m3A"}`,
		`UserScramCredentialRecord {"name":"alice","mechanism":1,"salt":"(redacted)","storedKey":"(redacted)","serverKey":"(redacted)","iterations":8192}`,
	}, p.Preview...)
	return p
}

func (f *fakeDriver) Copy(ctx context.Context, p progress.Func) error {
	f.called("copy")
	for _, ph := range fakeCopyEvents() {
		p(ph)
	}
	return nil
}

func fakeCopyEvents() []progress.Event {
	return []progress.Event{
		{Phase: "snapshot", Unit: "znodes", Done: 20000, Total: 40000, Rate: 9800, Elapsed: 2 * time.Second, ETA: 2 * time.Second, Step: "partitions"},
		{Phase: "snapshot", Unit: "znodes", Done: 40215, Total: 40215, Rate: 9900, Elapsed: 4060 * time.Millisecond, Final: true},
		{Phase: "translate", Unit: "records", Done: 39696, Total: 39696, Rate: 410000, Elapsed: 97 * time.Millisecond, Final: true},
		{Phase: "copy", Unit: "records", Done: 12000, Total: 39696, Rate: 24000, Elapsed: 500 * time.Millisecond, ETA: 1150 * time.Millisecond, Step: "PartitionRecord"},
	}
}

func (f *fakeDriver) Mirror(ctx context.Context, sample func(MirrorStats)) error {
	f.called("mirror")
	go func() {
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
			sample(fakeSample(i))
		}
	}()
	return nil
}

func fakeSample(i int) MirrorStats {
	cps := float64((i*37)%50 + 10*(i%7))
	return MirrorStats{LagKnown: true, Applied: int64(i * 11), LagRecords: int64(i % 3), LagP50: 12 * time.Millisecond, LagP99: 48 * time.Millisecond,
		ChangesPerSec: cps, Backlog: int64(i % 4), Reconnects: i / 50}
}

func (f *fakeDriver) Verify(ctx context.Context, p progress.Func) (Verification, error) {
	f.called("verify")
	f.mu.Lock()
	f.verifyCalls++
	n := f.verifyCalls
	f.mu.Unlock()
	p(progress.Event{Phase: "verify", Unit: "objects", Done: 100, Total: 200, Rate: 1000})
	if f.parityAfter > 0 && n >= f.parityAfter {
		return fakeVerification(true), nil
	}
	return fakeVerification(false), nil
}

func fakeVerification(parity bool) Verification {
	v := Verification{Parity: parity, Compared: 39696, Digests: []Digest{
		{"topics", 1204, "9c1e4f0a77d2b3c4", "9c1e4f0a77d2b3c4"},
		{"partitions", 36120, "03ab77e1c90f2d11", "03ab77e1c90f2d11"},
		{"configs", 2214, "5f5e0d7c1a2b3c4d", "5f5e0d7c1a2b3c4d"},
		{"quotas", 12, "aa01bb02cc03dd04", "aa01bb02cc03dd04"},
		{"scram", 9, "e3b0c44298fc1c14", "e3b0c44298fc1c14"},
		{"acls", 131, "77aa88bb99cc00dd", "77aa88bb99cc00dd"},
		{"producer-ids", 1, "0000000000001000", "0000000000001000"},
	}}
	if !parity {
		v.Digests[1].Quorum = "03ab77e1c90f2d12"
		v.Digests[2].Quorum = "5f5e0d7c1a2b3c4e"
		v.Differences = []Difference{
			{Kind: "partition", Object: "orders-7", Field: "isr", ZK: "[1,2,3]", Quorum: "[1,2]"},
			{Kind: "partition", Object: "payments-0", Field: "leaderEpoch", ZK: "12", Quorum: "11", InFlight: true},
			{Kind: "config", Object: "topic orders", Field: "retention.ms", ZK: "604800000", Quorum: "(missing)"},
		}
		v.Note = "1 difference is in flight: the mirror has not reached ZooKeeper zxid 0x1000004d9 yet"
	}
	return v
}

func (f *fakeDriver) Cutover(ctx context.Context, confirm string) (Cutover, error) {
	f.called("cutover")
	if confirm != fakeClusterID {
		return Cutover{}, errors.New("confirmation does not match")
	}
	f.mu.Lock()
	f.confirmed = confirm
	f.mu.Unlock()
	return Cutover{ControllerEpoch: 43, Report: []string{
		"Point the brokers at the new controllers: controller.quorum.bootstrap.servers=127.0.0.1:9190,127.0.0.1:9191,127.0.0.1:9192",
		"Phases: check 0.2s, snapshot 4.1s, translate 0.1s, copy 1.7s, mirroring 3m12s, verified 2.3s, cutover 0.4s",
	}}, nil
}

func (f *fakeDriver) Abort(ctx context.Context) error {
	f.called("abort")
	f.mu.Lock()
	f.aborted = true
	f.mu.Unlock()
	return nil
}

func (f *fakeDriver) ResumeCommand() string {
	return "zk2kraft migrate --zk 127.0.0.1:2181/kafka --quorum 127.0.0.1:9190"
}
