package migrate

import (
	"context"
	"fmt"
	"time"

	"github.com/zk2kraft/zk2kraft/dualwrite"
)

// DualWrite returns a MirrorStarter that runs package dualwrite's mirror
// from the snapshot's zxid and returns once the mirror has walked the tree
// and committed everything up to that zxid (at most catchUp; 0: 2 minutes).
// o.FromZxid is set by the starter, and every append of the mirror is
// conditioned on the migration not being cut over (a mirror left running
// elsewhere stops at the cutover instead of writing into a finished log).
func DualWrite(o dualwrite.Options, catchUp time.Duration) MirrorStarter {
	if catchUp <= 0 {
		catchUp = 2 * time.Minute
	}
	return func(ctx context.Context, snapshotZxid int64) (Mirror, error) {
		o := o
		o.FromZxid = snapshotZxid
		cond := map[string]string{KeyCutover: ""}
		for k, v := range o.If {
			cond[k] = v
		}
		o.If = cond
		r, err := dualwrite.Start(ctx, o)
		if err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, catchUp)
		defer cancel()
		if err := r.Mirror().WaitCaughtUp(wctx, snapshotZxid); err != nil {
			r.Close()
			return nil, fmt.Errorf("the mirror did not catch up: %w", err)
		}
		return r, nil
	}
}

// mirrorStats returns the dual-write's figures when the mirror is package
// dualwrite's.
func mirrorStats(m Mirror) *dualwrite.Stats {
	if r, ok := m.(interface{ Mirror() *dualwrite.Mirror }); ok {
		s := r.Mirror().Stats()
		return &s
	}
	return nil
}

// mirrorErr is the error a mirror stopped with, if it stopped.
func mirrorErr(m Mirror) error {
	if r, ok := m.(interface{ Err() error }); ok {
		return r.Err()
	}
	return nil
}
