package e2e

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// eachPGMode runs test once as PID 1 (in a new PID namespace) and once as
// a subreaper, the two ways lastcall runs a server in these tests, each
// with a cluster of its own, shut down and ready to start.
func eachPGMode(t *testing.T, test func(t *testing.T, c *pgCluster, pid1 bool)) {
	t.Helper()
	requireUnshare(t)
	for _, m := range []struct {
		name string
		pid1 bool
	}{{"subreaper", false}, {"pid1", true}} {
		t.Run(m.name, func(t *testing.T) { test(t, stoppedCluster(t), m.pid1) })
	}
}

// checkCleanEnd fails t unless lastcall said "shut down" for the cluster,
// pg_controldata agrees, and the next start runs no crash recovery.
func checkCleanEnd(t *testing.T, c *pgCluster, logs []map[string]any) {
	t.Helper()
	line := postgresLine(t, logs)
	if line["msg"] != "postgres shut down cleanly" || line["postgres_state"] != "shut down" ||
		line["data_dir"] != c.data || line["level"] != "info" || line["killed"] != false {
		t.Errorf("lastcall's postgres line: %v; want postgres shut down cleanly, shut down, data_dir %s", line, c.data)
	}
	if got := c.state(t); got != "shut down" {
		t.Errorf("pg_controldata: %q, want shut down", got)
	}
	next := c.nextStart(t)
	if !strings.Contains(next, "database system was shut down at") || strings.Contains(next, "not properly shut down") {
		t.Errorf("the next start ran crash recovery:\n%s", next)
	}
	t.Logf("the next start:\n%s", next)
}

