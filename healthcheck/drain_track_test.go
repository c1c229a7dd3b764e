package healthcheck

import (
	"reflect"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
)

// TestTxTrackerObserve: a session that ends is pending when its last
// sample had it idle in transaction or active with an xid; a read-only
// transaction (no xid), an idle session, a session still there and a
// session whose pid came back with another start are not.
func TestTxTrackerObserve(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sess := func(pid int, state string, xid uint32) pgconn.Session {
		return pgconn.Session{BackendPID: pid, State: state, BackendXID: xid, BackendStart: t0}
	}
	write := sess(1, "idle in transaction", 700)
	active := sess(2, "active", 701)
	readOnly := sess(3, "idle in transaction", 0)
	idle := sess(4, "idle", 0)
	stays := sess(5, "idle in transaction", 702)
	aborted := sess(6, "idle in transaction (aborted)", 703)
	reused := sess(7, "active", 704)
	again := reused
	again.BackendStart = t0.Add(time.Second)

	var tr txTracker
	first, second := t0.Add(time.Second), t0.Add(2*time.Second)
	tr.observe([]pgconn.Session{write, active, readOnly, idle, stays, aborted, reused}, first)
	if len(tr.pending) != 0 {
		t.Fatalf("pending after the first answer: %+v", tr.pending)
	}
	tr.observe([]pgconn.Session{stays, again}, second)
	got := map[int]bool{}
	for _, e := range tr.pending {
		got[e.Session.BackendPID] = true
		if e.LastSeen != first || e.GoneBy != second {
			t.Errorf("pid %d: seen %v, gone by %v; want %v and %v", e.Session.BackendPID, e.LastSeen, e.GoneBy, first, second)
		}
	}
	if want := map[int]bool{1: true, 2: true, 7: true}; !reflect.DeepEqual(got, want) {
		t.Errorf("pending pids %v; want %v (the writers that ended)", got, want)
	}
}

func TestRolledBackOf(t *testing.T) {
	ended := []endedTx{
		{RolledBack: RolledBack{Session: pgconn.Session{BackendPID: 1}}, status: pgconn.XactAborted},
		{RolledBack: RolledBack{Session: pgconn.Session{BackendPID: 2}}, status: pgconn.XactCommitted},
		{RolledBack: RolledBack{Session: pgconn.Session{BackendPID: 3}}, status: pgconn.XactInProgress},
		{RolledBack: RolledBack{Session: pgconn.Session{BackendPID: 4}}},
	}
	got := rolledBackOf(ended)
	if len(got) != 1 || got[0].Session.BackendPID != 1 {
		t.Errorf("rolledBackOf = %+v; want only the aborted one", got)
	}
	if n := unknownEnds(ended, 2); n != 3 {
		t.Errorf("unknownEnds = %d; want 3 (one without status, two pending)", n)
	}
}

// TestSplitPooled: the local rule (an owner outside the tree) decides at
// once; the idle rule needs idleSettle of idleness after the tree was
// down, and never overrides the tree's own socket or an active session.
func TestSplitPooled(t *testing.T) {
	at := time.Now()
	s := func(pid int, state string) pgconn.Session {
		return pgconn.Session{BackendPID: pid, State: state, ClientAddr: "10.0.0.9", ClientPort: 40000 + pid}
	}
	sessions := []pgconn.Session{s(1, "idle"), s(2, "idle"), s(3, "idle"), s(4, "active"), s(5, "idle"), s(6, "idle in transaction")}
	ends := map[sessionKey]clientEnd{
		keyOf(sessions[0]): {kind: endOutside},
		keyOf(sessions[1]): {kind: endRemote},
		keyOf(sessions[2]): {kind: endRemote},
		keyOf(sessions[3]): {kind: endRemote},
		keyOf(sessions[4]): {kind: endTree},
		keyOf(sessions[5]): {kind: endUnix},
	}
	long := at.Add(-idleSettle)
	idleSince := map[sessionKey]time.Time{
		keyOf(sessions[1]): long,
		keyOf(sessions[2]): at.Add(-idleSettle + time.Millisecond),
		keyOf(sessions[4]): long,
		keyOf(sessions[5]): long,
	}
	pooled, rest := splitPooled(sessions, ends, idleSince, at)
	var pooledPIDs, restPIDs []int
	for _, p := range pooled {
		pooledPIDs = append(pooledPIDs, p.Session.BackendPID)
	}
	for _, r := range rest {
		restPIDs = append(restPIDs, r.BackendPID)
	}
	if !reflect.DeepEqual(pooledPIDs, []int{1, 2, 6}) || !reflect.DeepEqual(restPIDs, []int{3, 4, 5}) {
		t.Errorf("pooled %v, rest %v; want pooled [1 2 6] (outside owner, remote idle 250ms, unix idle), rest [3 4 5]", pooledPIDs, restPIDs)
	}
}

// TestTxTrackerExitTransaction: a backend that ends aborts the app's
// transaction (its xid gone from pg_stat_activity) and runs its own
// (dropping temporary tables) under a new xid, while the state still reads
// idle in transaction; the app's aborted xid is the one that counts, and
// the session reported is the one seen writing. A session seen idle in
// between starts afresh.
func TestTxTrackerExitTransaction(t *testing.T) {
	t0 := time.Now()
	s := pgconn.Session{BackendPID: 1, State: "idle in transaction", BackendXID: 800, BackendStart: t0, Query: "UPDATE t"}
	aborting := s
	aborting.BackendXID = 0
	cleanup := s
	cleanup.BackendXID = 801
	idle := s
	idle.State, idle.BackendXID = "idle", 0
	var tr txTracker
	for i, ss := range [][]pgconn.Session{{s}, {idle}, {s}, {aborting}, {cleanup}, nil} {
		tr.observe(ss, t0.Add(time.Duration(i)*time.Second))
	}
	if len(tr.pending) != 1 || !reflect.DeepEqual(tr.pending[0].xids, []uint32{800, 801}) || tr.pending[0].Session.BackendXID != 801 {
		t.Fatalf("pending %+v; want one session with xids [800 801], the latest seen writing", tr.pending)
	}
	status, xid := outcome(tr.pending[0].xids, map[uint32]string{800: pgconn.XactAborted, 801: pgconn.XactCommitted})
	if status != pgconn.XactAborted || xid != 800 {
		t.Errorf("outcome = %s, %d; want aborted, 800", status, xid)
	}
	if status, xid := outcome([]uint32{802}, map[uint32]string{}); status != "" || xid != 802 {
		t.Errorf("outcome of an xid the server forgot = %q, %d; want \"\", 802", status, xid)
	}
}
