package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRemapExit(t *testing.T) {
	tests := []struct {
		name  string
		remap []string
		exit  int
		want  int
	}{
		{"remapped to 0", []string{"--remap-exit", "3:0"}, 3, 0},
		{"second of two", []string{"--remap-exit", "3:0", "--remap-exit", "4:1"}, 4, 1},
		{"no match passes through", []string{"--remap-exit", "3:0"}, 5, 5},
		{"no remap", nil, 42, 42},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.remap, "sh", "-c", fmt.Sprintf("exit %d", tc.exit))
			got := runLastcall(t, t.TempDir(), nil, args...)
			if got.code != tc.want {
				t.Errorf("lastcall %q: code %d, want %d (stderr %q)", args, got.code, tc.want, got.stderr)
			}
		})
	}
}

var versionRE = regexp.MustCompile(`^lastcall \S+ \(commit \S+, go ` + regexp.QuoteMeta(strings.TrimPrefix(runtime.Version(), "go")) + `\)\n$`)

// TestVersionOrCommand checks that `lastcall version` prints lastcall's
// version while `lastcall -- version` runs a command named version.
func TestVersionOrCommand(t *testing.T) {
	bin := t.TempDir()
	script := "#!/bin/sh\necho \"script version $*\"\n"
	if err := os.WriteFile(filepath.Join(bin, "version"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	path := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	tests := []struct {
		name string
		args []string
		want *regexp.Regexp
	}{
		{"subcommand", []string{"version"}, versionRE},
		{"double dash runs the command", []string{"--", "version"}, regexp.MustCompile(`^script version \n$`)},
		{"double dash with arguments", []string{"--", "version", "-v"}, regexp.MustCompile(`^script version -v\n$`)},
		{"after a flag and double dash", []string{"--grace", "1s", "--", "version"}, regexp.MustCompile(`^script version \n$`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runLastcall(t, t.TempDir(), path, tc.args...)
			if got.code != 0 || !tc.want.MatchString(got.stdout) {
				t.Errorf("lastcall %q: code %d, stdout %q; want 0 and %v (stderr %q)", tc.args, got.code, got.stdout, tc.want, got.stderr)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	notExecutable := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		command string
		want    int
	}{
		{"not found in PATH", "lastcall-no-such-command", 127},
		{"no such path", filepath.Join(dir, "missing"), 127},
		{"not executable", notExecutable, 126},
		{"a directory", dir, 126},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runLastcall(t, t.TempDir(), nil, tc.command)
			if got.code != tc.want || strings.Count(got.stderr, "\n") != 1 || !strings.Contains(got.stderr, tc.command) {
				t.Errorf("lastcall %s: code %d, stderr %q; want %d and one line naming the command", tc.command, got.code, got.stderr, tc.want)
			}
		})
	}
}

func TestQuietRun(t *testing.T) {
	got := runLastcall(t, t.TempDir(), nil, "sh", "-c", "echo hello")
	if got.code != 0 || got.stdout != "hello\n" || got.stderr != "" {
		t.Errorf("code %d, stdout %q, stderr %q; want 0, %q and no logs", got.code, got.stdout, got.stderr, "hello\n")
	}
}

// logLine is the part of a JSON log line the tests read.
type logLine struct {
	Level         string `json:"level"`
	Time          string `json:"ts"`
	Logger        string `json:"logger"`
	Msg           string `json:"msg"`
	ExitCode      *int   `json:"exit_code"`
	ChildExitCode *int   `json:"child_exit_code"`
}

// parseLogs decodes every stderr line as JSON and returns the "exit" line.
func parseLogs(t *testing.T, stderr string) logLine {
	t.Helper()
	var exit logLine
	iso8601 := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}`)
	for line := range strings.Lines(stderr) {
		var l logLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, line)
		}
		if l.Logger != "lastcall" || !iso8601.MatchString(l.Time) {
			t.Errorf("log line %q: want logger lastcall and an ISO8601 time", line)
		}
		if l.Msg == "exit" {
			exit = l
		}
	}
	if exit.ExitCode == nil || exit.ChildExitCode == nil {
		t.Fatalf("no exit line with exit_code and child_exit_code in:\n%s", stderr)
	}
	return exit
}

func TestJSONDebugLogs(t *testing.T) {
	got := runLastcall(t, t.TempDir(), nil, "--log-format", "json", "--log-level", "debug", "--remap-exit", "3:4", "sh", "-c", "exit 3")
	exit := parseLogs(t, got.stderr)
	if got.code != 4 || *exit.ExitCode != 4 || *exit.ChildExitCode != 3 || exit.Level != "debug" {
		t.Errorf("code %d, exit line %+v; want 4, exit_code 4, child_exit_code 3 at debug", got.code, exit)
	}
}

// TestStoppedRunLogsExit stops a child with SIGTERM: the exit line then
// shows at the default level, with the child's 143 and the remapped code.
func TestStoppedRunLogsExit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lastcallBinary(t), "--log-format", "json", "--remap-exit", "143:0",
		"sh", "-c", "echo ready; exec sleep 30")
	cmd.Env = baseEnv()
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("first stdout line %q, want ready (err %v)", lines.Text(), lines.Err())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		t.Logf("stdout: %s", lines.Text())
	}
	err = cmd.Wait()
	exit := parseLogs(t, stderr.String())
	if err != nil || *exit.ExitCode != 0 || *exit.ChildExitCode != 143 || exit.Level != "info" {
		t.Errorf("wait: %v, exit line %+v; want exit 0, exit_code 0, child_exit_code 143 at info; stderr:\n%s", err, exit, stderr.String())
	}
}

// A plan that cannot fit the budget is a warning at start, not an error.
func TestPlanTooLongWarns(t *testing.T) {
	got := runLastcall(t, t.TempDir(), []string{"FLY_APP_NAME=x"}, "--grace", "10s", "--", "true")
	if got.code != 0 || !strings.Contains(got.stderr, "the stop plan ends after the platform's SIGKILL") ||
		!strings.Contains(got.stderr, "fly.io") {
		t.Errorf("exit %d, stderr %q; want 0 and a warning naming fly.io", got.code, got.stderr)
	}
}

// TestUserMistakesAreNamed: lastcall says at start what a user got wrong.
func TestUserMistakesAreNamed(t *testing.T) {
	lc := lastcallBinary(t)
	if os.Geteuid() == 0 {
		// A shell as PID 1 in front of lastcall, without exec.
		out, err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
			"sh", "-c", lc+" -- true; echo done").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "parent is a shell running as PID 1") ||
			!strings.Contains(string(out), "exec lastcall") {
			t.Errorf("shell as PID 1: %v, output %q; want the warning with the fix", err, out)
		}
		out, err = exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
			"sh", "-c", "exec "+lc+" -- true").CombinedOutput()
		if err != nil || strings.Contains(string(out), "PID 1") {
			t.Errorf("exec from a shell: %v, output %q; want no warning", err, out)
		}
	}
	// gunicorn's default 30 s graceful stop against Docker's 10 s budget.
	dir := t.TempDir()
	if err := os.Symlink("/bin/true", filepath.Join(dir, "gunicorn")); err != nil {
		t.Fatal(err)
	}
	got := runLastcall(t, dir, []string{"PATH=" + dir + ":/usr/bin:/bin"}, "--stop-timeout", "10s", "--", "gunicorn", "app:app")
	if got.code != 0 || !strings.Contains(got.stderr, "graceful stop is longer than lastcall's grace") ||
		!strings.Contains(got.stderr, "30s") {
		t.Errorf("gunicorn with its default graceful timeout: exit %d, stderr %q; want the warning", got.code, got.stderr)
	}
	got = runLastcall(t, dir, []string{"PATH=" + dir + ":/usr/bin:/bin"}, "--stop-timeout", "10s", "--",
		"gunicorn", "--graceful-timeout", "5", "app:app")
	if got.code != 0 || strings.Contains(got.stderr, "graceful") {
		t.Errorf("gunicorn --graceful-timeout 5: exit %d, stderr %q; want no warning", got.code, got.stderr)
	}
}
