package testenv

import (
	"context"
	"fmt"
	"time"
)

// faultTimeout bounds one fault operation.
const faultTimeout = 90 * time.Second

// Stop stops node i cleanly (SIGTERM / docker stop). Its data dir stays.
func (e *Env) Stop(i int) error {
	if err := e.checkNode(i); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	defer cancel()
	if err := e.backend.stopNode(ctx, i, false); err != nil {
		return fmt.Errorf("testenv: stop node %d: %w", i, err)
	}
	e.opts.Logf("testenv: node %d stopped", i)
	return nil
}

// Kill kills node i with SIGKILL (a crash).
func (e *Env) Kill(i int) error {
	if err := e.checkNode(i); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	defer cancel()
	if err := e.backend.stopNode(ctx, i, true); err != nil {
		return fmt.Errorf("testenv: kill node %d: %w", i, err)
	}
	e.opts.Logf("testenv: node %d killed", i)
	return nil
}

// Start (re)starts a stopped or killed node i with its data dir and waits
// until it serves again (unless it is partitioned: then it cannot).
func (e *Env) Start(i int) error {
	if err := e.checkNode(i); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	defer cancel()
	if err := e.backend.startNode(ctx, i); err != nil {
		return fmt.Errorf("testenv: start node %d: %w", i, err)
	}
	e.mu.Lock()
	cut := e.partitioned[i]
	e.mu.Unlock()
	if !cut {
		if err := e.waitServing(ctx, []int{i}, 60*time.Second); err != nil {
			return fmt.Errorf("testenv: start node %d: %w%s", i, err, e.logTails())
		}
	}
	e.opts.Logf("testenv: node %d started", i)
	return nil
}

// Partition cuts node i off from every other node (its peers cannot reach
// it and it cannot reach them). The majority elects a leader among itself
// within syncLimit×tickTime (5 s); node i stops serving.
func (e *Env) Partition(i int) error {
	if err := e.checkNode(i); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	defer cancel()
	if err := e.backend.partition(ctx, i); err != nil {
		return fmt.Errorf("testenv: partition node %d: %w", i, err)
	}
	e.mu.Lock()
	e.partitioned[i] = true
	e.mu.Unlock()
	e.opts.Logf("testenv: node %d partitioned", i)
	return nil
}

// Heal reconnects a partitioned node i. Use WaitServing to wait until it
// serves again.
func (e *Env) Heal(i int) error {
	if err := e.checkNode(i); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	defer cancel()
	if err := e.backend.heal(ctx, i); err != nil {
		return fmt.Errorf("testenv: heal node %d: %w", i, err)
	}
	e.mu.Lock()
	delete(e.partitioned, i)
	e.mu.Unlock()
	e.opts.Logf("testenv: node %d healed", i)
	return nil
}
