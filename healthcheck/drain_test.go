package healthcheck

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/sockview"
	"github.com/lastcall-dev/lastcall/internal/testutil"
)

// quick is well under the checks' Timeout: a verdict that took longer
// waited for the deadline instead of seeing that nothing was left.
const (
	drainTimeout = 10 * time.Second
	quick        = drainTimeout / 2
)

// TestDrain runs the scenarios that share one live cluster.
func TestDrain(t *testing.T) {
	c := pgtest.Start(t)
	t.Run("drained", func(t *testing.T) { testDrained(t, c, true) })
	t.Run("drained without a stop", func(t *testing.T) { testDrained(t, c, false) })
	t.Run("rolled back", func(t *testing.T) { testRolledBack(t, c) })
	t.Run("pooled", func(t *testing.T) { testPooled(t, c) })
	t.Run("idle rule", func(t *testing.T) { testIdleRule(t, c) })
	for _, mode := range []CheckMode{CheckLocal, CheckBoth} {
		t.Run("holder "+string(mode), func(t *testing.T) { testHolder(t, c, mode) })
	}
	t.Run("wrong password", func(t *testing.T) { testWrongPassword(t, c) })
	t.Run("user tag shared by a replica", func(t *testing.T) { testSharedTag(t, c) })
	t.Run("through a proxy", func(t *testing.T) { testProxy(t, c) })
}

// testSharedTag: the tag is the user's PGAPPNAME, and another instance's
// session carries it too. The self-check passes on loopback, so only our
// tree's client ports count: the other session never does.
func testSharedTag(t *testing.T, c *pgtest.Cluster) {
	tag := "web" // the user's own PGAPPNAME
	pgtest.HoldSession(t, pgtest.WithAppName(c.AppURL(), tag))
	app := openApp(t, pgtest.WithAppName(c.AppURL(), tag))
	d := newDrain(t, DrainConfig{DSN: c.AppURL(), Mode: CheckBoth, Tag: tag, TagInjected: false,
		Timeout: drainTimeout, Tree: app.tree})
	d.StopBegan()
	waitSample(t, d, "our session alone, by its port", func(s drainSample) bool {
		return len(s.holders) == 1 && len(s.sessions) == 1
	})
	app.close(t)
	pgtest.WaitSessions(t, c, tag, 1) // the app's backend has ended; the replica's stays
	d.ChildExited(nil)
	r := d.Verdict(context.Background())
	if r.Verdict != Drained || !r.Advisory || r.Counts.Seen != 1 || r.Counts.Left != 0 || r.Waited > quick {
		t.Errorf("report = %+v; want drained (advisory), our one session seen, none left, at once", r)
	}
}

// testProxy: the app connects through a TCP proxy, as through PgBouncer;
// the self-check sees it, the server view (where a session of the tag
// stays, as a pooled backend would) is advisory, and the local view
// decides. The session that stays is the proxy's (this process, which the
// test's tree names for the app's sockets only: it is listed, pooled or
// not).
func testProxy(t *testing.T, c *pgtest.Cluster) {
	server := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port))
	proxied := strings.Replace(c.AppURL(), server, testutil.TCPProxy(t, testutil.ForwardTo(server)), 1)
	tag := pgconn.NewTag()
	pgtest.HoldSession(t, pgtest.WithAppName(proxied, tag)) // the pooler's backend, outliving the app
	app := openApp(t, pgtest.WithAppName(proxied, tag))
	d := newDrain(t, DrainConfig{DSN: proxied, Mode: CheckBoth, Tag: tag, TagInjected: true,
		Timeout: drainTimeout, Tree: app.tree})
	d.StopBegan()
	waitSample(t, d, "our sessions", func(s drainSample) bool { return len(s.holders) == 1 && len(s.sessions) == 2 })
	app.close(t)
	pgtest.WaitSessions(t, c, tag, 1) // the proxy has closed the app's backend; the pooled one stays
	d.ChildExited(nil)
	r := d.Verdict(context.Background())
	if r.Verdict != Drained || !r.Advisory || !strings.Contains(r.Reason, "advisory (") || len(r.Pooled)+len(r.Leaked) != 1 ||
		r.Waited > quick {
		t.Errorf("report = %+v; want drained by the local view, the server view advisory, the pooled session listed, at once", r)
	}
}

