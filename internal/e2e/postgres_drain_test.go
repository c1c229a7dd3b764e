package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// The all-in-one entrypoint with the drain check on, the server in
// lastcall's own tree: the app holds an open transaction (an UPDATE not
// committed, the session idle in transaction), ignores SIGTERM, and dies of SIGKILL during the stop (an app
// bug on exit). The server rolls the UPDATE back. lastcall must take the
// drain verdict while the server still answers, after the app and before
// the postmaster gets SIGINT, or it cannot ask the server what became of
// that transaction: the verdict names it (rolled_back 1), the strict mode
// turns the app's remapped 0 into exit 3, and the server still shuts down
// cleanly.
func TestPostgresDrainVerdictBeforeServerStop(t *testing.T) {
	requirePsql(t)
	eachPGMode(t, func(t *testing.T, c *pgCluster, pid1 bool) {
		app := c.appScript(t)
		args := append([]string{"--stop-timeout", "60s", "--grace", "40s", "--db-check", "server", "--db-strict", "true",
			"--remap-exit", "137:0",
			"--db-url", c.AppURL(), "--log-format", "json", "--"},
			c.allInOne("/bin/sh "+app, "listen_addresses=127.0.0.1")...)
		r := startPGRun(t, pid1, args...)
		c.waitAccepting(t)
		if _, err := fmt.Fprintf(r.stdin, "CREATE TABLE work AS SELECT 1 AS n; BEGIN; UPDATE work SET n = 2;\n"); err != nil {
			t.Fatal(err)
		}
		db := openSuperuser(t, c)
		xactOpen := "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND state = 'idle in transaction'"
		waitQuery(t, db, xactOpen, r)

		if err := syscall.Kill(r.lastcallPID(t), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		// The app ignores SIGTERM. Once lastcall's monitor has run one
		// sample to its end, the open transaction is on record: now
		// the app dies.
		sampled := fmt.Sprintf("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s' "+
			"AND state = 'idle' AND query LIKE 'SELECT pid, application_name%%'", pgconn.MonitorAppName)
		waitQuery(t, db, sampled, r)
		_ = db.Close()
		killApp(t, r)

		code, logs := r.wait(t, 2*time.Minute)
		t.Logf("lastcall's log:\n%s", r.log(t))
		if code != 3 {
			t.Errorf("exit code %d, want 3 (the app's 137 remapped to 0, then --db-strict: the server rolled back its work)", code)
		}
		verdict := linesWith(logs, "drain verdict")
		if len(verdict) != 1 || verdict[0]["rolled_back"] != 1.0 {
			t.Fatalf("drain verdict %v, want one line with rolled_back 1", verdict)
		}
		if len(linesWith(logs, "the server rolled back a transaction of the app's")) != 1 {
			t.Error("no line names the rolled-back transaction")
		}
		stop := linesWith(logs, "stop signal received")
		if len(stop) != 1 || !strings.Contains(fmt.Sprint(stop[0]["postgres"]), "once the app has exited and the drain verdict is in") {
			t.Errorf("the plan line does not say the postmaster is stopped after the verdict: %v", stop)
		}
		at := func(msg string) int {
			return slices.IndexFunc(logs, func(l map[string]any) bool { return l["msg"] == msg })
		}
		if v, s := at("drain verdict"), at("stopping postgres: fast shutdown"); v < 0 || s < 0 || v > s {
			t.Errorf("the verdict (line %d) must come before the postmaster's SIGINT (line %d)", v, s)
		}
		checkCleanEnd(t, c, logs)
	})
}

// appScript writes an app for allInOne: a shell that ignores SIGTERM and
// execs psql, which inherits that, to run what lastcall's stdin says over
// TCP, as the cluster's app user.
func (c *pgCluster) appScript(t *testing.T) string {
	t.Helper()
	script := fmt.Sprintf("trap '' TERM\nPGPASSWORD='%s' exec %s/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p %d -U '%s' -d '%s' -f -\n",
		c.Password, c.bin, c.Port, c.User, c.Database)
	path := filepath.Join(c.Dir, "app.sh")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// openSuperuser opens one connection to the cluster as the superuser.
func openSuperuser(t *testing.T, c *pgCluster) *sql.DB {
	t.Helper()
	db, conn, err := pgtest.OpenConn(c.SocketDSN(pgtest.Superuser, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// waitQuery polls a count query until it is not zero; lastcall's exit or
// a minute without it fails t.
func waitQuery(t *testing.T, db *sql.DB, query string, r *pgRun) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var n int
		err := db.QueryRowContext(ctx, query).Scan(&n)
		cancel()
		switch {
		case err == nil && n > 0:
			return
		case time.Now().After(deadline):
			t.Fatalf("no row for %q within a minute (last error %v):\n%s", query, err, r.log(t))
		}
		select {
		case <-r.exited:
			t.Fatalf("lastcall exited while waiting for %q:\n%s", query, r.log(t))
		case <-time.After(20 * time.Millisecond): // poll interval, not synchronisation
		}
	}
}

// killApp sends SIGKILL to the psql below lastcall.
func killApp(t *testing.T, r *pgRun) {
	t.Helper()
	procs, err := procfs.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procfs.DescendantsOf(r.cmd.Process.Pid, procs) {
		if p.Comm == "psql" {
			if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no psql below lastcall:\n%s", r.log(t))
}