// Postgres as the child, with an idle client connected, stopped like
// `docker stop` stops it (SIGTERM, a 10 s budget): lastcall sends SIGINT
// (fast shutdown), where SIGTERM (smart shutdown) would wait for the
// client until the SIGKILL. The cluster ends "shut down", the next start
// runs no crash recovery, and lastcall exits 0.
func TestPostgresChildFastShutdown(t *testing.T) {
	eachPGMode(t, func(t *testing.T, c *pgCluster, pid1 bool) {
		args := append([]string{"--stop-timeout", "10s", "--log-format", "json", "--",
			c.bin + "/postgres", "-D", c.data}, c.serverOptions()...)
		r := startPGRun(t, pid1, args...)
		c.waitAccepting(t)
		db, conn, err := pgtest.OpenConn(c.SocketDSN(pgtest.Superuser, "postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		defer func() { _ = conn.Close() }()
		ctx, cancel := withTimeout()
		defer cancel()
		if err := conn.PingContext(ctx); err != nil {
			t.Fatal(err)
		}

		start := time.Now()
		if err := syscall.Kill(r.lastcallPID(t), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		code, logs := r.wait(t, 30*time.Second)
		t.Logf("lastcall's log, stopped after %v:\n%s", time.Since(start), r.log(t))
		if code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		stop := linesWith(logs, "stop signal received")
		if len(stop) != 1 || !strings.Contains(fmt.Sprint(stop[0]["postgres"]), "SIGINT") {
			t.Errorf("the plan line does not say the postmaster gets SIGINT: %v", stop)
		}
		forwarded := linesWith(logs, "forwarded")
		if len(forwarded) == 0 || forwarded[0]["signal"] != "SIGINT" {
			t.Errorf("forwarded %v, want SIGINT", forwarded)
		}
		checkCleanEnd(t, c, logs)
	})
}

// allInOne is the entrypoint of an image that holds its database: pg_ctl
// starts the server, then the shell execs the app.
func (c *pgCluster) allInOne(app string, settings ...string) []string {
	opts := strings.Join(quoteAll(c.serverOptions(settings...)), " ")
	script := fmt.Sprintf("%s/pg_ctl start -w -D '%s' -l '%s/pg_ctl.log' -o \"%s\" && exec %s",
		c.bin, c.data, c.Dir, strings.ReplaceAll(opts, `"`, `\"`), app)
	return []string{"/bin/sh", "-c", script}
}

// The all-in-one entrypoint: the app writes about 450 MB into the
// database and exits at once; the postmaster is a leftover with its
// buffers dirty. It gets SIGINT, alone, and the rest of the budget for its
// shutdown checkpoint, not --leftover-grace (100ms here, far too short:
// the old TERM, grace, KILL would have killed it mid-checkpoint).
func TestPostgresLeftoverCheckpoints(t *testing.T) {
	requirePsql(t)
	eachPGMode(t, func(t *testing.T, c *pgCluster, pid1 bool) {
		psql := fmt.Sprintf("%s/psql -X -q -v ON_ERROR_STOP=1 -h '%s' -p %d -U postgres -d postgres -c "+
			`"CREATE TABLE ballast AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 800000) g"`,
			c.bin, c.SocketDir, c.Port)
		args := append([]string{"--stop-timeout", "30s", "--leftover-grace", "100ms", "--log-format", "json", "--"},
			c.allInOne(psql, "shared_buffers=768MB", "max_wal_size=4GB", "checkpoint_timeout=1h")...)
		r := startPGRun(t, pid1, args...)
		code, logs := r.wait(t, 2*time.Minute)
		t.Logf("lastcall's log:\n%s", r.log(t))
		if code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		stopping := linesWith(logs, "stopping postgres: fast shutdown")
		if len(stopping) != 1 || stopping[0]["signal"] != "SIGINT" {
			t.Errorf("no SIGINT to the postmaster: %v", stopping)
		}
		checkCleanEnd(t, c, logs)
		line := postgresLine(t, logs)
		took, err := time.ParseDuration(fmt.Sprint(line["since_sigint"]))
		if err != nil || took < 100*time.Millisecond {
			t.Errorf("the shutdown took %v (%v), within --leftover-grace: the test proves nothing", took, err)
		}
		t.Logf("the shutdown (its checkpoint) took %v", took)
	})
}

// A postmaster whose checkpointer is frozen cannot finish its shutdown:
// lastcall kills it and its processes at the end of the budget, says the
// next start will run crash recovery, and exits 5 though the app exited 0.
func TestPostgresLeftoverKilledAtDeadline(t *testing.T) {
	eachPGMode(t, func(t *testing.T, c *pgCluster, pid1 bool) {
		args := append([]string{"--stop-timeout", "4s", "--log-format", "json", "--"}, c.allInOne("cat")...)
		r := startPGRun(t, pid1, args...)
		c.postmasterPID(t)
		freeze(t, checkpointerOf(t, r.cmd.Process.Pid))
		began := time.Now()
		_ = r.stdin.Close() // the app (cat) exits
		code, logs := r.wait(t, 30*time.Second)
		t.Logf("lastcall's log after %v:\n%s", time.Since(began), r.log(t))
		if code != 5 {
			t.Errorf("exit code %d, want 5", code)
		}
		killed := linesWith(logs, "postgres did not shut down within the budget, killed")
		if len(killed) != 1 || !strings.Contains(fmt.Sprint(killed[0]["killed"]), "postgres") {
			t.Errorf("no line naming the killed processes: %v", killed)
		}
		line := postgresLine(t, logs)
		if line["level"] != "warn" || line["postgres_state"] != "in production" || line["killed"] != true ||
			!strings.Contains(fmt.Sprint(line["msg"]), "the next start will run crash recovery") {
			t.Errorf("postgres line %v; want a warning: in production, killed, crash recovery", line)
		}
		if got := c.state(t); got != "in production" {
			t.Errorf("pg_controldata: %q, want in production", got)
		}
		if next := c.nextStart(t); !strings.Contains(next, "not properly shut down") {
			t.Errorf("the next start ran no crash recovery:\n%s", next)
		} else {
			t.Logf("the next start:\n%s", next)
		}
	})
}

// The all-in-one entrypoint stopped while the app runs, an app that
// ignores SIGTERM: the plan's SIGKILL kills the app but spares the
// postmaster, which then gets SIGINT and what is left of the budget, and
// shuts down cleanly. The plan line says so up front.
func TestPostgresSparedWhenTheAppIsKilled(t *testing.T) {
	eachPGMode(t, func(t *testing.T, c *pgCluster, pid1 bool) {
		args := append([]string{"--stop-timeout", "8s", "--grace", "1s", "--log-format", "json", "--"},
			c.allInOne(appBinary(t)+" ignore-term")...)
		r := startPGRun(t, pid1, args...)
		c.postmasterPID(t)
		waitForFile(t, r, "the app's ready line", "\nready\n")
		if err := syscall.Kill(r.lastcallPID(t), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		code, logs := r.wait(t, 30*time.Second)
		t.Logf("lastcall's log:\n%s", r.log(t))
		if code != 137 {
			t.Errorf("exit code %d, want 137 (the app, killed)", code)
		}
		stop := linesWith(logs, "stop signal received")
		if len(stop) != 1 || !strings.Contains(fmt.Sprint(stop[0]["postgres"]), "once the app has exited") {
			t.Errorf("the plan line does not say when the postmaster stops: %v", stop)
		}
		esc := linesWith(logs, "grace period over, escalated to SIGKILL")
		if len(esc) != 1 || !strings.Contains(fmt.Sprint(esc[0]["postgres_spared"]), c.data) ||
			strings.Contains(fmt.Sprint(esc[0]["killed"]), "postgres") {
			t.Errorf("the escalation killed postgres or did not say it spared it: %v", esc)
		}
		checkCleanEnd(t, c, logs)
	})
}

// waitForFile waits until lastcall's stderr (which the app shares) holds
// want (what says what it is, for the failure).
func waitForFile(t *testing.T, r *pgRun, what, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(r.log(t), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in lastcall's output:\n%s", what, r.log(t))
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}

// A postmaster child that cannot finish is killed at the plan's deadline;
// --remap-exit 137:0 cannot hide that: lastcall exits 5.
func TestPostgresChildKilledRemapCannotHide(t *testing.T) {
	c := stoppedCluster(t)
	args := append([]string{"--stop-timeout", "4s", "--remap-exit", "137:0", "--log-format", "json", "--",
		c.bin + "/postgres", "-D", c.data}, c.serverOptions()...)
	r := startPGRun(t, false, args...)
	c.postmasterPID(t)
	freeze(t, checkpointerOf(t, r.cmd.Process.Pid))
	if err := syscall.Kill(r.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, logs := r.wait(t, 30*time.Second)
	t.Logf("lastcall's log:\n%s", r.log(t))
	if code != 5 {
		t.Errorf("exit code %d, want 5", code)
	}
	esc := linesWith(logs, "grace period over, escalated to SIGKILL")
	if len(esc) != 1 || !strings.Contains(fmt.Sprint(esc[0]["killed"]), "postgres") {
		t.Errorf("the escalation line names no killed process: %v", esc)
	}
	if line := postgresLine(t, logs); line["postgres_state"] != "in production" || line["killed"] != true {
		t.Errorf("postgres line %v; want in production, killed", line)
	}
}

// checkpointerOf finds the checkpointer among the descendants of root.
func checkpointerOf(t *testing.T, root int) procfs.Stat {
	t.Helper()
	// The postmaster starts its checkpointer, which sets its title, a
	// moment after pg_ctl says the server is up: wait for it.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		procs, err := procfs.List()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range procfs.DescendantsOf(root, procs) {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
			if strings.HasPrefix(string(cmdline), "postgres: checkpointer") {
				return p
			}
		}
	}
	t.Fatal("no checkpointer below lastcall within 30s")
	return procfs.Stat{}
}

// freeze stops p with SIGSTOP; it is killed when t ends, if still there.
func freeze(t *testing.T, p procfs.Stat) {
	t.Helper()
	if err := syscall.Kill(p.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if now, err := procfs.ReadStat(p.PID); err == nil && now.Start == p.Start {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	})
}

// requirePsql skips the test without psql, or fails it when
// LASTCALL_REQUIRE_PG=1.
func requirePsql(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(pgtest.BinDir(t) + "/psql"); err != nil {
		if os.Getenv("LASTCALL_REQUIRE_PG") == "1" {
			t.Fatalf("LASTCALL_REQUIRE_PG=1 but no psql: %v", err)
		}
		t.Skipf("no psql: %v", err)
	}
}