// testDrained: the app's tagged session closes before the child exits; a
// session of the same role with another tag stays open throughout and is
// never counted.
func testDrained(t *testing.T, c *pgtest.Cluster, stop bool) {
	tag := pgconn.NewTag()
	pgtest.HoldSession(t, pgtest.WithAppName(c.AppURL(), pgconn.NewTag())) // another instance
	app := openApp(t, pgtest.WithAppName(c.AppURL(), tag))
	d := newDrain(t, DrainConfig{DSN: c.AppURL(), Mode: CheckBoth, Tag: tag, TagInjected: true,
		Timeout: drainTimeout, Tree: app.tree})
	want := DrainCounts{Seen: -1, RolledBack: -1, Holders: 0, Left: 0} // no sample before the exit
	if stop {
		d.StopBegan()
		waitSample(t, d, "our session, held locally", func(s drainSample) bool {
			return len(s.sessions) == 1 && len(s.holders) == 1
		})
		want.Seen, want.RolledBack = 1, 0
	}
	app.close(t)
	d.ChildExited(nil)
	r := d.Verdict(context.Background())
	if r.Verdict != Drained || r.Counts != want || r.Advisory || !strings.Contains(r.Reason, "no session tagged "+tag) {
		t.Errorf("report = %+v; want drained, counts %+v, decisive", r, want)
	}
	if r.Waited > quick {
		t.Errorf("Verdict took %s; it should end as soon as nothing is left, not at the %s deadline", r.Waited, drainTimeout)
	}
}

// testRolledBack: the app is in a transaction when the stop begins, and
// its session ends before the tree is down: an uncommitted write is a
// proven rollback; a write committed after the sample saw it open, and a
// read-only transaction (no xid), are not.
func testRolledBack(t *testing.T, c *pgtest.Cluster) {
	tests := []struct {
		name   string
		stmts  []string
		commit bool // COMMIT once the sample saw the transaction open
		xid    bool // the transaction holds an xid
		want   int
	}{
		{"uncommitted write", []string{"BEGIN", "INSERT INTO work VALUES (1)"}, false, true, 1},
		{"committed write", []string{"BEGIN", "INSERT INTO work VALUES (1)"}, true, true, 0},
		{"read-only", []string{"BEGIN", "SELECT count(*) FROM work"}, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag := pgconn.NewTag()
			app := openApp(t, pgtest.WithAppName(c.AppURL(), tag))
			ctx := context.Background()
			for _, stmt := range append([]string{"CREATE TEMP TABLE work (n int)"}, tt.stmts...) {
				if _, err := app.conn.ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
			d := newDrain(t, DrainConfig{DSN: c.AppURL(), Mode: CheckBoth, Tag: tag, TagInjected: true,
				Timeout: drainTimeout, Tree: app.tree, ShowQuery: true})
			d.StopBegan()
			waitSample(t, d, "our session in a transaction", func(s drainSample) bool {
				return len(s.sessions) == 1 && s.sessions[0].State == "idle in transaction" &&
					(s.sessions[0].BackendXID != 0) == tt.xid
			})
			if tt.commit {
				if _, err := app.conn.ExecContext(ctx, "COMMIT"); err != nil {
					t.Fatal(err)
				}
			}
			app.close(t)
			d.ChildExited(nil)
			r := d.Verdict(ctx)
			t.Logf("report: %+v", r)
			if r.Verdict != Drained || r.Counts.RolledBack != tt.want || len(r.RolledBack) != tt.want || r.Waited > quick {
				t.Fatalf("report = %+v; want drained, %d rolled back, at once", r, tt.want)
			}
			if tt.want == 0 {
				return
			}
			rb := r.RolledBack[0]
			if rb.Session.State != "idle in transaction" || rb.Session.BackendXID == 0 || rb.XactAge() <= 0 ||
				rb.Session.Query != "INSERT INTO work VALUES (1)" || !rb.GoneBy.After(rb.LastSeen) ||
				!strings.Contains(r.Reason, fmt.Sprintf("the server rolled back 1 transaction of the app's: backend %d (idle in transaction)", rb.Session.BackendPID)) {
				t.Errorf("rolled back %+v, reason %q; want the INSERT's session, idle in transaction, named in the reason", rb, r.Reason)
			}
		})
	}
}

