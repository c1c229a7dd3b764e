package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/testutil"
)

// debianGunicorn is Debian's gunicorn: its shebang is /usr/bin/python3,
// which sees Debian's python3-flask and python3-psycopg2 (a python3 earlier
// in PATH may not).
const debianGunicorn = "/usr/bin/gunicorn"

// requireGunicorn skips the test with a loud reason when Debian's gunicorn,
// Flask or psycopg2 is missing, or fails it when LASTCALL_REQUIRE_PG=1.
func requireGunicorn(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat(debianGunicorn); err != nil {
		missing = append(missing, debianGunicorn+" (apt-get install gunicorn)")
	}
	out, err := exec.Command("/usr/bin/python3", "-c", "import flask, psycopg2.pool").CombinedOutput()
	if err != nil {
		missing = append(missing, fmt.Sprintf("flask or psycopg2 for /usr/bin/python3 (apt-get install python3-flask python3-psycopg2): %v: %s",
			err, lastLine(string(out))))
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		missing = append(missing, "unshare (apt-get install util-linux)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "the gunicorn end-to-end test needs " + strings.Join(missing, "; ")
	if os.Getenv("LASTCALL_REQUIRE_PG") == "1" {
		t.Fatalf("LASTCALL_REQUIRE_PG=1 but %s", msg)
	}
	t.Skipf("SKIPPING: %s (LASTCALL_REQUIRE_PG=1 makes this a failure)", msg)
}

// TestGunicornDrain runs a Flask app with a psycopg2 pool under Debian's
// gunicorn (2 workers), under lastcall as PID 1 of a new PID namespace,
// with the drain check on, and stops it with SIGTERM once it serves.
func TestGunicornDrain(t *testing.T) {
	requireGunicorn(t)
	c := pgtest.Start(t)
	tests := []struct {
		name    string
		config  string // the gunicorn config in testdata/gunicorn
		code    int
		verdict string
		leak    bool   // each worker's first request forks a grandchild that keeps a pool connection
		named   bool   // the verdict names those grandchildren as holders
		state   string // the TCP state of the grandchildren's sockets when gunicorn has exited; "": any
		line    string // a log line that must be there
	}{
		{"the workers close their pool", "clean.py", 0, "drained", false, false, "", ""},
		// The worker's exit ends the session (psycopg2 sends Terminate on
		// the shared socket): the grandchild still has the socket open, but
		// half-closed by the server (CLOSE_WAIT), its session gone. Nothing
		// of the app's is left on the database: drained.
		{"a forked grandchild keeps a socket whose session the worker ended", "leaky.py", 0, "drained", true, false, "", ""},
		// The grandchild's query keeps the session open, after the
		// grandchild is killed too (the server notices only when the query
		// ends). The verdict waits for the check's deadline.
		{"a forked grandchild runs a query on a worker's connection", "busy.py", 0, "leaked", true, true, "ESTABLISHED",
			"session still open on the server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The next case counts sessions tagged lastcall-*: end this one's.
			t.Cleanup(func() {
				c.Exec(t, "select pg_terminate_backend(pid) from pg_stat_activity where usename = '"+c.User+"'")
			})
			run := startGunicorn(t, c, tt.config, nil)
			leaked := run.waitServing(t, tt.leak)
			waitForTaggedSessions(t, c, 2) // one pool connection per worker: the check has something to see
			run.stop(t)
			code, lines, raw := run.wait(t)
			v := line(lines, "drain verdict")
			if code != tt.code || v == nil || v["verdict"] != tt.verdict {
				t.Fatalf("exit %d, verdict %v; want %d, %s; log:\n%s", code, v, tt.code, tt.verdict, raw)
			}
			t.Logf("verdict: %v", v)
			holders := linesWith(lines, "a process held the app's database connection after the app exited")
			if !tt.named {
				leaked = nil
			}
			checkHolders(t, holders, leaked, tt.state, raw)
			if tt.line != "" && line(lines, tt.line) == nil {
				t.Errorf("no %q line:\n%s", tt.line, raw)
			}
			if strings.Contains(raw, c.Password) {
				t.Errorf("the password reached the log:\n%s", raw)
			}
			if conn, err := net.DialTimeout("tcp", run.addr, time.Second); err == nil {
				_ = conn.Close()
				t.Errorf("something still listens on gunicorn's %s after lastcall exited", run.addr)
			}
		})
	}
}

// checkHolders checks that the holder lines name exactly the grandchildren
// the app forked (their pids came back in X-Leaked-Pid; lastcall and the app
// see the same PID namespace), as gunicorn or python3 processes whose
// sockets are in state (any when "").
func checkHolders(t *testing.T, holders []map[string]any, leaked map[int]bool, state, raw string) {
	t.Helper()
	named := make(map[int]bool)
	for _, h := range holders {
		pid, _ := h["holder_pid"].(float64)
		cmd, _ := h["holder_cmd"].(string)
		t.Logf("holder: %v", h)
		if !leaked[int(pid)] || (cmd != "gunicorn" && cmd != "python3") || (state != "" && h["state"] != state) {
			t.Errorf("holder_pid %v holder_cmd %q state %v: want one of the forked grandchildren %v, a gunicorn or python3 process, %s",
				h["holder_pid"], cmd, h["state"], leaked, state)
		}
		named[int(pid)] = true
	}
	for pid := range leaked {
		if !named[pid] {
			t.Errorf("grandchild %d kept a worker's connection, but no holder line names it; log:\n%s", pid, raw)
		}
	}
}

// gunicornRun is lastcall, as PID 1 under unshare, running gunicorn.
type gunicornRun struct {
	cmd    *exec.Cmd
	stderr *testutil.SyncBuffer // lastcall's JSON lines and gunicorn's own
	addr   string               // gunicorn's 127.0.0.1:PORT
	done   chan struct{}
}

// startGunicorn starts `unshare --pid --fork --mount-proc lastcall ...
// [flags] gunicorn -c config -w 2 -b 127.0.0.1:PORT --chdir
// testdata/gunicorn app:app` with DATABASE_URL set to the app role's URL.
func startGunicorn(t *testing.T, c *pgtest.Cluster, config string, flags []string) *gunicornRun {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(repoRoot, "testdata", "gunicorn"))
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freeLoopbackPort(t)))
	argv := []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}
	if os.Geteuid() != 0 {
		argv = append(argv[:1], append([]string{"--user", "--map-root-user"}, argv[1:]...)...)
	}
	argv = append(argv, lastcallBinary(t), "--db-check", "both", "--log-format", "json", "--grace", "5s")
	argv = append(append(argv, flags...), "--", debianGunicorn, "-c", filepath.Join(dir, config), "-w", "2", "-b", addr, "--chdir", dir, "app:app")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(baseEnv(), "DATABASE_URL="+c.AppURL())
	r := &gunicornRun{cmd: cmd, stderr: &testutil.SyncBuffer{}, addr: addr, done: make(chan struct{})}
	cmd.Stderr = r.stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // --kill-child: the namespace's PID 1 goes too, and with it the namespace
		<-r.done
	})
	return r
}

