package supervisor

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// since waits for a line holding want and returns how long after t0 it came.
func (r *lastcallRun) since(t0 time.Time, want string) time.Duration {
	r.t.Helper()
	r.waitLine(want)
	return time.Since(t0)
}

// notBefore fails t when what came earlier than lo after the stop: a plan
// may run late on a loaded machine, never early. (hangGuard only catches
// a plan that never runs its steps.)
func notBefore(t *testing.T, what string, got, lo time.Duration) {
	t.Helper()
	if got < lo || got > hangGuard {
		t.Errorf("%s after %v, want at least %v (and well under %v)", what, got, lo, hangGuard)
	}
}

const hangGuard = time.Minute

// sooner fails t when what took half of wait or more: it was to come at
// once, not after a 30s grace or delay.
func sooner(t *testing.T, what string, got, wait time.Duration) {
	t.Helper()
	if got >= wait/2 {
		t.Errorf("%s after %v, want at once (the plan would wait %v)", what, got, wait)
	}
}

func TestStopSequence(t *testing.T) {
	const step = 300 * time.Millisecond
	forEachMode(t, func(t *testing.T, m mode) {
		// The child never exits by itself: only the plan's SIGKILL ends it.
		r := startLastcall(t, m, nil, []string{"-sequence", "TERM,300ms,INT,300ms,KILL"}, helperCmd("trap", "SIGKILL")...)
		r.waitLine("ready")
		t0 := time.Now()
		r.signal(m, syscall.SIGTERM)
		r.waitLine("got SIGTERM")
		notBefore(t, "SIGINT", r.since(t0, "got SIGINT"), step)
		code := r.wait()
		notBefore(t, "exit", time.Since(t0), 2*step)
		if code != 137 {
			t.Errorf("exit code %d, want 137; stderr:\n%s", code, r.stderr)
		}
		if !strings.Contains(r.stderr.String(), "0s TERM, 300ms INT, 600ms KILL") {
			t.Errorf("plan not logged:\n%s", r.stderr)
		}
	})
}

func TestPreStopDelayKeepsServing(t *testing.T) {
	const delay = 2 * time.Second // the loop must forward SIGUSR1 within it
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, []string{"-pre-stop-delay", delay.String()}, helperCmd("trap", "SIGTERM")...)
		r.waitLine("ready")
		t0 := time.Now()
		r.signal(m, syscall.SIGTERM)
		// During the delay the app still gets every other signal, before
		// the stop signal.
		r.signal(m, syscall.SIGUSR1)
		r.waitLine("got SIGUSR1")
		notBefore(t, "SIGTERM", r.since(t0, "got SIGTERM"), delay)
		if code := r.wait(); code != 0 {
			t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
		}
	})
}

func TestRewrite(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, []string{"-rewrite", "INT:TERM,HUP:0,USR2:USR1"}, helperCmd("trap", "SIGTERM")...)
		r.waitLine("ready")
		r.signal(m, syscall.SIGHUP)
		r.signal(m, syscall.SIGUSR2)
		r.waitLine("got SIGUSR1")
		r.signal(m, syscall.SIGINT)
		r.waitLine("got SIGTERM")
		if code := r.wait(); code != 0 {
			t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
		}
		for _, line := range r.seen {
			if strings.Contains(line, "SIGHUP") || strings.Contains(line, "SIGINT") || strings.Contains(line, "SIGUSR2") {
				t.Errorf("child got a rewritten signal: %q", line)
			}
		}
	})
}

func TestSecondStopSignal(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		t.Run("forwards again", func(t *testing.T) {
			r := startLastcall(t, m, nil, []string{"-grace", "30s"}, helperCmd("trap", "SIGINT")...)
			r.waitLine("ready")
			r.signal(m, syscall.SIGTERM)
			r.waitLine("got SIGTERM")
			r.signal(m, syscall.SIGTERM)
			r.waitLine("got SIGTERM")
			r.signal(m, syscall.SIGINT)
			if code := r.wait(); code != 0 {
				t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
			}
		})
		t.Run("kills", func(t *testing.T) {
			r := startLastcall(t, m, nil, []string{"-grace", "30s", "-second-kills"}, helperCmd("trap", "SIGKILL")...)
			r.waitLine("ready")
			t0 := time.Now()
			r.signal(m, syscall.SIGTERM)
			r.waitLine("got SIGTERM")
			r.signal(m, syscall.SIGTERM)
			code := r.wait()
			sooner(t, "exit", time.Since(t0), 30*time.Second)
			if code != 137 {
				t.Errorf("exit code %d, want 137; stderr:\n%s", code, r.stderr)
			}
		})
		t.Run("ends the delay", func(t *testing.T) {
			r := startLastcall(t, m, nil, []string{"-pre-stop-delay", "30s"}, helperCmd("trap", "SIGTERM")...)
			r.waitLine("ready")
			t0 := time.Now()
			r.signal(m, syscall.SIGTERM)
			eventually(t, "stop logged", func() bool { return strings.Contains(r.stderr.String(), "stop signal received") })
			r.signal(m, syscall.SIGTERM)
			sooner(t, "SIGTERM", r.since(t0, "got SIGTERM"), 30*time.Second)
			if code := r.wait(); code != 0 {
				t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
			}
		})
	})
}
