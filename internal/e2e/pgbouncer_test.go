package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
)

// debianPgBouncer is Debian's pgbouncer package's binary.
const debianPgBouncer = "/usr/sbin/pgbouncer"

// pgBouncer is a running PgBouncer in front of a pgtest cluster, in
// session mode, for the app role.
type pgBouncer struct {
	Port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// URL is the app role's URL through the bouncer.
func (b *pgBouncer) URL(c *pgtest.Cluster, database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.User, c.Password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)), Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

func (b *pgBouncer) log() string {
	out, _ := os.ReadFile(filepath.Join(b.dir, "pgbouncer.log"))
	return string(out)
}

// startPgBouncer starts Debian's pgbouncer in front of c and stops it when
// t ends. It skips t with a loud reason without pgbouncer, or fails it when
// LASTCALL_REQUIRE_PG=1. As root it runs as the OS user postgres: pgbouncer
// refuses root.
func startPgBouncer(t *testing.T, c *pgtest.Cluster) *pgBouncer {
	t.Helper()
	return startPgBouncerMode(t, c, "session")
}

// startPgBouncerMode is startPgBouncer with pool_mode = mode.
func startPgBouncerMode(t *testing.T, c *pgtest.Cluster, mode string) *pgBouncer {
	t.Helper()
	if _, err := os.Stat(debianPgBouncer); err != nil {
		msg := fmt.Sprintf("no PgBouncer at %s (apt-get install pgbouncer): %v", debianPgBouncer, err)
		if os.Getenv("LASTCALL_REQUIRE_PG") == "1" {
			t.Fatalf("LASTCALL_REQUIRE_PG=1 but %s", msg)
		}
		t.Skipf("SKIPPING: %s (LASTCALL_REQUIRE_PG=1 makes this a failure)", msg)
	}
	// pgbouncer refuses root, like initdb: it runs as the cluster's owner.
	owner, err := pgtest.ClusterOwner()
	if err != nil {
		t.Fatal(err)
	}
	dir := owner.TempDir(t, "lastcall-pgbouncer-")
	for attempt := 1; ; attempt++ {
		b := &pgBouncer{Port: freeLoopbackPort(t), dir: dir}
		err := b.start(t, c, owner, mode)
		if err == nil {
			return b
		}
		if !strings.Contains(b.log(), "Address already in use") || attempt == 5 {
			t.Fatalf("pgbouncer: %v\n%s", err, b.log())
		}
	}
}

// start writes the config for b.Port and runs pgbouncer until it accepts
// the app role.
func (b *pgBouncer) start(t *testing.T, c *pgtest.Cluster, owner pgtest.Owner, mode string) error {
	t.Helper()
	ini := fmt.Sprintf(`[databases]
%s = host=127.0.0.1 port=%d dbname=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = plain
auth_file = %s
stats_users = %s
pool_mode = %s
ignore_startup_parameters = extra_float_digits
logfile = %s
`, c.Database, c.Port, c.Database, b.Port, filepath.Join(b.dir, "userlist.txt"), c.User, mode, filepath.Join(b.dir, "pgbouncer.log"))
	files := map[string]string{
		"pgbouncer.ini": ini,
		"userlist.txt":  fmt.Sprintf("%q %q\n", c.User, c.Password),
	}
	for name, text := range files {
		path := filepath.Join(b.dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return err
		}
		if err := owner.Chown(path); err != nil {
			return err
		}
	}
	b.cmd = exec.Command(debianPgBouncer, filepath.Join(b.dir, "pgbouncer.ini"))
	b.cmd.Dir = b.dir
	b.cmd.SysProcAttr = owner.SysProcAttr(syscall.SIGKILL)
	if err := b.cmd.Start(); err != nil {
		return err
	}
	b.done = make(chan struct{})
	go func() {
		_ = b.cmd.Wait()
		close(b.done)
	}()
	if err := b.waitReady(c); err != nil {
		b.stop(t)
		return err
	}
	t.Cleanup(func() { b.stop(t) })
	return nil
}

