package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lastcall-dev/lastcall/internal/dial"
	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/sockview"
)

// Verdict is the drain check's answer.
type Verdict string

// The verdicts of [Drain.Verdict].
const (
	// Drained: nothing of the app's is left on the database.
	Drained Verdict = "drained"
	// Leaked: a descendant held the app's connections after the app had
	// exited, or the server still showed our sessions at the deadline.
	Leaked Verdict = "leaked"
	// Inconclusive: the views the mode needs could not answer in time.
	Inconclusive Verdict = "inconclusive"
)

// DrainReport is what [Drain.Verdict] found, as plain data for the caller
// to log: one line for the verdict, one per rolled-back transaction, pooled
// session, holder and leaked session.
type DrainReport struct {
	Verdict Verdict
	// Reason says why, in one line, without a password.
	Reason string
	Counts DrainCounts
	// RolledBack are the app's transactions the server rolled back while
	// lastcall watched, from the stop to the verdict: proven rollbacks
	// only (a session that ended in a transaction holding a transaction id,
	// which pg_xact_status then called aborted). A read-only transaction
	// lost nothing and is never one.
	RolledBack []RolledBack
	// Pooled are our sessions still open after the tree was down that a
	// process outside lastcall's tree holds (a pooler, a proxy): not the
	// app's leak. They never make the verdict leaked.
	Pooled []Pooled
	// Holders are the sockets to the database, or to a pooler that held our
	// sessions, that descendants still held when the child exited (the
	// local view): leaks, even though the supervisor then killed those
	// processes. One per process and socket.
	Holders []sockview.Holder
	// Leaked are our sessions the server still showed at its last answer
	// after the tree was down (a frozen client, a hung host), pooled ones
	// aside. When Advisory and the local view decided, they are listed for
	// information only.
	Leaked []pgconn.Session
	// Advisory is true when the server view could not decide: the tag is
	// the user's PGAPPNAME (replicas may share it), or the self-check did
	// not pass (a proxy or pooler such as PgBouncer, NAT, a unix socket).
	// The local view then decides, when the mode has one.
	Advisory bool
	// Waited is how long Verdict took: what the check added to shutdown.
	Waited time.Duration
	// Sampling is what the samples cost, from the stop to the verdict.
	Sampling SamplingCost
}

// SamplingCost is what the drain check's samples took.
type SamplingCost struct {
	// Samples is how many were taken; Avg and Max their wall time (the
	// local view and the server's round trips), ServerMax the longest
	// server part of one.
	Samples             int
	Avg, Max, ServerMax time.Duration
}

// DrainCounts are the report's numbers; -1 where the view that counts them
// is not in the mode or never answered.
type DrainCounts struct {
	// Seen is how many of our sessions the first server sample showed,
	// when it came before the child's exit.
	Seen int
	// RolledBack is len(RolledBack), Pooled len(Pooled), Holders
	// len(Holders), Left len(Leaked).
	RolledBack, Pooled, Holders, Left int
}

// drainFacts is everything the verdict is decided from.
type drainFacts struct {
	local, server bool
	tag           string
	timeout       time.Duration
	epsErr        error
	exit          exitRecord
	w             watchState
	advisory      bool
	whyAdvisory   string
	ctxErr        error
	late          bool // Verdict was called after the deadline
}

func (d *Drain) factsLocked() drainFacts {
	f := drainFacts{local: d.local, server: d.server, tag: d.cfg.Tag, timeout: d.cfg.Timeout,
		epsErr: d.epsErr, w: d.w, advisory: d.server && d.advisoryLocked()}
	switch {
	case !d.cfg.TagInjected:
		f.whyAdvisory = "the tag " + d.cfg.Tag + " is the user's PGAPPNAME, not unique to this instance"
	case d.w.check == nil:
		f.whyAdvisory = "no self-check"
	default:
		f.whyAdvisory = d.w.check.Reason
	}
	if d.exit != nil {
		f.exit = *d.exit
		f.exit.holders = withPoolerHolders(f.exit, d.w.poolerEps)
	}
	return f
}

// withPoolerHolders adds to the holders at the exit the processes that then
// held a connection to a pooler found holding our sessions: through the
// pooler, they held the app's database connections.
func withPoolerHolders(exit exitRecord, poolerEps []sockview.Endpoint) []sockview.Holder {
	holders := slices.Clone(exit.holders)
	if exit.err != nil || len(poolerEps) == 0 {
		return holders
	}
	for _, h := range liveHolders(exit.snap.Holders(poolerEps)) {
		if !slices.ContainsFunc(holders, func(o sockview.Holder) bool { return o.PID == h.PID && o.Inode == h.Inode }) {
			holders = append(holders, h)
		}
	}
	return holders
}

// decide applies the rules: a holder after the app's exit is a leak; then
// the server view decides, unless it is advisory and the local view is
// whole; a view the mode needs that never answered makes it inconclusive.
// Sessions that a process outside the tree holds are pooled, never left.
func decide(f drainFacts) DrainReport {
	r := DrainReport{Holders: f.exit.holders, Advisory: f.server && f.w.answered && f.advisory}
	if f.w.finalOK != nil {
		r.Pooled, r.Leaked = splitPooled(f.w.finalOK.sessions, f.w.ends, f.w.idleSince, f.w.finalOK.at)
	}
	r.RolledBack = rolledBackOf(f.w.ended)
	r.Counts = f.counts(r)
	r.Verdict, r.Reason = f.verdict(r.Leaked, len(r.Pooled))
	r.Reason += pooledClause(r.Pooled) + rolledBackClause(r.RolledBack, unknownEnds(f.w.ended, f.w.pending))
	r.Reason = oneLine(r.Reason)
	if n := f.w.cost.Samples; n > 0 {
		r.Sampling = SamplingCost{Samples: n, Avg: f.w.cost.Total / time.Duration(n), Max: f.w.cost.Max,
			ServerMax: f.w.cost.ServerMax}
	}
	return r
}

