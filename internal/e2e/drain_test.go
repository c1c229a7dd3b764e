package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
)

// drainRun runs lastcall with the drain check on, JSON logs at debug, with
// DATABASE_URL set; psql (libpq: it sends PGAPPNAME) plays the app. When
// stop is set, it sends SIGTERM once the app's session is visible.
func drainRun(t *testing.T, c *pgtest.Cluster, url string, stop bool, flags []string, app string) (int, []map[string]any, string) {
	t.Helper()
	args := append([]string{"--db-check", "both", "--log-format", "json", "--log-level", "debug", "--grace", "2s"}, flags...)
	cmd := exec.Command(lastcallBinary(t), append(args, "--", "sh", "-c", app)...)
	cmd.Env = append(baseEnv(), "DATABASE_URL="+url, "PSQL_URL="+c.AppURL())
	// A stdin that stays open: psql waits on it, its session idle.
	stdin, keep, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	defer stdin.Close()
	cmd.Stdin = stdin
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	if stop {
		// An app running a query must be seen running it.
		waitForSession(t, c, strings.Contains(app, "pg_sleep"))
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	var lines []map[string]any
	var raw strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		raw.WriteString(sc.Text() + "\n")
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			lines = append(lines, m)
		}
	}
	_ = cmd.Wait()
	return cmd.ProcessState.ExitCode(), lines, raw.String()
}

// waitForSession waits until the server shows a session tagged by lastcall,
// an active one when active is set.
func waitForSession(t *testing.T, c *pgtest.Cluster, active bool) {
	t.Helper()
	query := "select count(*) from pg_stat_activity where application_name like 'lastcall-%' and application_name <> 'lastcall-monitor'"
	if active {
		query += " and state = 'active'"
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("psql", c.AppURL(), "-Atc", query).Output()
		if strings.TrimSpace(string(out)) != "0" && len(out) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the app's tagged session never showed up")
}

func line(lines []map[string]any, msg string) map[string]any {
	for _, l := range lines {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

func TestDrainCheck(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql plays the app here; install postgresql-client")
	}
	c := pgtest.Start(t)
	wrong := c.URL(c.User, "wrong-canary-password", c.Database, "sslmode=disable")
	tests := []struct {
		name     string
		url      string
		stop     bool
		flags    []string
		app      string
		code     int
		verdict  string
		wantLine string
	}{
		{"app's session goes with it", c.AppURL(), true, nil,
			`exec psql "$PSQL_URL" -q`, 143, "drained", ""},
		{"a descendant keeps the connection", c.AppURL(), false, []string{"--db-strict=true", "--leftover-grace", "300ms"},
			`psql "$PSQL_URL" -qc "select pg_sleep(30)" & until psql "$PSQL_URL" -Atc "select 1 from pg_stat_activity where application_name = '$PGAPPNAME' and state = 'active' and pid <> pg_backend_pid() and query like '%pg_sleep%'" | grep -q 1; do :; done; exit 0`,
			exitLeaked, "leaked", "a process held the app's database connection after the app exited"},
		{"the server still runs the dead app's query", c.AppURL(), true, nil,
			`exec psql "$PSQL_URL" -qc "select pg_sleep(60)"`, 143, "leaked", "session still open on the server"},
		{"wrong password", wrong, true, nil,
			`exec psql "$PSQL_URL" -q`, 143, "inconclusive", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The next case looks for sessions tagged lastcall-*: end this
			// one's (a backend may outlive its dead client for a while).
			t.Cleanup(func() {
				c.Exec(t, "select pg_terminate_backend(pid) from pg_stat_activity where usename = '"+c.User+"'")
			})
			code, lines, raw := drainRun(t, c, tt.url, tt.stop, tt.flags, tt.app)
			v := line(lines, "drain verdict")
			if code != tt.code || v == nil || v["verdict"] != tt.verdict {
				t.Fatalf("exit %d, verdict %v; want %d, %s; log:\n%s", code, v, tt.code, tt.verdict, raw)
			}
			t.Logf("verdict: %v", v)
			if tt.wantLine != "" && line(lines, tt.wantLine) == nil {
				t.Errorf("no %q line:\n%s", tt.wantLine, raw)
			}
			for _, secret := range []string{c.Password, "wrong-canary-password"} {
				if strings.Contains(raw, secret) {
					t.Errorf("a password reached the log:\n%s", raw)
				}
			}
		})
	}
}
