package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// binDir holds the binaries the tests build; TestMain removes it.
var binDir string

// repoRoot is the repository's root, seen from this package's directory
// (where go test runs it): packages are built and fixtures read from there.
const repoRoot = "../.."

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lastcall-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	// Children that run as nobody (--user) execute the binaries built here.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}

var (
	buildOnce    sync.Once
	lastcallPath string
	buildErr     error
)

// lastcallBinary builds lastcall once per test run. It is static
// (CGO_ENABLED=0) so the Docker test can put it in a scratch image.
func lastcallBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		lastcallPath, buildErr = goBuild(filepath.Join(binDir, "lastcall"), ".")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return lastcallPath
}

// goBuild builds the package pkg (a path from the repository's root)
// statically into out.
func goBuild(out, pkg string) (string, error) {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build -o %s %s: %v\n%s", out, pkg, err, b)
	}
	return out, nil
}

// baseEnv is the test's environment without LASTCALL_*, GODEBUG,
// DATABASE_URL and PG*, so that
// a developer's own settings cannot change what the tests see.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LASTCALL_") && !strings.HasPrefix(kv, "GODEBUG=") &&
			!strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

type result struct {
	code           int
	stdout, stderr string
}

// runLastcall runs the lastcall binary in dir with extra env and args and
// waits for it (at most 30s).
func runLastcall(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lastcallBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(), env...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("lastcall %q did not finish in time; stderr:\n%s", args, stderr.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run lastcall %q: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// touchChild is a COMMAND that leaves a file named "ran" in its working
// directory: proof that the child was started.
var touchChild = []string{"sh", "-c", "touch ran"}

func withChild(args ...string) []string { return append(args, touchChild...) }

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string // what the one line must name
	}{
		{"unknown flag", withChild("--bogus"), nil, "--bogus"},
		{"unknown shorthand", withChild("-x"), nil, "-x"},
		{"bad grace", withChild("--grace", "abc"), nil, "--grace"},
		{"negative grace", withChild("--grace=-1s"), nil, "--grace"},
		{"grace without unit", withChild("--grace", "7"), nil, "--grace"},
		{"grace without value", []string{"--grace"}, nil, "--grace"},
		{"bad leftover grace", withChild("--leftover-grace", "soon"), nil, "--leftover-grace"},
		{"bad stop signals", withChild("--stop-signals", "TERM,NOPE"), nil, "--stop-signals"},
		{"empty stop signals", withChild("--stop-signals", ""), nil, "--stop-signals"},
		{"KILL as a stop signal", withChild("--stop-signals", "TERM,KILL"), nil, "--stop-signals"},
		{"CHLD as a stop signal", withChild("--stop-signals", "CHLD"), nil, "--stop-signals"},
		{"bad forward-to", withChild("--forward-to", "parent"), nil, "--forward-to"},
		{"bad remap-exit", withChild("--remap-exit", "143"), nil, "--remap-exit"},
		{"remap-exit out of range", withChild("--remap-exit", "143:256"), nil, "--remap-exit"},
		{"bad log level", withChild("--log-level", "verbose"), nil, "--log-level"},
		{"bad log format", withChild("--log-format", "xml"), nil, "--log-format"},
		{"bad env grace", touchChild, []string{"LASTCALL_GRACE=abc"}, "LASTCALL_GRACE"},
		{"bad env leftover grace", touchChild, []string{"LASTCALL_LEFTOVER_GRACE=-2s"}, "LASTCALL_LEFTOVER_GRACE"},
		{"bad env stop signals", touchChild, []string{"LASTCALL_STOP_SIGNALS=TERM,,INT"}, "LASTCALL_STOP_SIGNALS"},
		{"bad env forward-to", touchChild, []string{"LASTCALL_FORWARD_TO=all"}, "LASTCALL_FORWARD_TO"},
		{"bad env remap-exit", touchChild, []string{"LASTCALL_REMAP_EXIT=143:0,x"}, "LASTCALL_REMAP_EXIT"},
		{"bad env log level", touchChild, []string{"LASTCALL_LOG_LEVEL=loud"}, "LASTCALL_LOG_LEVEL"},
		{"bad env log format", touchChild, []string{"LASTCALL_LOG_FORMAT=yaml"}, "LASTCALL_LOG_FORMAT"},
		{"bad stop-timeout", withChild("--stop-timeout", "0s"), nil, "--stop-timeout"},
		{"bad pre-stop-delay", withChild("--pre-stop-delay", "-5s"), nil, "--pre-stop-delay"},
		{"stop sequence without end", withChild("--stop-sequence", "TERM,5s,INT"), nil, "--stop-sequence"},
		{"stop sequence and grace", withChild("--stop-sequence", "TERM,5s", "--grace", "3s"), nil, "--stop-sequence"},
		{"KILL rewritten", withChild("--rewrite", "KILL:TERM"), nil, "--rewrite"},
		{"rewrite conflict", withChild("--rewrite", "INT:TERM", "--rewrite", "INT:QUIT"), nil, "--rewrite"},
		{"bad second-stop", withChild("--second-stop", "ignore"), nil, "--second-stop"},
		{"bad env stop-timeout", touchChild, []string{"LASTCALL_STOP_TIMEOUT=soon"}, "LASTCALL_STOP_TIMEOUT"},
		{"bad env rewrite", touchChild, []string{"LASTCALL_REWRITE=STOP:0"}, "LASTCALL_REWRITE"},
		{"bad env stop sequence", touchChild, []string{"LASTCALL_STOP_SEQUENCE=TERM"}, "LASTCALL_STOP_SEQUENCE"},
		{"unknown user", withChild("--user", "no-such-user-xyz"), nil, "--user"},
		{"empty group", withChild("--user", "nobody:"), nil, "--user"},
		{"unknown group", withChild("--user", "nobody:no-such-group-xyz"), nil, "--user"},
		{"bad env user", touchChild, []string{"LASTCALL_USER=no-such-user-xyz"}, "LASTCALL_USER"},
		{"bad db-check", withChild("--db-check", "yes"), nil, "--db-check"},
		{"db-check without a URL", withChild("--db-check", "local"), nil, "--db-check"},
		{"wait-db without a URL", withChild("--wait-db", "5s"), nil, "--wait-db"},
		{"bad db-timeout", withChild("--db-timeout", "0s"), nil, "--db-timeout"},
		{"bad db-strict", withChild("--db-strict", "maybe"), nil, "--db-strict"},
		{"bad postgres-stop", withChild("--postgres-stop", "maybe"), nil, "--postgres-stop"},
		{"bad env postgres-stop", touchChild, []string{"LASTCALL_POSTGRES_STOP=soon"}, "LASTCALL_POSTGRES_STOP"},
		{"bad env db-check", touchChild, []string{"LASTCALL_DB_CHECK=on"}, "LASTCALL_DB_CHECK"},
		{"bad parent-death-signal", withChild("--parent-death-signal", "KILL"), nil, "--parent-death-signal"},
		{"empty user (never root by accident)", withChild("--user="), nil, "--user"},
		{"empty user, spelled apart", withChild("--user", ""), nil, "--user"},
		{"empty grace", withChild("--grace="), nil, "--grace"},
		{"empty db-check", withChild("--db-check="), nil, "--db-check"},
		{"empty log-level", withChild("--log-level="), nil, "--log-level"},
		{"durations that would overflow", withChild("--grace=9223372036854775807ns", "--pre-stop-delay=1ns"), nil, "--grace"},
		{"missing command", nil, nil, "COMMAND"},
		{"missing command after flags", []string{"--grace", "1s", "--"}, nil, "COMMAND"},
		{"version with arguments", []string{"version", "touch", "ran"}, nil, "lastcall -- version"},
		{"version with a flag", []string{"version", "--grace", "1s"}, nil, "--grace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			got := runLastcall(t, dir, tc.env, tc.args...)
			if got.code != exitUsage {
				t.Errorf("exit code = %d, want %d", got.code, exitUsage)
			}
			lines := strings.Split(strings.TrimSuffix(got.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasSuffix(got.stderr, "\n") {
				t.Errorf("stderr is %d lines, want exactly one:\n%s", len(lines), got.stderr)
			}
			if !strings.HasPrefix(got.stderr, "lastcall: ") || !strings.Contains(got.stderr, tc.want) {
				t.Errorf("stderr = %q, want one line starting %q naming %q", got.stderr, "lastcall: ", tc.want)
			}
			if got.stdout != "" {
				t.Errorf("stdout = %q, want nothing", got.stdout)
			}
			if _, err := os.Stat(filepath.Join(dir, "ran")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the child was started (stat ran: %v)", err)
			}
		})
	}
}

// TestTouchChildRuns is the control for TestUsageErrors: with good flags the
// same child does leave its marker.
func TestTouchChildRuns(t *testing.T) {
	dir := t.TempDir()
	got := runLastcall(t, dir, []string{"LASTCALL_GRACE=3s"}, withChild("--leftover-grace", "1s")...)
	if got.code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", got.code, got.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err != nil {
		t.Errorf("the child did not run: %v", err)
	}
}