// waitReady polls SHOW VERSION on the bouncer's admin console until it
// answers, the bouncer exits, or 20s pass. It opens no server connection:
// the first one is the app's, made with the app's startup parameters (its
// tag among them), as in the field.
func (b *pgBouncer) waitReady(c *pgtest.Cluster) error {
	var out []byte
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-b.done:
			return fmt.Errorf("pgbouncer exited: %v", b.cmd.ProcessState)
		default:
		}
		if out, err = psqlAt(b.URL(c, "pgbouncer"), "SHOW VERSION"); err == nil && bytes.Contains(out, []byte("PgBouncer")) {
			return nil
		}
	}
	return fmt.Errorf("pgbouncer at 127.0.0.1:%d never answered SHOW VERSION: %v: %s", b.Port, err, out)
}

// stop ends pgbouncer (SIGTERM, SIGKILL after 10s), waits for it and checks
// that its port is closed.
func (b *pgBouncer) stop(t *testing.T) {
	pid := b.cmd.Process.Pid
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		t.Errorf("pgbouncer %d ignored SIGTERM for 10s; killed it", pid)
		_ = b.cmd.Process.Kill()
		<-b.done
	}
	// pgbouncer runs in the foreground and forks nothing: once it is
	// reaped, its port must be closed, or something else still holds it.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port))
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("%s still accepts connections after pgbouncer %d was stopped", addr, pid)
	}
}

// psqlAt runs one query with psql -At (at most 5s).
func psqlAt(dsn, query string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "psql", dsn, "-Atc", query).CombinedOutput()
}

// showClients is pgbouncer's SHOW CLIENTS, as the stats user on its admin
// console.
func (b *pgBouncer) showClients(c *pgtest.Cluster) (string, error) {
	out, err := psqlAt(b.URL(c, "pgbouncer"), "SHOW CLIENTS")
	return string(out), err
}

// TestPgBouncerDrain runs psql through a real PgBouncer (session mode) under
// lastcall with the drain check on. The server view cannot tell our
// sessions there (PgBouncer's server connections outlive its clients, and
// their client ports are PgBouncer's): the self-check marks it advisory and
// the local view, the sockets of lastcall's tree to the bouncer, decides.
func TestPgBouncerDrain(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql plays the app here; install postgresql-client")
	}
	c := pgtest.Start(t)
	b := startPgBouncer(t, c)
	tests := []struct {
		name     string
		stop     bool // SIGTERM once the app's client is up on the bouncer
		flags    []string
		app      string
		code     int
		verdict  string
		wantLine string
	}{
		{"the app's client goes with it", true, nil,
			`exec psql "$DATABASE_URL" -q`, 143, "drained", ""},
		{"a descendant keeps the connection", false, []string{"--db-strict=true", "--leftover-grace", "300ms"},
			`psql "$DATABASE_URL" -qc "select pg_sleep(30)" & until psql "$DATABASE_URL" -Atc "select 1 from pg_stat_activity where application_name = '$PGAPPNAME' and state = 'active' and pid <> pg_backend_pid() and query like '%pg_sleep%'" | grep -q 1; do :; done; exit 0`,
			exitLeaked, "leaked", "a process held the app's database connection after the app exited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, lines, raw := bouncerRun(t, c, b, tt.stop, tt.flags, tt.app)
			v := line(lines, "drain verdict")
			if code != tt.code || v == nil || v["verdict"] != tt.verdict || v["advisory"] != true {
				t.Fatalf("exit %d, verdict %v; want %d, %s, advisory; log:\n%s\npgbouncer log:\n%s", code, v, tt.code, tt.verdict, raw, b.log())
			}
			t.Logf("verdict: %v", v)
			for _, h := range linesWith(lines, "a process held the app's database connection after the app exited") {
				t.Logf("holder: %v", h)
				if h["holder_cmd"] != "psql" || h["remote"] != net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)) {
					t.Errorf("holder %v: want psql, connected to the bouncer", h)
				}
			}
			if tt.wantLine != "" && line(lines, tt.wantLine) == nil {
				t.Errorf("no %q line:\n%s", tt.wantLine, raw)
			}
			if strings.Contains(raw, c.Password) {
				t.Errorf("the password reached the log:\n%s", raw)
			}
			// What makes the server view meaningless here: the bouncer's
			// server connections are still open.
			out, err := psqlAt(c.SocketDSN(pgtest.Superuser, "postgres"),
				"select count(*) from pg_stat_activity where usename = 'app' and datname = 'app'")
			t.Logf("the bouncer's server connections after the verdict: %s (err %v)", bytes.TrimSpace(out), err)
			if err != nil || string(bytes.TrimSpace(out)) == "0" {
				t.Errorf("PgBouncer kept no server connection (%s, %v): this test shows nothing a direct connection would not", out, err)
			}
		})
	}
}

