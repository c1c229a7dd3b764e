package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/sockview"
)

// DefaultSampleEvery is how often the drain check samples our sessions when
// [DrainConfig] names no period.
const DefaultSampleEvery = 100 * time.Millisecond

// DrainConfig says what the drain check watches and for how long.
type DrainConfig struct {
	// DSN is the app's database URL (the monitor connects with it, as the
	// app's role). Never logged: see [Redact].
	DSN string
	// Mode says which views decide: [CheckLocal], [CheckServer] or
	// [CheckBoth].
	Mode CheckMode
	// Tag is the application_name our sessions carry: the PGAPPNAME
	// injected into the child ([pgconn.NewTag], [pgconn.TagEnv]), or the user's own.
	Tag string
	// TagInjected is false when Tag is the user's PGAPPNAME, which replicas
	// may share: the server view is then advisory.
	TagInjected bool
	// Timeout is the hard limit of the whole check, counted from when it
	// starts: StopBegan, or ChildExited when no stop began. Every database
	// step ends by then and Verdict returns by then. The caller sets it to
	// what the stop plan leaves the check (grace, escalation and verdict).
	Timeout time.Duration
	// SampleEvery is the period of the samples; zero means
	// [DefaultSampleEvery].
	SampleEvery time.Duration
	// Tree lists lastcall's descendants and their socket inodes (see
	// [sockview.SocketInodes]), for the local view; the inodes are used as given. It
	// is called from the check's own goroutine, once a sample. nil: only the
	// processes given to ChildExited are looked at.
	Tree func() []sockview.ProcSockets
	// ShowQuery fills in pgconn.Session.Query (the statement text may hold data).
	ShowQuery bool
}

// Drain is one run of the Postgres drain check, driven by the supervisor's
// hooks: [Drain.StopBegan] when a stop begins, [Drain.ChildExited] when the
// child has exited, [Drain.Verdict] once the whole tree is down. The first
// two return at once; only Verdict waits, at most until the check's
// deadline. The methods are safe for concurrent use, but meant for one
// goroutine (the supervisor's loop).
//
// Between the start and the verdict one goroutine watches: it opens one
// monitor session ([pgconn.OpenMonitor], hard deadline = start + Timeout), runs
// [pgconn.Monitor.SelfCheck], and samples the server view and the local view every
// SampleEvery. A monitor session that fails is closed; after a transient
// error the next sample opens a new one, after any other (a wrong password)
// the server view is given up. There is never more than one at a time.
type Drain struct {
	cfg       DrainConfig
	eps       []sockview.Endpoint
	epsErr    error // endpoints that did not resolve: the local view is incomplete
	local     bool  // the mode uses the local view
	server    bool  // the mode uses the server view
	startOnce sync.Once
	downOnce  sync.Once
	treeDown  chan struct{} // closed by Verdict
	done      chan struct{} // closed when the watcher has ended

	mu       sync.Mutex
	cancel   context.CancelFunc
	deadline time.Time // the check's hard deadline, once started
	w        watchState
	exit     *exitRecord
}

// exitRecord is what ChildExited saw.
type exitRecord struct {
	at      time.Time
	holders []sockview.Holder
	snap    sockview.Snapshot // the sockets of the processes alive then, for endpoints learnt later
	err     error             // the local view failed
}

// NewDrain checks cfg and resolves the endpoints of cfg.DSN (at most a few
// seconds of DNS; call it before the child starts). The error is a
// *[pgconn.ConfigError] for a URL lib/pq rejects, [pgconn.ErrPQGODebug] when PQGO_DEBUG=1,
// or names the bad field. A host name that does not resolve is not an error:
// the local view is then incomplete, and a clean local view no proof.
func NewDrain(cfg DrainConfig) (*Drain, error) {
	d := &Drain{cfg: cfg, treeDown: make(chan struct{}), done: make(chan struct{})}
	d.w.seen = -1
	d.local, d.server = cfg.Mode.local(), cfg.Mode.server()
	if !d.local && !d.server {
		return nil, fmt.Errorf("drain check: mode %q: want local, server or both", cfg.Mode)
	}
	if cfg.Timeout <= 0 {
		return nil, fmt.Errorf("drain check: timeout %s: want more than 0", cfg.Timeout)
	}
	if d.server && cfg.Tag == "" {
		return nil, errors.New("drain check: the server view needs a tag (application_name)")
	}
	if d.server {
		if err := pgconn.CheckPQGODebug(os.Environ()); err != nil {
			return nil, err
		}
	}
	if d.cfg.SampleEvery <= 0 {
		d.cfg.SampleEvery = DefaultSampleEvery
	}
	eps, err := pgconn.Endpoints(cfg.DSN)
	var cfgErr *pgconn.ConfigError
	if errors.As(err, &cfgErr) {
		return nil, err
	}
	d.eps, d.epsErr = eps, err
	return d, nil
}