func TestHelp(t *testing.T) {
	got := runLastcall(t, t.TempDir(), nil, "--help")
	if got.code != 0 || !strings.Contains(got.stdout, "--grace") || got.stderr != "" {
		t.Errorf("lastcall --help: code %d, stdout %q, stderr %q; want 0 and the flags on stdout", got.code, got.stdout, got.stderr)
	}
}

func TestFlagsStopAtCommand(t *testing.T) {
	echoArgs := []string{"sh", "-c", `echo "$@"`, "sh"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"gunicorn style", append(echoArgs, "-w", "4"), "-w 4\n"},
		{"after own flags", append([]string{"--grace", "1s"}, append(echoArgs, "--grace", "5s")...), "--grace 5s\n"},
		{"after double dash", append([]string{"--"}, append(echoArgs, "--", "-x")...), "-- -x\n"},
		{"help goes to the child", append(echoArgs, "--help"), "--help\n"},
		{"version as an argument", append(echoArgs, "version"), "version\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runLastcall(t, t.TempDir(), nil, tc.args...)
			if got.code != 0 || got.stdout != tc.want {
				t.Errorf("lastcall %q: code %d, stdout %q; want 0 and %q (stderr %q)", tc.args, got.code, got.stdout, tc.want, got.stderr)
			}
		})
	}
}