// bouncerRun runs lastcall with the drain check on, JSON logs at debug,
// DATABASE_URL pointing at the bouncer, app in sh -c with a stdin that
// stays open. When stop is set, it sends SIGTERM once the bouncer lists
// the app's client, linked to a server connection.
func bouncerRun(t *testing.T, c *pgtest.Cluster, b *pgBouncer, stop bool, flags []string, app string) (int, []map[string]any, string) {
	t.Helper()
	a := startDrainApp(t, []string{"DATABASE_URL=" + b.URL(c, c.Database)}, flags, app)
	if stop {
		waitForBouncerClient(t, c, b, a.done)
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
	}
	return a.result(t)
}

// waitForBouncerClient waits until PgBouncer's SHOW CLIENTS lists an active
// client (linked to a server connection) whose application_name is a tag of
// lastcall's, not its monitor's.
func waitForBouncerClient(t *testing.T, c *pgtest.Cluster, b *pgBouncer, done <-chan struct{}) {
	t.Helper()
	var out string
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-done:
			t.Fatal("lastcall exited before the app's client showed up on the bouncer")
		default:
		}
		out, err = b.showClients(c)
		for _, row := range strings.Split(out, "\n") {
			if strings.Contains(row, "|active|") && strings.Contains(row, "|lastcall-") && !strings.Contains(row, "|lastcall-monitor") {
				t.Logf("the app's client on the bouncer: %s", row)
				return
			}
		}
	}
	t.Fatalf("PgBouncer never listed the app's client; SHOW CLIENTS: %v\n%s", err, out)
}

