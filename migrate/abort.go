package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/zk2kraft/zk2kraft/quorum/client"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// AbortOptions of Abort.
type AbortOptions struct {
	ZK     zkreader.Options
	Quorum *client.Client
	// Wipe removes the quorum's data (e.g. stops the nodes and deletes
	// their data dirs). Nil: the quorum is only marked aborted and the
	// report says to wipe it.
	Wipe   func(ctx context.Context) error
	Logger *slog.Logger
}

// AbortReport says what abort found and did.
type AbortReport struct {
	StateBefore string          `json:"state_before"`
	ZKBefore    *ZKControlState `json:"zk_before,omitempty"`
	ZKNow       *ZKControlState `json:"zk_now"`
	// ZKUntouched: the migration wrote nothing in ZooKeeper (it writes only
	// at the cutover), and /controller, /controller_epoch and /migration
	// are as they were, or changed by Kafka itself (not by zk2kraft).
	ZKUntouched bool     `json:"zk_untouched"`
	ZKChanges   []string `json:"zk_changes,omitempty"`
	QuorumWiped bool     `json:"quorum_wiped"`
	NextSteps   []string `json:"next_steps,omitempty"`
}

// Abort undoes a migration before its cutover: it refuses once the cutover
// has started (the point of no return), checks that ZooKeeper's controller
// znodes are not the migration's, marks the quorum aborted (so no migrate
// run continues into it) and wipes it with o.Wipe.
func Abort(ctx context.Context, o AbortOptions) (*AbortReport, error) {
	if o.Quorum == nil {
		return nil, errors.New("abort: no quorum client")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	st, err := LoadState(ctx, o.Quorum)
	if err != nil {
		return nil, fmt.Errorf("abort: read the quorum's state: %w", err)
	}
	rep := &AbortReport{StateBefore: st.State, ZKBefore: st.ZKBefore}
	switch st.State {
	case StateCutoverStarted, StateCutover:
		return rep, fmt.Errorf("abort: %w: ZooKeeper's controller role was claimed by the quorum (state %s); a rollback now is Kafka's manual procedure, not an abort", ErrPastNoReturn, st.State)
	}
	now, err := ReadControlState(ctx, o.ZK)
	if err != nil {
		return rep, fmt.Errorf("abort: %w", err)
	}
	rep.ZKNow = now
	rep.ZKUntouched = true
	if now.Controller.Exists && now.Controller.EphemeralOwner == 0 && isKRaftController(now.Controller.Data) {
		// A persistent KRaft /controller: someone claimed the role. Not
		// zk2kraft before its cutover — but a ZooKeeper controller cannot
		// take over while it exists (operators.md #15).
		rep.ZKUntouched = false
		rep.ZKChanges = append(rep.ZKChanges, "/controller is held by a KRaft controller ("+now.Controller.Data+"): delete it (rmr /controller) so a ZooKeeper-mode controller can be elected")
	}
	if b := st.ZKBefore; b != nil {
		if b.ControllerEpoch.Exists && now.ControllerEpoch.Version != b.ControllerEpoch.Version {
			rep.ZKChanges = append(rep.ZKChanges, fmt.Sprintf("/controller_epoch moved from %s (version %d) to %s (version %d): a ZooKeeper-mode controller election, not zk2kraft",
				b.ControllerEpoch.Data, b.ControllerEpoch.Version, now.ControllerEpoch.Data, now.ControllerEpoch.Version))
		}
		if !b.Migration.Exists && now.Migration.Exists {
			rep.ZKUntouched = false
			rep.ZKChanges = append(rep.ZKChanges, "/migration was created after the migration started (not by zk2kraft, which writes it only at the cutover): delete it before a retry (operators.md #3)")
		}
	}
	_, err = o.Quorum.Append(ctx, nil, map[string]string{KeyState: StateAborted}, client.AppendOptions{If: map[string]string{KeyState: st.State}})
	if err != nil {
		return rep, fmt.Errorf("abort: mark the quorum aborted: %w", err)
	}
	o.Logger.Warn("abort: the quorum is marked aborted", "state_before", st.State)
	if o.Wipe != nil {
		if err := o.Wipe(ctx); err != nil {
			return rep, fmt.Errorf("abort: wipe the quorum: %w", err)
		}
		rep.QuorumWiped = true
	} else {
		rep.NextSteps = append(rep.NextSteps, "stop every quorum node and delete its data dir; bootstrap a fresh quorum (with ZooKeeper's /cluster/id) before migrating again")
	}
	rep.NextSteps = append(rep.NextSteps, "ZooKeeper needs nothing: the Kafka cluster keeps running on its ZooKeeper-mode controller")
	return rep, nil
}

func isKRaftController(data string) bool {
	c, _ := zkreader.ParseController("/controller", []byte(data), zkreader.Stat{})
	return c != nil && c.IsKRaft()
}
