package pgconn

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
)

// TestMonitorXactStatus: transactions that rolled back, committed, are
// still open, or never wrote (no xid), as pg_stat_activity showed them
// while open, and as pg_xact_status (PostgreSQL 13+) and txid_status
// (10-12, still in 15) tell their end.
func TestMonitorXactStatus(t *testing.T) {
	c := pgtest.Start(t)
	ctx := context.Background()
	tags := map[string]string{}
	conns := map[string]*sql.Conn{}
	for _, name := range []string{"rolled back", "committed", "open", "read-only"} {
		tags[name] = NewTag()
		conns[name] = pgtest.HoldSession(t, pgtest.WithAppName(c.AppURL(), tags[name]))
		stmts := []string{"CREATE TEMP TABLE work (n int)", "BEGIN", "INSERT INTO work VALUES (1)"}
		if name == "read-only" {
			stmts = []string{"BEGIN", "SELECT 1"}
		}
		for _, stmt := range stmts {
			if _, err := conns[name].ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
	}
	m := openMonitor(t, c.AppURL(), 10*time.Second)
	xids := map[string]uint32{}
	for name, tag := range tags {
		ss, err := m.Sessions(ctx, tag, nil)
		if err != nil || len(ss) != 1 || ss[0].State != "idle in transaction" {
			t.Fatalf("%s: Sessions = %+v, %v; want one session idle in transaction", name, ss, err)
		}
		xids[name] = ss[0].BackendXID
	}
	if xids["read-only"] != 0 || xids["rolled back"] == 0 || xids["committed"] == 0 || xids["open"] == 0 {
		t.Fatalf("backend_xid: %v; want none for the read-only transaction only", xids)
	}
	for name, end := range map[string]string{"rolled back": "ROLLBACK", "committed": "COMMIT"} {
		if _, err := conns[name].ExecContext(ctx, end); err != nil {
			t.Fatal(err)
		}
	}
	want := map[uint32]string{xids["rolled back"]: XactAborted, xids["committed"]: XactCommitted, xids["open"]: XactInProgress}
	for _, version := range []int{0, 120000} { // 0: ask the server (15: pg_xact_status)
		m.version = version
		got, err := m.XactStatus(ctx, []uint32{xids["rolled back"], xids["committed"], xids["open"], 2})
		if err != nil || len(got) != len(want) {
			t.Fatalf("version %d: XactStatus = %v, %v; want %v (xid 2, no session's, absent)", version, got, err, want)
		}
		for x, status := range want {
			if got[x] != status {
				t.Errorf("version %d: xid %d: %q; want %q", version, x, got[x], status)
			}
		}
	}
	m.version = 90600
	if _, err := m.XactStatus(ctx, []uint32{xids["open"]}); err == nil {
		t.Error("XactStatus on PostgreSQL 9.6: nil error; want one (no status function)")
	}
}
