package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/procfs"
	"github.com/lastcall-dev/lastcall/internal/testutil"
)

// childOf finds the process named comm whose parent is ppid, from /proc.
func childOf(t *testing.T, ppid int, comm string) int {
	t.Helper()
	procs, err := procfs.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if p.PPID == ppid && p.Comm == comm {
			return p.PID
		}
	}
	t.Fatalf("no process %q with parent %d", comm, ppid)
	return 0
}

// waitForTaggedSessions waits until the server shows at least n sessions
// tagged by lastcall (not its monitor).
func waitForTaggedSessions(t *testing.T, c *pgtest.Cluster, n int) {
	t.Helper()
	q := "select count(*) from pg_stat_activity where application_name like 'lastcall-%' and application_name <> 'lastcall-monitor'"
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, _ := exec.CommandContext(ctx, "psql", c.AppURL(), "-Atc", q).Output()
		cancel()
		got = strings.TrimSpace(string(out))
		if k, err := strconv.Atoi(got); err == nil && k >= n {
			return
		}
	}
	t.Fatalf("the server never showed %d sessions tagged by lastcall (last count %q)", n, got)
}

// parseJSONLines keeps the lines of raw that are JSON objects.
func parseJSONLines(raw string) []map[string]any {
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(raw))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}

// linesWith are the log lines whose msg is msg.
func linesWith(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// freeLoopbackPort is a TCP port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	port, err := pgtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

var (
	appOnce sync.Once
	appPath string
	appErr  error
)

// appBinary builds testdata/app once per test run.
func appBinary(t *testing.T) string {
	t.Helper()
	appOnce.Do(func() { appPath, appErr = goBuild(filepath.Join(binDir, "app"), "./testdata/app") })
	if appErr != nil {
		t.Fatal(appErr)
	}
	return appPath
}

// inspected is what `app inspect` reported of itself.
type inspected struct {
	pid       int
	listenPID string
	fds       map[int]string // descriptor -> its target, as /proc shows it
	env       []string       // sorted
}

// appRun is lastcall running `app inspect` or `app activated`.
type appRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *bufio.Scanner
	stderr *testutil.SyncBuffer
}

// startApp starts cmd, whose stdout must be free, and reads the app's
// lines from it.
func startApp(t *testing.T, cmd *exec.Cmd) *appRun {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &appRun{t: t, cmd: cmd, out: bufio.NewScanner(stdout), stderr: &testutil.SyncBuffer{}}
	cmd.Stderr = r.stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return r
}

// line returns the app's next line of output.
func (r *appRun) line() string {
	r.t.Helper()
	if !r.out.Scan() {
		r.t.Fatalf("the app's output ended; stderr:\n%s", r.stderr)
	}
	return r.out.Text()
}

// inspect reads what `app inspect` printed, up to its "ready".
func (r *appRun) inspect() inspected {
	r.t.Helper()
	got := inspected{fds: map[int]string{}}
	for line := r.line(); line != "ready"; line = r.line() {
		key, value, _ := strings.Cut(line, " ")
		switch key {
		case "pid":
			got.pid, _ = strconv.Atoi(value)
		case "listen_pid":
			got.listenPID = value
		case "fd":
			n, target, _ := strings.Cut(value, " ")
			fd, _ := strconv.Atoi(n)
			got.fds[fd] = target
		case "env":
			got.env = append(got.env, value)
		}
	}
	return got
}

// wait waits for lastcall and returns its exit code.
func (r *appRun) wait() int {
	r.t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			r.t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		r.t.Fatalf("lastcall did not exit; stderr:\n%s", r.stderr)
	}
	return r.cmd.ProcessState.ExitCode()
}