// testPooled: a process outside lastcall's tree (a helper standing in for
// PgBouncer) holds a session carrying our tag after the app closed its
// own: the local rule names it, at once, and the verdict is drained.
func testPooled(t *testing.T, c *pgtest.Cluster) {
	tag := pgconn.NewTag()
	pooler := startHoldDB(t, c.AppURL(), tag)
	app := openApp(t, pgtest.WithAppName(c.AppURL(), tag))
	d := newDrain(t, DrainConfig{DSN: c.AppURL(), Mode: CheckBoth, Tag: tag, TagInjected: true,
		Timeout: drainTimeout, Tree: app.tree})
	d.StopBegan()
	waitSample(t, d, "both sessions", func(s drainSample) bool { return len(s.sessions) == 2 })
	app.close(t)
	pgtest.WaitSessions(t, c, tag, 1)
	d.ChildExited(nil)
	r := d.Verdict(context.Background())
	t.Logf("report: %+v", r)
	pid := pooler.Process.Pid
	if r.Verdict != Drained || r.Counts.Pooled != 1 || r.Counts.Left != 0 || len(r.Pooled) != 1 || r.Waited > quick {
		t.Fatalf("report = %+v; want drained, 1 pooled, none left, at once", r)
	}
	p := r.Pooled[0]
	if len(p.Holders) != 1 || p.Holders[0].PID != pid || !strings.Contains(r.Reason, fmt.Sprintf("is held by %d ", pid)) {
		t.Errorf("pooled %+v, reason %q; want the helper %d named as the holder", p, r.Reason, pid)
	}
}

// testIdleRule: a session over a unix socket (no client address to look
// up) that a process outside the tree holds, idle: it outlasts the tree by
// idleSettle, and the idle rule calls it pooled.
func testIdleRule(t *testing.T, c *pgtest.Cluster) {
	tag := pgconn.NewTag()
	pgtest.HoldSession(t, pgtest.WithAppName(c.SocketDSN(c.User, c.Database), tag))
	app := openApp(t, pgtest.WithAppName(c.AppURL(), tag))
	d := newDrain(t, DrainConfig{DSN: c.AppURL(), Mode: CheckBoth, Tag: tag, TagInjected: true,
		Timeout: drainTimeout, Tree: app.tree})
	d.StopBegan()
	waitSample(t, d, "both sessions", func(s drainSample) bool { return len(s.sessions) == 2 })
	app.close(t)
	pgtest.WaitSessions(t, c, tag, 1)
	d.ChildExited(nil)
	r := d.Verdict(context.Background())
	t.Logf("report: %+v", r)
	if r.Verdict != Drained || r.Counts.Pooled != 1 || len(r.Pooled) != 1 || len(r.Pooled[0].Holders) != 0 ||
		!strings.Contains(r.Pooled[0].Rule, "from a unix socket") || r.Waited < idleSettle || r.Waited > quick {
		t.Errorf("report = %+v; want drained, 1 pooled by the idle rule (unix socket), after %s and well before the deadline", r, idleSettle)
	}
}

// testHolder: a descendant holds a tagged connection after the child has
// exited. The supervisor kills it before the verdict, and the verdict still
// names it: the app left it behind.
func testHolder(t *testing.T, c *pgtest.Cluster, mode CheckMode) {
	tag := pgconn.NewTag()
	holder := startHoldDB(t, c.AppURL(), tag)
	pid := holder.Process.Pid
	var gone atomic.Bool // the supervisor killed it
	tree := func() []sockview.ProcSockets {
		if gone.Load() {
			return nil
		}
		inodes, _ := sockview.SocketInodes(pid)
		return []sockview.ProcSockets{{PID: pid, Cmd: "hold-db", Inodes: inodes}}
	}
	d := newDrain(t, DrainConfig{DSN: c.AppURL(), Mode: mode, Tag: tag, TagInjected: true,
		Timeout: drainTimeout, Tree: tree})
	d.StopBegan()
	waitSample(t, d, "the holder's socket", func(s drainSample) bool { return len(s.holders) == 1 })
	d.ChildExited([]sockview.ProcSockets{{PID: pid, Cmd: "hold-db"}}) // inodes read from /proc
	gone.Store(true)
	killAndReap(t, holder)
	r := d.Verdict(context.Background())
	t.Logf("report: %+v", r)
	reason := fmt.Sprintf("descendant %d hold-db held 1 connection after the app exited (killed by lastcall)", pid)
	if r.Verdict != Leaked || r.Reason != reason || len(r.Holders) != 1 || r.Holders[0].PID != pid ||
		r.Holders[0].Cmd != "hold-db" || r.Holders[0].Network != "tcp" || r.Counts.Holders != 1 {
		t.Errorf("report = %+v; want leaked, reason %q, the holder named", r, reason)
	}
	if r.Waited > quick {
		t.Errorf("Verdict took %s; the server view should have seen the killed holder's session go", r.Waited)
	}
}

