package supervisor

import (
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// A storm of 100,000 signals while the child runs: lastcall and the child
// survive it, and a stop after it still ends in the child's own exit code.
func TestSignalStorm(t *testing.T) {
	const storm = 100_000
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, nil, helperCmd("ignore-usr1")...)
		r.waitLine("ready")
		pid := r.pid(m)
		for i := 0; i < storm; i++ {
			if err := unix.Kill(pid, syscall.SIGUSR1); err != nil {
				t.Fatalf("lastcall gone after %d signals: %v", i, err)
			}
		}
		r.signal(m, syscall.SIGTERM)
		if code := r.wait(); code != 0 {
			t.Errorf("exit code %d after the storm, want 0; stderr:\n%.2000s", code, r.stderr)
		}
	})
}

// A child stopped by SIGSTOP and continued through lastcall gets what was
// forwarded meanwhile, and still exits with its own code.
func TestStoppedAndContinuedChild(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, nil, helperCmd("trap", "SIGTERM")...)
		var child int
		mustScan(t, r.waitLine("ready"), "ready %d", &child)
		child = r.hostPid(m, child)
		if err := unix.Kill(child, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		eventually(t, "child stopped", func() bool {
			p, err := procfs.ReadStat(child)
			return err == nil && p.State == 'T'
		})
		r.signal(m, syscall.SIGUSR1) // forwarded, pending in the stopped child
		r.signal(m, syscall.SIGCONT) // forwarded: the child runs again
		r.waitLine("got SIGUSR1")
		r.signal(m, syscall.SIGTERM)
		r.waitLine("got SIGTERM")
		if code := r.wait(); code != 0 {
			t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
		}
	})
}

// A child stopped by SIGSTOP when the stop begins gets SIGCONT after the
// stop signal, as kill(1) and systemd do it: it runs its handler and exits
// on SIGTERM, long before the deadline, instead of sleeping through the
// grace with SIGTERM pending until the SIGKILL.
func TestStoppedChildGetsTheStopSignal(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, []string{"-grace", "15s"}, helperCmd("trap", "SIGTERM")...)
		var child int
		mustScan(t, r.waitLine("ready"), "ready %d", &child)
		child = r.hostPid(m, child)
		if err := unix.Kill(child, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		eventually(t, "child stopped", func() bool {
			p, err := procfs.ReadStat(child)
			return err == nil && p.State == 'T'
		})
		r.signal(m, syscall.SIGTERM)
		r.waitLine("got SIGTERM")
		if code := r.wait(); code != 0 {
			t.Errorf("exit code %d, want 0 (the handler's); stderr:\n%s", code, r.stderr)
		}
		if strings.Contains(r.stderr.String(), "escalated to SIGKILL") {
			t.Errorf("the stopped child was killed at the deadline:\n%s", r.stderr)
		}
	})
}

// The child exits in the middle of a storm of signals to forward: lastcall
// may forward to it until it has reaped it (a zombie takes a signal without
// error, and its pid cannot be reused before the reap; the loop forwards
// nothing after it), and exits with the child's code, with no forward
// failing (a failure would show in the debug log).
func TestChildExitsWhileForwarding(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, nil, helperCmd("trap", "SIGUSR1")...) // exits 0 on the first SIGUSR1
		r.waitLine("ready")
		pidfd, err := unix.PidfdOpen(r.pid(m), 0) // the storm never reaches a recycled pid of the test's own
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(pidfd)
		stop := make(chan struct{})
		sent := make(chan int)
		go func() {
			n := 0
			defer func() { sent <- n }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if unix.PidfdSendSignal(pidfd, syscall.SIGUSR1, nil, 0) != nil {
					return // lastcall is gone
				}
				n++
			}
		}()
		code := r.wait()
		close(stop)
		n := <-sent
		if code != 0 {
			t.Errorf("exit code %d, want the child's 0; stderr:\n%.2000s", code, r.stderr)
		}
		for _, bad := range []string{"forward failed", "panic"} {
			if strings.Contains(r.stderr.String(), bad) {
				t.Errorf("%q after %d signals:\n%.4000s", bad, n, r.stderr)
			}
		}
		t.Logf("%d signals sent while the child exited", n)
	})
}