// waitServing waits until GET / has answered 200 "ok" four times in a row
// (with two workers, most likely from both) and, when leak is set, until a
// worker has forked a grandchild. It returns the grandchildren's pids.
func (r *gunicornRun) waitServing(t *testing.T, leak bool) map[int]bool {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	leaked := make(map[int]bool)
	deadline := time.Now().Add(30 * time.Second)
	var lastErr error
	for ok := 0; ok < 4 || (leak && len(leaked) == 0); {
		if time.Now().After(deadline) {
			t.Fatalf("gunicorn at %s did not serve (last: %v); stderr:\n%s", r.addr, lastErr, r.stderr)
		}
		select {
		case <-r.done:
			t.Fatalf("lastcall exited before gunicorn served; stderr:\n%s", r.stderr)
		default:
		}
		var pid int
		if pid, lastErr = getOK(client, "http://"+r.addr+"/"); lastErr != nil {
			ok = 0
			time.Sleep(20 * time.Millisecond)
			continue
		}
		ok++
		if pid != 0 {
			leaked[pid] = true
		}
	}
	return leaked
}

// getOK gets url and wants 200 "ok"; pid is the X-Leaked-Pid header, if any.
func getOK(client *http.Client, url string) (pid int, err error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || body.String() != "ok" {
		return 0, fmt.Errorf("GET %s: %s %q", url, resp.Status, body.String())
	}
	if h := resp.Header.Get("X-Leaked-Pid"); h != "" {
		return strconv.Atoi(h)
	}
	return 0, nil
}

