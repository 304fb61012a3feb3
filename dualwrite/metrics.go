package dualwrite

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zk2kraft/zk2kraft/metrics"
)

// mirrorMetrics are the mirror's own Prometheus metrics, registered on the
// process's registry next to zk2kraft_mirror_lag_records/_seconds (which
// metrics.Metrics owns). Without a registry they count into nothing.
type mirrorMetrics struct {
	seen, applied, reconnects, expired prometheus.Counter
	lag                                prometheus.Histogram
	position                           prometheus.Gauge
}

func newMirrorMetrics(m *metrics.Metrics) *mirrorMetrics {
	mm := &mirrorMetrics{
		seen: prometheus.NewCounter(prometheus.CounterOpts{Name: "zk2kraft_mirror_changes_seen_total",
			Help: "ZooKeeper watch events the mirror received."}),
		applied: prometheus.NewCounter(prometheus.CounterOpts{Name: "zk2kraft_mirror_changes_applied_total",
			Help: "Object changes the mirror committed to the quorum."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "zk2kraft_mirror_reconnects_total",
			Help: "Times the mirror's ZooKeeper session moved to a server again after a disconnect."}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{Name: "zk2kraft_mirror_session_expirations_total",
			Help: "Times the mirror's ZooKeeper session expired (each is followed by a full re-read)."}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "zk2kraft_mirror_change_lag_seconds",
			Help:    "Time from a ZooKeeper write (the znode's mtime) to the quorum commit of its records.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		position: prometheus.NewGauge(prometheus.GaugeOpts{Name: "zk2kraft_mirror_position_zxid",
			Help: "Highest ZooKeeper zxid whose changes are all committed to the quorum."}),
	}
	if m == nil {
		return mm
	}
	reg := func(c prometheus.Collector) prometheus.Collector {
		if err := m.Registry.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return are.ExistingCollector
			}
		}
		return c
	}
	mm.seen = reg(mm.seen).(prometheus.Counter)
	mm.applied = reg(mm.applied).(prometheus.Counter)
	mm.reconnects = reg(mm.reconnects).(prometheus.Counter)
	mm.expired = reg(mm.expired).(prometheus.Counter)
	mm.lag = reg(mm.lag).(prometheus.Histogram)
	mm.position = reg(mm.position).(prometheus.Gauge)
	return mm
}
