package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// stalledPipe is a pipe filled to capacity whose reader reads nothing
// until the test ends: a write to it blocks.
func stalledPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	// A second open file description of the write end, non-blocking, fills
	// the pipe; lastcall gets w, still blocking, as a log shipper's is.
	fill, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(w.Fd())), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fill.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := unix.Write(int(fill.Fd()), chunk); errors.Is(err, unix.EAGAIN) {
			return r, w
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// brokenPipe is a pipe whose reader has exited.
func brokenPipe(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() { w.Close() })
	return w
}

// runWithStderr runs lastcall (under unshare as PID 1 when pid1) with
// stderr and returns its exit code; it fails t when lastcall is still
// running after a minute (a stall: today's runs take about a second).
func runWithStderr(t *testing.T, pid1 bool, stderr *os.File, args ...string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	argv := append([]string{lastcallBinary(t)}, args...)
	if pid1 {
		argv = append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = baseEnv()
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("lastcall %q still running after a minute with that stderr", args)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode()
}

// TestOutputNeverStallsSupervision: a stderr that blocks, has no reader or
// is full never delays the deadline, the reaping or the exit, and
// lastcall's own SIGPIPE never reaches the app. As PID 1 and as subreaper.
func TestOutputNeverStallsSupervision(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("unshare --pid needs root here")
	}
	ignoreTerm := []string{"--grace", "1s", "--", "sh", "-c", `trap "" TERM; kill -TERM $PPID; exec sleep 30`}
	segv := []string{"--", "sh", "-c", "kill -SEGV $$"}
	for _, pid1 := range []bool{false, true} {
		name := map[bool]string{false: "subreaper", true: "pid 1"}[pid1]
		t.Run(name, func(t *testing.T) {
			_, w := stalledPipe(t)
			if code := runWithStderr(t, pid1, w, ignoreTerm...); code != 137 {
				t.Errorf("stalled stderr, child ignores TERM: exit %d, want 137 (killed at the deadline)", code)
			}
			_, w = stalledPipe(t)
			if code := runWithStderr(t, pid1, w, segv...); code != 139 {
				t.Errorf("stalled stderr, child dies of SIGSEGV: exit %d, want 139", code)
			}
			full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer full.Close()
			if code := runWithStderr(t, pid1, full, ignoreTerm...); code != 137 {
				t.Errorf("stderr /dev/full: exit %d, want 137", code)
			}
			// The app's TERM handler takes its time and leaves a mark; a
			// SIGPIPE forwarded to it would end it before.
			mark := filepath.Join(t.TempDir(), "handler-ran")
			handler := []string{"--", "sh", "-c", `trap "sleep 0.2; touch ` + mark + `; exit 0" TERM; kill -TERM $PPID; sleep 30 & wait`}
			if code := runWithStderr(t, pid1, brokenPipe(t), handler...); code != 0 {
				t.Errorf("stderr without a reader: exit %d, want 0 (the app's handler ran to its end)", code)
			}
			if _, err := os.Stat(mark); err != nil {
				t.Errorf("stderr without a reader: the app's TERM handler did not finish: %v", err)
			}
		})
	}
}
