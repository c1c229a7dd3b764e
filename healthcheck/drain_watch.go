package healthcheck

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/redact"
	"github.com/lastcall-dev/lastcall/internal/sockview"
)

// drainSample is one look at the views the mode uses.
type drainSample struct {
	at        time.Time        // when the sample began; zero: no sample
	sessions  []pgconn.Session // the server view: our sessions
	serverOK  bool             // the server answered
	serverErr error
	holders   []sockview.Holder // the local view: sockets of lastcall's tree
	localErr  error
}

// watchState is what the watcher has seen so far, guarded by Drain.mu.
type watchState struct {
	last     drainSample // the latest sample
	lastOK   drainSample // the latest sample the server answered
	seen     int         // our sessions in the first answer before the exit; -1: none
	answered bool        // the server answered at least once
	check    *pgconn.SelfCheckResult
	lastErr  error        // the latest server error
	final    *drainSample // the latest sample begun after the tree was down
	finalOK  *drainSample // the latest such sample the server answered
}

// watcher is the state of the watch goroutine alone.
type watcher struct {
	d        *Drain
	deadline time.Time
	mon      *pgconn.Monitor
	check    *pgconn.SelfCheckResult
	fatal    error // a server error that will not go away: no more tries
	ports    []uint16
}

// watch samples every SampleEvery until ctx ends, or, once the tree is
// down, until nothing of ours is left.
func (d *Drain) watch(ctx context.Context) {
	defer close(d.done)
	defer redact.ScrubPanics(d.cfg.DSN) // runs first: it exits before done releases the verdict
	deadline, _ := ctx.Deadline()
	w := &watcher{d: d, deadline: deadline}
	defer w.closeMonitor()
	tick := time.NewTicker(d.cfg.SampleEvery)
	defer tick.Stop()
	treeDown := d.treeDown
	for {
		final := treeDown == nil || isClosed(treeDown)
		s := w.sample(ctx)
		if d.record(s, final, w.check) && final {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-treeDown:
			treeDown = nil // poll at once, then on the ticker
		case <-tick.C:
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// sample looks at the local view, then (with its ports) at the server.
func (w *watcher) sample(ctx context.Context) drainSample {
	s := drainSample{at: time.Now()}
	if w.d.local && w.d.cfg.Tree != nil {
		s.holders, s.localErr = w.d.holdersOf(w.d.cfg.Tree())
		w.notePorts(s.holders)
	}
	if w.d.server {
		s.sessions, s.serverErr = w.sessions(ctx)
		s.serverOK = s.serverErr == nil
	}
	return s
}

// sessions lists our sessions, opening the monitor session first when
// there is none.
func (w *watcher) sessions(ctx context.Context) ([]pgconn.Session, error) {
	if w.fatal != nil {
		return nil, w.fatal
	}
	if w.mon == nil {
		if err := w.open(ctx); err != nil {
			return nil, w.fail(err)
		}
	}
	var ports []uint16
	if !w.d.cfg.TagInjected {
		ports = w.ports // a tag replicas may share: only our tree's ports
	}
	ss, err := w.mon.Sessions(ctx, w.d.cfg.Tag, ports)
	if err != nil {
		w.closeMonitor()
		return nil, w.fail(err)
	}
	return ss, nil
}

// open opens the monitor session and runs the self-check.
func (w *watcher) open(ctx context.Context) error {
	m, err := pgconn.OpenMonitor(ctx, w.d.cfg.DSN, w.deadline)
	if err != nil {
		return err
	}
	m.Query = w.d.cfg.ShowQuery
	res, err := m.SelfCheck(ctx)
	if err != nil {
		_ = m.Close()
		return err
	}
	w.mon, w.check = m, &res
	return nil
}

// fail remembers an error that trying again will not cure (a wrong
// password, a missing database, the end of the check).
func (w *watcher) fail(err error) error {
	if !pgconn.Transient(err) {
		w.fatal = err
	}
	return err
}

func (w *watcher) closeMonitor() {
	if w.mon != nil {
		_ = w.mon.Close()
		w.mon = nil
	}
}

// notePorts adds the local ports of TCP holders to the ports of our tree.
func (w *watcher) notePorts(holders []sockview.Holder) {
	for _, h := range holders {
		ap, err := netip.ParseAddrPort(h.Local)
		if h.Network == "tcp" && err == nil && !slices.Contains(w.ports, ap.Port()) {
			w.ports = append(w.ports, ap.Port())
		}
	}
}

// record keeps s and reports whether nothing of ours is left in it (or
// nothing more can be learnt: the server view was given up).
func (d *Drain) record(s drainSample, final bool, check *pgconn.SelfCheckResult) (clean bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := &d.w
	w.last, w.check = s, check
	if s.serverOK {
		w.lastOK = s
		if !w.answered && d.exit == nil {
			w.seen = len(s.sessions)
		}
		w.answered = true
	} else if s.serverErr != nil {
		w.lastErr = s.serverErr
	}
	if final {
		w.final = &s
		if s.serverOK {
			w.finalOK = &s
		}
	}
	return d.cleanLocked(s)
}

// cleanLocked reports whether the watch can end once the tree is down: the
// local view holds nothing, and the server shows none of our sessions, or
// its view is advisory (the local view decides), or it was given up.
func (d *Drain) cleanLocked(s drainSample) bool {
	localClean := s.localErr == nil && len(s.holders) == 0
	if d.local && !localClean {
		return false
	}
	if !d.server {
		return true
	}
	switch {
	case s.serverOK && len(s.sessions) == 0:
		return true
	case s.serverOK && d.local && d.epsErr == nil && d.advisoryLocked():
		return true
	case s.serverErr != nil && !pgconn.Transient(s.serverErr):
		return true
	}
	return false
}

// advisoryLocked reports whether the server view cannot decide: the tag is
// the user's, or the self-check did not pass (a proxy, NAT, a unix socket).
func (d *Drain) advisoryLocked() bool {
	return !d.cfg.TagInjected || d.w.check == nil || !d.w.check.Direct
}