// TestPgBouncerPooled: the app talks to PgBouncer (DATABASE_URL) in
// transaction pooling, the usual mode for web apps, while the drain check
// watches PostgreSQL itself (LASTCALL_DB_URL): the server view is decisive.
// PgBouncer SETs the client's application_name on the server connection
// it lends, and in transaction mode runs no reset query when it takes the
// connection back: after the app's tree is gone, that server connection
// still carries the app's tag. The check finds PgBouncer holding its
// client end, outside lastcall's tree, and calls it pooled, not leaked. A
// descendant that still held its connection to PgBouncer when the app
// exited is a leak all the same: PgBouncer is where the app's sessions
// were. (In session mode PgBouncer's DISCARD ALL clears the tag: nothing
// of the app's is left to see.)
func TestPgBouncerPooled(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql plays the app here; install postgresql-client")
	}
	c := pgtest.Start(t)
	tests := []struct {
		name    string
		stop    bool // SIGTERM once the app's session is tagged on the server; else a line on stdin lets the app exit
		flags   []string
		app     string
		code    int
		verdict string
		holder  bool // a holder line names psql, connected to the bouncer
	}{
		{"the pooler keeps the app's session", true, nil,
			`psql "$DATABASE_URL" -qc "select 1" >/dev/null && exec psql "$DATABASE_URL" -q`, 143, "drained", false},
		{"a descendant keeps its connection to the pooler", false, []string{"--db-strict=true", "--leftover-grace", "300ms"},
			`{ echo "select 1;"; exec sleep 3600; } | psql "$DATABASE_URL" -q >/dev/null & read go; exit 0`, exitLeaked, "leaked", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(func() {
				c.Exec(t, "select pg_terminate_backend(pid) from pg_stat_activity where usename = '"+c.User+"'")
			})
			b := startPgBouncerMode(t, c, "transaction") // a pool of its own: nothing of an earlier case's
			code, lines, raw := pooledRun(t, c, b, tt.stop, tt.flags, tt.app)
			v := line(lines, "drain verdict")
			if code != tt.code || v == nil || v["verdict"] != tt.verdict || v["advisory"] != false || v["pooled"].(float64) < 1 {
				t.Fatalf("exit %d, verdict %v; want %d, %s, decisive, pooled; log:\n%s\npgbouncer log:\n%s", code, v, tt.code, tt.verdict, raw, b.log())
			}
			t.Logf("verdict: %v", v)
			pooled := linesWith(lines, "session held by a process outside lastcall's tree (pooled, not the app's)")
			for _, p := range pooled {
				t.Logf("pooled: %v", p)
				if p["pooler_pid"] != float64(b.cmd.Process.Pid) || p["pooler_cmd"] != "pgbouncer" {
					t.Errorf("pooled line %v: want pooler_pid %d, pooler_cmd pgbouncer", p, b.cmd.Process.Pid)
				}
			}
			if len(pooled) == 0 {
				t.Errorf("no pooled line:\n%s", raw)
			}
			holders := linesWith(lines, "a process held the app's database connection after the app exited")
			for _, h := range holders {
				t.Logf("holder: %v", h)
				if h["holder_cmd"] != "psql" || h["remote"] != net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)) {
					t.Errorf("holder %v: want psql, connected to the bouncer", h)
				}
			}
			if tt.holder != (len(holders) > 0) {
				t.Errorf("%d holder lines; want them: %v\n%s", len(holders), tt.holder, raw)
			}
			if strings.Contains(raw, c.Password) {
				t.Errorf("the password reached the log:\n%s", raw)
			}
		})
	}
}

// pooledRun runs lastcall with the drain check on PostgreSQL itself
// (LASTCALL_DB_URL) and DATABASE_URL pointing at the bouncer, app in sh -c.
// Once the server shows a session with the app's tag (the app has run a
// query through the bouncer), it sends SIGTERM (stop), or writes a line to
// the app's stdin.
func pooledRun(t *testing.T, c *pgtest.Cluster, b *pgBouncer, stop bool, flags []string, app string) (int, []map[string]any, string) {
	t.Helper()
	a := startDrainApp(t, []string{"DATABASE_URL=" + b.URL(c, c.Database), "LASTCALL_DB_URL=" + c.AppURL()}, flags, app)
	waitForTaggedSessions(t, c, 1)
	if stop {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
	} else if _, err := a.keep.WriteString("go\n"); err != nil {
		t.Fatal(err)
	}
	return a.result(t)
}

// drainApp is lastcall running app in sh -c with the drain check on, JSON
// logs at debug, and a stdin that stays open until the test ends (keep
// writes to it).
type drainApp struct {
	cmd    *exec.Cmd
	keep   *os.File
	stderr *bytes.Buffer
	done   chan struct{} // closed when lastcall has exited
}

func startDrainApp(t *testing.T, env, flags []string, app string) *drainApp {
	t.Helper()
	args := append([]string{"--db-check", "both", "--log-format", "json", "--log-level", "debug", "--grace", "2s"}, flags...)
	cmd := exec.Command(lastcallBinary(t), append(args, "--", "sh", "-c", app)...)
	cmd.Env = append(baseEnv(), env...)
	stdin, keep, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	a := &drainApp{cmd: cmd, keep: keep, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdin, cmd.Stderr = stdin, a.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(a.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-a.done
		_ = keep.Close()
		_ = stdin.Close()
	})
	return a
}

// result waits for lastcall's exit (at most 30s) and returns its code and
// its log lines.
func (a *drainApp) result(t *testing.T) (int, []map[string]any, string) {
	t.Helper()
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("lastcall did not exit in 30s")
	}
	raw := a.stderr.String()
	return a.cmd.ProcessState.ExitCode(), parseJSONLines(raw), raw
}