// StopBegan starts the watch, if it has not started yet: the check's
// deadline is now + Timeout. It returns at once.
func (d *Drain) StopBegan() {
	d.start()
}

// ChildExited records, at once, the processes of alive that hold
// connections to the database (they are leaks: the app has exited), and a
// snapshot of their sockets: a connection to a pooler that the watch finds
// holding our sessions later is a leak too. A sockview.ProcSockets whose
// Inodes is nil has them read from /proc/PID/fd now. Only the first call
// counts. When no stop began, the watch starts now.
func (d *Drain) ChildExited(alive []sockview.ProcSockets) {
	rec := &exitRecord{at: time.Now()}
	if d.local {
		procs := withInodes(alive)
		rec.snap, rec.err = sockview.TakeSnapshot(procs)
		if rec.err != nil {
			rec.err = fmt.Errorf("local view: %w", rec.err)
		} else {
			rec.holders = liveHolders(rec.snap.Holders(d.eps))
		}
	}
	d.mu.Lock()
	if d.exit == nil {
		d.exit = rec
	}
	d.mu.Unlock()
	d.start()
}

// Verdict says whether the app's connections are gone, once every process
// of lastcall's tree has been reaped. It polls the server view (and the
// local view) every SampleEvery until none of our sessions is left, or the
// check's deadline; it returns by then, or when ctx ends, whatever the
// database does. It ends the check's goroutine.
//
// The verdict is [Leaked] when a descendant held a connection to the
// database when the child exited (killed since, it was still the app's
// leak), or when our sessions were still on the server after the tree was
// down and the server view is decisive, pooled ones aside (see [Pooled]). It is [Inconclusive] when the mode
// needs the server and it never answered, or stopped answering before
// nothing was left; when the server view is advisory and the mode has no
// local view; when the local view failed (or a host did not resolve) and
// nothing else decides; or when ctx was cancelled. Otherwise [Drained].
// An advisory server view (see [DrainReport]) leaves the decision to the
// local view.
func (d *Drain) Verdict(ctx context.Context) DrainReport {
	called := time.Now()
	d.ChildExited(nil) // no-op when the supervisor called it
	d.downOnce.Do(func() { close(d.treeDown) })
	select {
	case <-d.done:
	case <-ctx.Done():
	}
	d.Close()
	d.mu.Lock()
	defer d.mu.Unlock()
	facts := d.factsLocked()
	facts.ctxErr = ctx.Err()
	facts.late = !d.deadline.IsZero() && !called.Before(d.deadline)
	r := decide(facts)
	r.Waited = time.Since(called)
	return r
}

// Close ends the check's goroutine (closing the monitor session) and waits
// for it. Verdict calls it; call it when a verdict will not be asked for.
func (d *Drain) Close() {
	d.startOnce.Do(func() { close(d.done) }) // never started: never will
	d.mu.Lock()
	cancel := d.cancel
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	<-d.done
}

// start starts the watcher goroutine once.
func (d *Drain) start() {
	d.startOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
		deadline, _ := ctx.Deadline()
		d.mu.Lock()
		d.cancel, d.deadline = cancel, deadline
		d.mu.Unlock()
		go d.watch(ctx)
	})
}

// holdersOf finds the sockets to the database that procs hold. (pgconn.Endpoints
// that did not resolve are not an error here: see [DrainConfig].)
func (d *Drain) holdersOf(procs []sockview.ProcSockets) ([]sockview.Holder, error) {
	if len(procs) == 0 {
		return nil, nil
	}
	holders, err := sockview.LocalHolders(procs, d.eps)
	if err != nil {
		return nil, fmt.Errorf("local view: %w", err)
	}
	return liveHolders(holders), nil
}

// liveHolders keeps the sockets whose connection is still open: a unix
// socket, or TCP that is established (or being set up). A TCP socket in
// CLOSE_WAIT and the like was closed by the server: its session is over,
// even though a process still has the file open (a forked child of a
// process that said goodbye on the shared socket).
func liveHolders(holders []sockview.Holder) []sockview.Holder {
	var out []sockview.Holder
	for _, h := range holders {
		if h.Network == "unix" || h.State == "ESTABLISHED" || h.State == "SYN_SENT" || h.State == "SYN_RECV" {
			out = append(out, h)
		}
	}
	return out
}

// withInodes fills in the socket inodes of processes given without them;
// a process that is gone meanwhile holds nothing.
func withInodes(procs []sockview.ProcSockets) []sockview.ProcSockets {
	out := make([]sockview.ProcSockets, 0, len(procs))
	for _, p := range procs {
		if p.Inodes == nil {
			inodes, err := sockview.SocketInodes(p.PID)
			if err != nil {
				continue
			}
			p.Inodes = inodes
		}
		out = append(out, p)
	}
	return out
}