// stop sends SIGTERM to lastcall: the namespace's PID 1, unshare's child.
func (r *gunicornRun) stop(t *testing.T) {
	t.Helper()
	pid := childOf(t, r.cmd.Process.Pid, "lastcall")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to lastcall %d: %v", pid, err)
	}
}

// wait waits for unshare (it exits with lastcall's code) and parses the
// JSON log lines.
func (r *gunicornRun) wait(t *testing.T) (int, []map[string]any, string) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("lastcall did not exit 30s after SIGTERM; stderr:\n%s", r.stderr)
	}
	raw := r.stderr.String()
	return r.cmd.ProcessState.ExitCode(), parseJSONLines(raw), raw
}

// TestGunicornRollback: a gunicorn worker holds an open transaction when
// the stop begins, and dies of SIGKILL on its way out, once lastcall's
// drain check has sampled it (the worker's exit hook waits for the monitor's
// query: no sleep). An uncommitted UPDATE is rolled back by the server:
// rolled_back 1, the backend named, and --db-strict exits 3. A transaction
// committed before the worker died, and a read-only one (no transaction
// id), lose nothing: rolled_back 0.
func TestGunicornRollback(t *testing.T) {
	requireGunicorn(t)
	c := pgtest.Start(t)
	if out, err := psqlAt(c.AppURL(), "CREATE TABLE counter (n int); INSERT INTO counter VALUES (0)"); err != nil {
		t.Fatalf("create counter: %v: %s", err, out)
	}
	tests := []struct {
		name   string
		config string
		kind   string // GET /begin/KIND
		code   int
		rolled float64
	}{
		{"an uncommitted UPDATE", "rollback.py", "write", exitLeaked, 1},
		{"a committed UPDATE", "commit.py", "write", 0, 0},
		{"a read-only transaction", "rollback.py", "read", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(func() {
				c.Exec(t, "select pg_terminate_backend(pid) from pg_stat_activity where usename = '"+c.User+"'")
			})
			run := startGunicorn(t, c, tt.config, []string{"--db-strict=true", "--db-show-query=true"})
			run.waitServing(t, false)
			client := &http.Client{Timeout: 5 * time.Second}
			if _, err := getOK(client, "http://"+run.addr+"/begin/"+tt.kind); err != nil {
				t.Fatal(err)
			}
			backend := waitForOpenTransaction(t, c, tt.kind == "write")
			run.stop(t)
			code, lines, raw := run.wait(t)
			v := line(lines, "drain verdict")
			if code != tt.code || v == nil || v["verdict"] != "drained" || v["rolled_back"] != tt.rolled {
				t.Fatalf("exit %d, verdict %v; want %d, drained, rolled_back %v; log:\n%s", code, v, tt.code, tt.rolled, raw)
			}
			t.Logf("verdict: %v", v)
			rolled := linesWith(lines, "the server rolled back a transaction of the app's")
			if len(rolled) != int(tt.rolled) {
				t.Fatalf("%d rolled-back lines; want %v:\n%s", len(rolled), tt.rolled, raw)
			}
			for _, r := range rolled {
				t.Logf("rolled back: %v", r)
				if r["backend_pid"] != float64(backend) || r["state"] != "idle in transaction" ||
					!strings.Contains(fmt.Sprint(r["query"]), "UPDATE counter") || r["xact_age"] == nil {
					t.Errorf("rolled back %v; want backend %d, idle in transaction, the UPDATE, its age", r, backend)
				}
			}
			if strings.Contains(raw, c.Password) {
				t.Errorf("the password reached the log:\n%s", raw)
			}
		})
	}
}

// waitForOpenTransaction waits until a session tagged by lastcall is idle
// in transaction, holding a transaction id when write is set (none
// otherwise), and returns its backend pid.
func waitForOpenTransaction(t *testing.T, c *pgtest.Cluster, write bool) int {
	t.Helper()
	q := "select pid from pg_stat_activity where application_name like 'lastcall-%' and application_name <> 'lastcall-monitor'" +
		" and state = 'idle in transaction' and backend_xid is " + map[bool]string{true: "not null", false: "null"}[write]
	var out []byte
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, err = psqlAt(c.AppURL(), q)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && perr == nil {
			return pid
		}
	}
	t.Fatalf("no tagged session idle in transaction (write %v) within 20s: %v: %s", write, err, out)
	return 0
}