func (f drainFacts) verdict(left []pgconn.Session, pooled int) (Verdict, string) {
	switch {
	case f.local && len(f.exit.holders) > 0:
		return Leaked, holdersReason(f.exit.holders, "after the app exited (killed by lastcall)")
	case f.local && f.w.final != nil && len(f.w.final.holders) > 0:
		return Leaked, holdersReason(f.w.final.holders, "after the tree was stopped")
	case errors.Is(f.ctxErr, context.Canceled):
		return Inconclusive, "the drain check was cancelled"
	case f.server:
		return f.serverVerdict(left, pooled)
	}
	if p := f.localProblem(); p != "" {
		return Inconclusive, p
	}
	return Drained, "no process of lastcall's tree held a database connection after the app exited"
}

// serverVerdict decides from the server view, the local one when it is
// advisory.
func (f drainFacts) serverVerdict(left []pgconn.Session, pooled int) (Verdict, string) {
	if !f.w.answered {
		if errors.Is(f.ctxErr, context.DeadlineExceeded) && (f.w.lastErr == nil || errors.Is(f.w.lastErr, context.Canceled)) {
			// The wait for the verdict ran out and cancelled the watch.
			return Inconclusive, "database not reached before the verdict's time ran out"
		}
		return Inconclusive, "database not reached: " + errText(f.w.lastErr, f.timeout)
	}
	lastFailed := f.w.final == nil || !f.w.final.serverOK
	localOK := f.local && f.localProblem() == ""
	switch {
	case f.advisory && localOK && len(left) == 0:
		return Drained, "no process of lastcall's tree held a database connection after the app exited " +
			"(the local view decides: the server view is advisory, " + f.whyAdvisory + ")"
	case !lastFailed && len(left) == 0:
		return Drained, "no session tagged " + f.tag + " left on the server" + butPooled(pooled) + f.localClause()
	case f.advisory && localOK:
		return Drained, "no process of lastcall's tree held a database connection after the app exited; " +
			"the server view is advisory (" + f.whyAdvisory + ")" + showing(left, f.tag)
	case lastFailed && f.w.finalOK != nil && len(left) > 0 && !f.advisory &&
		(dial.IsTimeout(f.w.lastErr) || errors.Is(f.ctxErr, context.DeadlineExceeded)):
		// The server answered after the tree was down, still showing our
		// sessions; only the hard deadline cut the last look. Their client
		// is gone: the server is finishing work the app left behind.
		return Leaked, fmt.Sprintf("%s tagged %s still open on the server at its last answer, %s before the deadline, "+
			"with no process of the app left: %s (PostgreSQL notices a dead client only between queries, "+
			"or with client_connection_check_interval)", plural(len(left), "session"), f.tag,
			f.sinceLastAnswer().Round(time.Millisecond), describeSessions(left))
	case lastFailed && f.late:
		return Inconclusive, fmt.Sprintf("the check's %s deadline (counted from the stop's start) passed before the tree was down", f.timeout)
	case lastFailed:
		msg := "the database stopped answering: " + errText(f.w.lastErr, f.timeout)
		if f.w.finalOK != nil {
			msg += "; " + plural(len(left), "session") + " tagged " + f.tag + " at its last answer"
		}
		return Inconclusive, msg
	case !f.advisory:
		return Leaked, fmt.Sprintf("%s tagged %s still open after the tree was down: %s",
			plural(len(left), "session"), f.tag, describeSessions(left))
	}
	return Inconclusive, "the server view is advisory (" + f.whyAdvisory + ")" + showing(left, f.tag) +
		", and there is no local view to decide"
}

// localProblem says why the local view cannot vouch for a clean exit, ""
// when it can.
func (f drainFacts) localProblem() string {
	switch {
	case f.exit.err != nil:
		return f.exit.err.Error()
	case f.w.final != nil && f.w.final.localErr != nil:
		return f.w.final.localErr.Error()
	case f.epsErr != nil:
		return "local view incomplete: " + f.epsErr.Error()
	}
	return ""
}

func (f drainFacts) localClause() string {
	if !f.local {
		return ""
	}
	if p := f.localProblem(); p != "" {
		return "; " + p
	}
	return ", and no process of lastcall's tree held a connection after the app exited"
}

func (f drainFacts) counts(r DrainReport) DrainCounts {
	c := DrainCounts{Seen: -1, RolledBack: -1, Pooled: -1, Holders: -1, Left: -1}
	if f.server {
		c.Seen = f.w.seen
		// The server answered before the exit, so the app's sessions were
		// followed; a proven rollback counts whenever it was found.
		if f.w.seen >= 0 || len(r.RolledBack) > 0 {
			c.RolledBack = len(r.RolledBack)
		}
		if f.w.finalOK != nil {
			c.Pooled, c.Left = len(r.Pooled), len(r.Leaked)
		}
	}
	if f.local && f.exit.err == nil {
		c.Holders = len(f.exit.holders)
	}
	return c
}
