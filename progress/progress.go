// Package progress carries the progress events every long step emits (counts,
// rate, ETA), so the CLI, the TUI, logs and metrics render the same figures.
package progress

import (
	"sync"
	"time"
)

// Event is one progress report of one phase of the migration.
type Event struct {
	Phase   string        // e.g. "snapshot", "translate", "copy", "mirror", "verify"
	Step    string        // a finer step inside the phase, e.g. "topics" (optional)
	Unit    string        // what Done/Total count, e.g. "znodes", "records"
	Done    int64         // units completed so far
	Total   int64         // expected units, 0 when unknown
	Rate    float64       // units per second since the phase started
	Limit   float64       // units per second the step holds to (a rate limit), 0 if none
	Elapsed time.Duration // since the phase started
	ETA     time.Duration // estimated time left, 0 when unknown
	Final   bool          // the last event of the phase
}

// Func receives progress events. It must be quick and safe for concurrent use.
type Func func(Event)

// Nop discards events.
func Nop(Event) {}

// Tracker turns counts into events with rate and ETA, throttled to at most one
// event per interval (plus the final one).
type Tracker struct {
	mu       sync.Mutex
	emit     Func
	ev       Event
	start    time.Time
	last     time.Time
	interval time.Duration
	now      func() time.Time
}

// NewTracker starts tracking a phase. emit may be nil.
func NewTracker(emit Func, phase, unit string, total int64) *Tracker {
	if emit == nil {
		emit = Nop
	}
	t := &Tracker{emit: emit, interval: 100 * time.Millisecond, now: time.Now}
	t.start = t.now()
	t.ev = Event{Phase: phase, Unit: unit, Total: total}
	return t
}

// SetLimit records the rate limit the step holds to, for display.
func (t *Tracker) SetLimit(perSecond float64) {
	t.mu.Lock()
	t.ev.Limit = perSecond
	t.mu.Unlock()
}

// SetTotal updates the expected total (e.g. once a listing is known).
func (t *Tracker) SetTotal(total int64) {
	t.mu.Lock()
	t.ev.Total = total
	t.mu.Unlock()
}

// SetStep names the current step.
func (t *Tracker) SetStep(step string) {
	t.mu.Lock()
	t.ev.Step = step
	t.mu.Unlock()
}

// Add counts n more units done and emits an event if the interval has passed.
func (t *Tracker) Add(n int64) {
	t.mu.Lock()
	t.ev.Done += n
	now := t.now()
	if now.Sub(t.last) < t.interval {
		t.mu.Unlock()
		return
	}
	t.last = now
	ev := t.fill(now)
	t.mu.Unlock()
	t.emit(ev)
}

// Done returns the count so far.
func (t *Tracker) Done() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ev.Done
}

// Finish emits the final event of the phase and returns it.
func (t *Tracker) Finish() Event {
	t.mu.Lock()
	ev := t.fill(t.now())
	ev.Final = true
	ev.ETA = 0
	t.mu.Unlock()
	t.emit(ev)
	return ev
}

func (t *Tracker) fill(now time.Time) Event {
	ev := t.ev
	ev.Elapsed = now.Sub(t.start)
	if s := ev.Elapsed.Seconds(); s > 0 {
		ev.Rate = float64(ev.Done) / s
	}
	if ev.Total > ev.Done && ev.Rate > 0 {
		ev.ETA = time.Duration(float64(ev.Total-ev.Done) / ev.Rate * float64(time.Second))
	}
	return ev
}