// testWrongPassword: authentication fails at once; the verdict says so,
// without the password, and without waiting for the deadline.
func testWrongPassword(t *testing.T, c *pgtest.Cluster) {
	wrong := "wrong-" + c.Password
	d := newDrain(t, DrainConfig{DSN: c.URL(c.User, wrong, c.Database, "sslmode=disable"), Mode: CheckBoth,
		Tag: pgconn.NewTag(), TagInjected: true, Timeout: drainTimeout})
	d.StopBegan()
	d.ChildExited(nil)
	r := d.Verdict(context.Background())
	t.Logf("report: %+v", r)
	if r.Verdict != Inconclusive || !strings.Contains(r.Reason, "password authentication failed") {
		t.Errorf("report = %+v; want inconclusive, naming the failed authentication", r)
	}
	if strings.Contains(r.Reason, c.Password) {
		t.Errorf("reason %q holds the password", r.Reason)
	}
	if r.Waited > quick {
		t.Errorf("Verdict took %s; a wrong password will not cure itself, no need to wait", r.Waited)
	}
}

// TestDrainFrozen: a frozen server (SIGSTOP of the postmaster and every
// backend) or a silent peer give inconclusive by the deadline.
func TestDrainFrozen(t *testing.T) {
	const timeout = time.Second
	t.Run("silent peer", func(t *testing.T) {
		d := newDrain(t, DrainConfig{DSN: "postgres://app:hunter2hunter2@" + pgtest.SilentPeer(t) + "/app",
			Mode: CheckServer, Tag: pgconn.NewTag(), TagInjected: true, Timeout: timeout})
		assertFrozenVerdict(t, d, timeout, "timeout")
	})
	c := pgtest.Start(t)
	t.Run("frozen before the stop", func(t *testing.T) {
		freezeCluster(t, c)
		d := newDrain(t, DrainConfig{DSN: c.AppURL(), Mode: CheckBoth, Tag: pgconn.NewTag(), TagInjected: true, Timeout: timeout})
		assertFrozenVerdict(t, d, timeout, "not reached")
	})
	t.Run("frozen during the stop", func(t *testing.T) {
		tag := pgconn.NewTag()
		pgtest.HoldSession(t, pgtest.WithAppName(c.AppURL(), tag)) // a frozen client's session
		d := newDrain(t, DrainConfig{DSN: c.AppURL(), Mode: CheckBoth, Tag: tag, TagInjected: true, Timeout: timeout})
		start := time.Now()
		d.StopBegan()
		waitSample(t, d, "our session", func(s drainSample) bool { return len(s.sessions) == 1 })
		freezeCluster(t, c)
		d.ChildExited(nil)
		r := d.Verdict(context.Background())
		testutil.Within(t, start, timeout)
		if r.Verdict != Inconclusive || !strings.Contains(r.Reason, "stopped answering") || r.Counts.Seen != 1 {
			t.Errorf("report = %+v; want inconclusive: the database stopped answering", r)
		}
	})
}

// assertFrozenVerdict runs a stop against a server that never answers.
func assertFrozenVerdict(t *testing.T, d *Drain, timeout time.Duration, reason string) {
	t.Helper()
	start := time.Now()
	d.StopBegan()
	d.ChildExited(nil)
	r := d.Verdict(context.Background())
	testutil.Within(t, start, timeout)
	t.Logf("report: %+v", r)
	if r.Verdict != Inconclusive || !strings.Contains(r.Reason, reason) || strings.Contains(r.Reason, "hunter2") {
		t.Errorf("report = %+v; want inconclusive, reason with %q and no password", r, reason)
	}
}

// TestDrainCloseWithoutVerdict: the check's goroutine ends on Close (goleak
// in TestMain fails the package otherwise), even while it dials.
func TestDrainCloseWithoutVerdict(t *testing.T) {
	d, err := NewDrain(DrainConfig{DSN: "postgres://app@" + pgtest.SilentPeer(t) + "/app", Mode: CheckBoth,
		Tag: pgconn.NewTag(), TagInjected: true, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	d.StopBegan()
	start := time.Now()
	d.Close()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %s while the monitor dialled a silent peer", took)
	}
}

// TestDrainClosedBeforeStart: a check closed before it started never
// starts, and its verdict comes at once.
func TestDrainClosedBeforeStart(t *testing.T) {
	d, err := NewDrain(DrainConfig{DSN: "postgres://app@" + pgtest.SilentPeer(t) + "/app", Mode: CheckBoth,
		Tag: pgconn.NewTag(), TagInjected: true, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d.StopBegan()
	if r := d.Verdict(context.Background()); r.Verdict != Inconclusive || r.Waited > time.Second {
		t.Errorf("Verdict of a closed check = %+v; want inconclusive at once", r)
	}
}