func TestEnvAndFlagPrecedence(t *testing.T) {
	exit3 := []string{"sh", "-c", "exit 3"}
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		wantLogs bool
	}{
		{"env remap", []string{"LASTCALL_REMAP_EXIT=3:0"}, exit3, 0, false},
		{"env remap list", []string{"LASTCALL_REMAP_EXIT=1:9,3:7"}, exit3, 7, false},
		{"flag remap beats env", []string{"LASTCALL_REMAP_EXIT=3:0"}, append([]string{"--remap-exit", "3:5"}, exit3...), 5, false},
		{"flag beats a bad env value", []string{"LASTCALL_GRACE=abc"}, append([]string{"--grace", "1s"}, exit3...), 3, false},
		{"empty env is unset", []string{"LASTCALL_GRACE="}, exit3, 3, false},
		{"env log level", []string{"LASTCALL_LOG_LEVEL=debug"}, exit3, 3, true},
		{"flag log level beats env", []string{"LASTCALL_LOG_LEVEL=debug"}, append([]string{"--log-level", "info"}, exit3...), 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runLastcall(t, t.TempDir(), tc.env, tc.args...)
			if got.code != tc.wantCode || (got.stderr != "") != tc.wantLogs {
				t.Errorf("%q lastcall %q: code %d, stderr %q; want code %d, logs %v", tc.env, tc.args, got.code, got.stderr, tc.wantCode, tc.wantLogs)
			}
		})
	}
}
