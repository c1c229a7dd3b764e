package healthcheck

import (
	"context"
	"slices"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
)

// RolledBack is a transaction of the app's that the server rolled back
// while lastcall watched: its session was idle in transaction or active,
// holding a transaction id (it had written), at one sample, was gone at
// the next, and the server says that transaction aborted.
type RolledBack struct {
	// Session is the session as the last sample that saw it found it.
	Session pgconn.Session
	// LastSeen is when that sample began; GoneBy when the first sample
	// without the session began: the session ended in between.
	LastSeen, GoneBy time.Time
}

// XactAge is how old the transaction was when it was last seen.
func (r RolledBack) XactAge() time.Duration {
	if r.Session.XactStart.IsZero() {
		return 0
	}
	return r.LastSeen.Sub(r.Session.XactStart)
}

// sessionKey tells sessions apart across samples: a backend pid may be
// reused, never with the same start.
type sessionKey struct {
	pid   int
	start int64 // backend_start, Unix nanoseconds
}

func keyOf(s pgconn.Session) sessionKey {
	return sessionKey{pid: s.BackendPID, start: s.BackendStart.UnixNano()}
}

// endedTx is a session that ended in a transaction that had written, and
// what the server says became of it ("" while not known).
type endedTx struct {
	RolledBack
	xids   []uint32 // the xids it held since it was last seen without one
	status string
}

// liveSession is a session of the latest answer, the xids it has held
// since a sample last saw it outside a transaction, and the latest sample
// of it with an xid. A backend that ends aborts the app's transaction and
// runs one of its own (dropping its temporary tables) under a new xid,
// while pg_stat_activity still shows the state of the app's last
// statement: its last sample may show no xid, or that other one.
type liveSession struct {
	pgconn.Session
	xids   []uint32
	writer pgconn.Session
}

// inTransaction reports whether a state is one inside a transaction.
func inTransaction(state string) bool {
	return state == "active" || state == "idle in transaction" || state == "idle in transaction (aborted)" ||
		state == "fastpath function call"
}

// txTracker follows every session of ours from one answer of the server to
// the next. It belongs to the watcher's goroutine.
type txTracker struct {
	live    map[sessionKey]liveSession // the sessions of the latest answer
	liveAt  time.Time
	pending []endedTx // ended in a transaction; status not asked yet
	done    []endedTx // asked about, not yet handed over (takeDone)
	gaveUp  bool      // the server cannot say (an old server, or a lasting error)
}

// takeDone hands over the transactions asked about since the last call.
func (t *txTracker) takeDone() []endedTx {
	done := t.done
	t.done = nil
	return done
}

// observe takes an answer of the server begun at at. A session of the
// previous answer that is gone, whose last state was idle in transaction
// or active, and which held an xid since a sample last saw it outside a
// transaction, becomes pending: its transaction was committed or rolled
// back as it ended. A read-only transaction (no xid) lost nothing.
func (t *txTracker) observe(sessions []pgconn.Session, at time.Time) {
	now := make(map[sessionKey]liveSession, len(sessions))
	for _, s := range sessions {
		k := keyOf(s)
		ls := liveSession{Session: s}
		if prev, ok := t.live[k]; ok && inTransaction(s.State) {
			ls.xids, ls.writer = prev.xids, prev.writer
		}
		if s.BackendXID != 0 && inTransaction(s.State) {
			ls.xids = slices.Compact(append(slices.Clone(ls.xids), s.BackendXID))
			ls.writer = s
		}
		now[k] = ls
	}
	for k, s := range t.live {
		if _, ok := now[k]; ok || len(s.xids) == 0 {
			continue
		}
		if s.State == "idle in transaction" || s.State == "active" {
			t.pending = append(t.pending, endedTx{RolledBack: RolledBack{Session: s.writer, LastSeen: t.liveAt, GoneBy: at}, xids: s.xids})
		}
	}
	t.live, t.liveAt = now, at
}

// resolve asks the server about the pending transactions; the ones it
// answered for go to done. On an error the pending ones stay, for the next
// sample.
func (t *txTracker) resolve(ctx context.Context, m *pgconn.Monitor) error {
	if len(t.pending) == 0 || t.gaveUp {
		return nil
	}
	var xids []uint32
	for _, e := range t.pending {
		xids = append(xids, e.xids...)
	}
	status, err := m.XactStatus(ctx, xids)
	if err != nil {
		if !pgconn.Transient(err) {
			t.gaveUp = true
		}
		return err
	}
	for _, e := range t.pending {
		e.status, e.Session.BackendXID = outcome(e.xids, status)
		t.done = append(t.done, e)
	}
	t.pending = nil
	return nil
}

// outcome is what became of the work of a session that held xids: aborted
// when any of them aborted (and that xid), else the last one's status.
func outcome(xids []uint32, status map[uint32]string) (string, uint32) {
	for _, x := range xids {
		if status[x] == pgconn.XactAborted {
			return pgconn.XactAborted, x
		}
	}
	last := xids[len(xids)-1]
	return status[last], last
}

// rolledBackOf keeps the transactions the server says aborted.
func rolledBackOf(ended []endedTx) []RolledBack {
	var out []RolledBack
	for _, e := range ended {
		if e.status == pgconn.XactAborted {
			out = append(out, e.RolledBack)
		}
	}
	return out
}

// unknownEnds counts the transactions whose end the server could not tell.
func unknownEnds(ended []endedTx, pending int) int {
	n := pending
	for _, e := range ended {
		if e.status == "" {
			n++
		}
	}
	return n
}
