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

func within(t *testing.T, what string, got, lo, hi time.Duration) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s after %v, want within [%v, %v]", what, got, lo, hi)
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
		within(t, "SIGTERM", r.since(t0, "got SIGTERM"), 0, step)
		within(t, "SIGINT", r.since(t0, "got SIGINT"), step, step+time.Second)
		code := r.wait()
		within(t, "exit", time.Since(t0), 2*step, 2*step+time.Second)
		if code != 137 {
			t.Errorf("exit code %d, want 137; stderr:\n%s", code, r.stderr)
		}
		if !strings.Contains(r.stderr.String(), "0s TERM, 300ms INT, 600ms KILL") {
			t.Errorf("plan not logged:\n%s", r.stderr)
		}
	})
}

func TestPreStopDelayKeepsServing(t *testing.T) {
	const delay = 400 * time.Millisecond
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, []string{"-pre-stop-delay", delay.String()}, helperCmd("trap", "SIGTERM")...)
		r.waitLine("ready")
		t0 := time.Now()
		r.signal(m, syscall.SIGTERM)
		// During the delay the app still gets every other signal at once.
		r.signal(m, syscall.SIGUSR1)
		within(t, "SIGUSR1 during the delay", r.since(t0, "got SIGUSR1"), 0, delay)
		within(t, "SIGTERM", r.since(t0, "got SIGTERM"), delay, delay+time.Second)
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
			within(t, "exit", time.Since(t0), 0, 5*time.Second)
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
			within(t, "SIGTERM", r.since(t0, "got SIGTERM"), 0, 5*time.Second)
			if code := r.wait(); code != 0 {
				t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
			}
		})
	})
}
