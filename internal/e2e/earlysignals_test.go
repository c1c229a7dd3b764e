package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// earlyOutcome counts what a SIGTERM sent some time after exec did.
type earlyOutcome struct{ delivered, lost, killed int }

// earlySignalTrials sends SIGTERM to init (lastcall, tini, ...) running
// `sleep marker` delay after its exec, n times: delivered when the child
// died of it, killed when it killed init itself (sent before init could
// hold it), lost when init lived and the child ran to its end.
func earlySignalTrials(t *testing.T, init []string, marker string, delay time.Duration, n int) earlyOutcome {
	t.Helper()
	var o earlyOutcome
	for range n {
		cmd := exec.Command(init[0], append(init[1:], "--", "sleep", marker)...)
		cmd.Env = baseEnv()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay) // the experiment's variable, not a synchronisation
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled():
			o.killed++
		case ws.ExitStatus() == 0:
			o.lost++
		default:
			o.delivered++
		}
	}
	return o
}

// killMarked kills every process whose command line is `sleep marker`:
// the children of an init that a signal killed before it could forward.
func killMarked(marker string) {
	procs, _ := procfs.List()
	for _, p := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
		if err == nil && bytes.Equal(b, []byte("sleep\x00"+marker+"\x00")) {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
}

// TestEarlySignals: a stop signal sent in lastcall's first milliseconds is
// either fatal to lastcall (before its first package initialiser could
// subscribe) or delivered to the child, never silently lost; from a delay
// derived from this machine's speed on, it is always delivered. The table
// (with tini and dumb-init, when installed) is in the test's log.
func TestEarlySignals(t *testing.T) {
	lc := lastcallBinary(t)
	// The bound: ten times a whole start and exit of lastcall, measured.
	var runs []time.Duration
	for range 5 {
		start := time.Now()
		if out, err := exec.Command(lc, "--", "true").CombinedOutput(); err != nil {
			t.Fatalf("lastcall -- true: %v: %s", err, out)
		}
		runs = append(runs, time.Since(start))
	}
	slices.Sort(runs)
	bound := max(25*time.Millisecond, 10*runs[len(runs)/2])
	// The child outlives every delay by far; its argument is ours alone.
	life := max(2*time.Second, 4*bound)
	marker := fmt.Sprintf("%d.%09d", int(life.Seconds())+1, os.Getpid())
	t.Cleanup(func() { killMarked(marker) })
	inits := map[string][]string{"lastcall": {lc}}
	for _, name := range []string{"tini", "dumb-init"} {
		if path, err := exec.LookPath(name); err == nil {
			inits[name] = []string{path}
		}
	}
	const n = 30
	for _, delay := range []time.Duration{time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
		25 * time.Millisecond, bound} {
		for _, name := range []string{"lastcall", "tini", "dumb-init"} {
			init, ok := inits[name]
			if !ok {
				continue
			}
			o := earlySignalTrials(t, init, marker, delay, n)
			killMarked(marker)
			t.Logf("%-9s SIGTERM %6s after exec: delivered %2d, killed %2d, lost %2d (of %d)",
				name, delay, o.delivered, o.killed, o.lost, n)
			if name == "lastcall" && o.lost > 0 {
				t.Errorf("lastcall lost %d of %d SIGTERMs sent %s after exec", o.lost, n, delay)
			}
			if name == "lastcall" && delay == bound && o.delivered != n {
				t.Errorf("SIGTERM %s after exec (10x a whole run here): %d of %d delivered, want all", delay, o.delivered, n)
			}
		}
	}
}
