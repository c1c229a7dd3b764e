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
	took      time.Duration // how long the sample took, the server's round trips included
}

// samplingCost is what the samples took, for the debug line.
type samplingCost struct {
	Samples   int
	Total     time.Duration // the samples' wall time, the server's round trips included
	Max       time.Duration
	ServerMax time.Duration // the longest server part of a sample
}

// watcher is the state of the watch goroutine alone.
type watcher struct {
	d        *Drain
	deadline time.Time
	mon      *pgconn.Monitor
	check    *pgconn.SelfCheckResult
	fatal    error // a server error that will not go away: no more tries
	ports    []uint16
	track    txTracker
	ends     *endFinder
	idle     map[sessionKey]time.Time // see watchState.idleSince
	serverAt time.Duration            // the server part of the latest sample
}

// watch samples every SampleEvery until ctx ends, or, once the tree is
// down, until nothing of ours is left.
func (d *Drain) watch(ctx context.Context) {
	defer close(d.done)
	defer redact.ScrubPanics(d.cfg.DSN) // runs first: it exits before done releases the verdict
	deadline, _ := ctx.Deadline()
	w := &watcher{d: d, deadline: deadline, ends: newEndFinder(d.eps), idle: make(map[sessionKey]time.Time)}
	defer w.closeMonitor()
	tick := time.NewTicker(d.cfg.SampleEvery)
	defer tick.Stop()
	treeDown := d.treeDown
	for {
		final := treeDown == nil || isClosed(treeDown)
		s := w.sample(ctx, final)
		if d.record(s, final, w) && final {
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

// sample looks at the local view and at the server, and follows our
// sessions: who holds their client ends, which ended in a transaction,
// which stay idle once the tree is down (final). The server comes first
// when the tag is ours alone (a worker that dies just after the stop is
// caught sooner); a tag the user chose needs the local view's ports first.
func (w *watcher) sample(ctx context.Context, final bool) drainSample {
	s := drainSample{at: time.Now()}
	var tree []sockview.ProcSockets
	treeRead := false
	readTree := func() []sockview.ProcSockets {
		if !treeRead && w.d.cfg.Tree != nil {
			tree, treeRead = w.d.cfg.Tree(), true
		}
		return tree
	}
	local := func() {
		if w.d.local && w.d.cfg.Tree != nil {
			s.holders, s.localErr = w.d.holdersOf(readTree())
			w.notePorts(s.holders)
		}
	}
	if !w.d.cfg.TagInjected {
		local()
	}
	if w.d.server {
		began := time.Now()
		s.sessions, s.serverErr = w.sessions(ctx)
		s.serverOK = s.serverErr == nil
		if s.serverOK {
			w.follow(ctx, s, final)
		}
		w.serverAt = time.Since(began)
	}
	if w.d.cfg.TagInjected {
		local()
	}
	if s.serverOK {
		w.ends.lookup(s.sessions, readTree())
	}
	s.took = time.Since(s.at)
	return s
}

// follow tracks the sessions of an answer: the transactions of those that
// ended are asked about at once (the session's xid is all there is to ask
// with), and after the tree is down, idle sessions are timed.
func (w *watcher) follow(ctx context.Context, s drainSample, final bool) {
	w.track.observe(s.sessions, s.at)
	if err := w.track.resolve(ctx, w.mon); err != nil && pgconn.Transient(err) {
		w.closeMonitor() // the next sample opens a new one
	}
	if !final {
		return
	}
	seen := make(map[sessionKey]bool, len(s.sessions))
	for _, ss := range s.sessions {
		k := keyOf(ss)
		seen[k] = true
		if !idleState(ss.State) {
			delete(w.idle, k)
		} else if _, ok := w.idle[k]; !ok {
			w.idle[k] = s.at
		}
	}
	for k := range w.idle {
		if !seen[k] {
			delete(w.idle, k)
		}
	}
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
