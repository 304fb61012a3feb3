package tui

import (
	"context"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/zk2kraft/zk2kraft/progress"
)

// The commands below are the only places the wizard does I/O: each calls the
// Driver and turns the result into a message.

func connectCmd(ctx context.Context, d Driver, s Settings) tea.Cmd {
	return func() tea.Msg {
		c, err := d.Connect(ctx, s)
		return connectedMsg{c, err}
	}
}

func checkCmd(ctx context.Context, d Driver) tea.Cmd {
	return stream(func(send, trySend func(tea.Msg)) {
		r, err := d.Check(ctx, func(ev progress.Event) { trySend(busyProgressMsg{ev}) })
		send(checkedMsg{r, err})
	})
}

func planCmd(ctx context.Context, d Driver) tea.Cmd {
	return stream(func(send, trySend func(tea.Msg)) {
		p, err := d.Plan(ctx, func(ev progress.Event) { trySend(busyProgressMsg{ev}) })
		send(plannedMsg{p, err})
	})
}

func copyCmd(ctx context.Context, d Driver) tea.Cmd {
	return stream(func(send func(tea.Msg), trySend func(tea.Msg)) {
		err := d.Copy(ctx, func(ev progress.Event) {
			if ev.Final {
				send(progressMsg{ev})
			} else {
				trySend(progressMsg{ev})
			}
		})
		send(copyDoneMsg{err})
	})
}

func mirrorCmd(ctx context.Context, d Driver) tea.Cmd {
	return stream(func(send func(tea.Msg), trySend func(tea.Msg)) {
		err := d.Mirror(ctx, func(s MirrorStats) {
			trySend(mirrorSampleMsg{s})
		})
		send(mirrorStartMsg{err})
		if err != nil {
			return
		}
		<-ctx.Done() // keep the stream open: samples keep coming while mirroring
	})
}

func verifyCmd(ctx context.Context, d Driver) tea.Cmd {
	return stream(func(send func(tea.Msg), trySend func(tea.Msg)) {
		v, err := d.Verify(ctx, func(ev progress.Event) { trySend(progressMsg{ev}) })
		send(verifiedMsg{v, err})
	})
}

func cutoverCmd(ctx context.Context, d Driver, confirm string) tea.Cmd {
	return func() tea.Msg {
		c, err := d.Cutover(ctx, confirm)
		return cutoverMsg{c, err}
	}
}

func abortCmd(ctx context.Context, d Driver) tea.Cmd {
	return func() tea.Msg { return abortedMsg{d.Abort(ctx)} }
}

// streamEnd marks the end of a stream.
type streamEnd struct{}

// stream runs fn in a goroutine; the messages it sends arrive in Update one at
// a time (as streamMsg, which Update unwraps). send blocks; trySend drops the
// message when the wizard is behind (progress samples: the next one carries
// the same information). The channel is never closed: a driver callback may
// still call trySend after fn returned, and that must not panic.
func stream(fn func(send, trySend func(tea.Msg))) tea.Cmd {
	return func() tea.Msg {
		ch := make(chan tea.Msg, 256)
		go func() {
			fn(func(m tea.Msg) { ch <- m }, func(m tea.Msg) {
				select {
				case ch <- m:
				default:
				}
			})
			ch <- streamEnd{}
		}()
		return nextFrom(ch)()
	}
}

// nextFrom waits for the stream's next message.
func nextFrom(ch chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		m := <-ch
		if _, end := m.(streamEnd); end {
			return nil
		}
		return streamMsg{ch, m}
	}
}
