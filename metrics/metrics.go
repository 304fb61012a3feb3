// Package metrics holds zk2kraft's Prometheus metrics (named as operators.md
// E.3 suggests: prefix zk2kraft_, base units, counters ending _total, no
// per-topic labels) and a small HTTP server for --metrics-addr.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zk2kraft/zk2kraft/progress"
)

// Phases are the migration's phases in order, the values of the phase label.
// Like Kafka's ZkMigrationState, exactly one of them is 1 at a time.
var Phases = []string{"none", "check", "snapshot", "translate", "copy", "mirroring", "verified", "cutover", "aborted"}

// RecordTypes are the allowed values of records_written_total's type label
// (KRaft metadata record types); anything else is counted as "other", so a
// caller can never create a high-cardinality label by mistake.
var RecordTypes = []string{
	"TopicRecord", "PartitionRecord", "ConfigRecord", "ClientQuotaRecord", "UserScramCredentialRecord",
	"AccessControlEntryRecord", "ProducerIdsRecord", "FeatureLevelRecord", "RegisterBrokerRecord",
	"DelegationTokenRecord", "ZkMigrationStateRecord", "other",
}

// Metrics is one process's set of zk2kraft metrics, on its own registry.
type Metrics struct {
	Registry             *prometheus.Registry
	Phase                *prometheus.GaugeVec
	ZnodesRead           prometheus.Counter
	RecordsWritten       *prometheus.CounterVec
	MirrorLagRecords     prometheus.Gauge
	MirrorLagSeconds     prometheus.Gauge
	ParityMismatches     prometheus.Gauge
	QuorumCommitDuration prometheus.Histogram

	mu        sync.Mutex
	lastDone  map[string]int64 // progress Done per phase/step, to turn events into counter deltas
	knownType map[string]bool
}

// New registers every metric, with zk2kraft_build_info{version,commit,goversion} = 1
// and the phase gauge at "none".
func New(version, commit string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zk2kraft_phase",
			Help: "Current migration phase (1 for the current phase, 0 for the others), like Kafka's ZkMigrationState.",
		}, []string{"phase"}),
		ZnodesRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zk2kraft_znodes_read_total", Help: "Znodes read from ZooKeeper.",
		}),
		RecordsWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zk2kraft_records_written_total", Help: "Metadata records committed to the quorum, by record type.",
		}, []string{"type"}),
		MirrorLagRecords: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zk2kraft_mirror_lag_records", Help: "ZooKeeper changes seen but not yet committed to the quorum by the mirror.",
		}),
		MirrorLagSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zk2kraft_mirror_lag_seconds", Help: "Age of the oldest ZooKeeper change not yet committed to the quorum.",
		}),
		ParityMismatches: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zk2kraft_parity_mismatches", Help: "Differences between ZooKeeper and the quorum found by the last verification (in-flight changes excluded).",
		}),
		QuorumCommitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "zk2kraft_quorum_commit_duration_seconds", Help: "Time from sending a batch to the quorum until it is committed.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		lastDone:  map[string]int64{},
		knownType: map[string]bool{},
	}
	for _, t := range RecordTypes {
		m.knownType[t] = true
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "zk2kraft_build_info", Help: "Build information (always 1).",
	}, []string{"version", "commit", "goversion"})
	buildInfo.WithLabelValues(version, commit, runtime.Version()).Set(1)
	reg.MustRegister(m.Phase, m.ZnodesRead, m.RecordsWritten, m.MirrorLagRecords, m.MirrorLagSeconds,
		m.ParityMismatches, m.QuorumCommitDuration, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.SetPhase("none")
	return m
}

// SetPhase makes phase the current one. An unknown phase name is an error
// (it would add a label value outside Phases).
func (m *Metrics) SetPhase(phase string) error {
	known := false
	for _, p := range Phases {
		if p == phase {
			known = true
		}
	}
	if !known {
		return fmt.Errorf("metrics: unknown phase %q (want one of %v)", phase, Phases)
	}
	for _, p := range Phases {
		v := 0.0
		if p == phase {
			v = 1
		}
		m.Phase.WithLabelValues(p).Set(v)
	}
	return nil
}

// AddRecords counts n records of a type written to the quorum.
func (m *Metrics) AddRecords(recordType string, n int) {
	if !m.knownType[recordType] {
		recordType = "other"
	}
	m.RecordsWritten.WithLabelValues(recordType).Add(float64(n))
}

// SetMirrorLag records the mirror's lag.
func (m *Metrics) SetMirrorLag(records int64, age time.Duration) {
	m.MirrorLagRecords.Set(float64(records))
	m.MirrorLagSeconds.Set(age.Seconds())
}

// ObserveCommit records one quorum commit's duration.
func (m *Metrics) ObserveCommit(d time.Duration) { m.QuorumCommitDuration.Observe(d.Seconds()) }

// Progress is a progress.Func that feeds the counters from progress events:
// events counting "znodes" add to znodes_read_total, events of the copy phase
// counting "records" add to records_written_total (type from the event's
// Step when it names a record type, else "other"). It turns the events'
// running Done counts into deltas, per phase and step.
func (m *Metrics) Progress(ev progress.Event) {
	if m == nil {
		return
	}
	key := ev.Phase + "\x00" + ev.Step + "\x00" + ev.Unit
	m.mu.Lock()
	delta := ev.Done - m.lastDone[key]
	if delta < 0 { // a new run of the same phase started from zero
		delta = ev.Done
	}
	m.lastDone[key] = ev.Done
	if ev.Final {
		delete(m.lastDone, key)
	}
	m.mu.Unlock()
	if delta == 0 {
		return
	}
	switch {
	case ev.Unit == "znodes":
		m.ZnodesRead.Add(float64(delta))
	case ev.Unit == "records" && ev.Phase == "copy":
		m.AddRecords(ev.Step, int(delta))
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Server is a running metrics endpoint.
type Server struct {
	Addr string // the address it listens on (the real port when :0 was asked)
	srv  *http.Server
	done chan error
}

// Serve listens on addr and serves /metrics until ctx ends or Close.
func Serve(ctx context.Context, addr string, m *Metrics) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "zk2kraft metrics: /metrics")
	})
	s := &Server{Addr: ln.Addr().String(), done: make(chan error, 1),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
