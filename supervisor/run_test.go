package supervisor

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/signals"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" && len(os.Args) > 1 {
		os.Exit(runHelper(os.Args[1], os.Args[2:]))
	}
	// Whatever escapes a lastcall under test becomes ours, so a test can
	// see it instead of losing it to init.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "subreaper:", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m)
}

func forEachMode(t *testing.T, f func(t *testing.T, m mode)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { f(t, m) })
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name  string
		child []string
		want  int
	}{
		{"exit 0", helperCmd("exit", "0"), 0},
		{"exit 1", helperCmd("exit", "1"), 1},
		{"exit 42", helperCmd("exit", "42"), 42},
		{"exit 255", helperCmd("exit", "255"), 255},
		{"killed by TERM", []string{"/bin/sh", "-c", "kill -s TERM $$"}, 128 + 15},
		{"killed by KILL", []string{"/bin/sh", "-c", "kill -s KILL $$"}, 128 + 9},
		{"killed by USR1", []string{"/bin/sh", "-c", "kill -s USR1 $$"}, 128 + 10},
		{"not found", []string{"lastcall-no-such-command"}, 127},
		{"no such path", []string{"/nonexistent/app"}, 127},
		{"not executable", []string{"/etc/hostname"}, 126},
		{"a directory", []string{"/"}, 126},
	}
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := startLastcall(t, m, nil, nil, tt.child...)
				if got := r.wait(); got != tt.want {
					t.Errorf("exit code %d, want %d; stderr:\n%s", got, tt.want, r.stderr)
				}
			})
		}
	})
}

// A quiet run: a child that exits by itself leaves no log line above debug.
func TestQuietRunLogsOnlyDebug(t *testing.T) {
	r := startLastcall(t, modes[0], nil, nil, helperCmd("exit", "0")...)
	r.wait()
	for _, line := range strings.Split(strings.TrimSpace(r.stderr.String()), "\n") {
		if line != "" && !strings.Contains(line, "\tDEBUG\t") {
			t.Errorf("non-debug line on a quiet run: %q", line)
		}
	}
}

func TestEveryForwardableSignalArrives(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, nil, helperCmd("trap", "SIGTERM")...)
		r.waitLine("ready")
		for _, sig := range signals.Forwardable(false) {
			if sig == syscall.SIGTERM {
				continue
			}
			r.signal(m, sig)
			r.waitLine("got " + signals.Name(sig))
		}
		r.signal(m, syscall.SIGTERM)
		r.waitLine("got SIGTERM")
		if got := r.wait(); got != 0 {
			t.Errorf("exit code %d, want 0; stderr:\n%s", got, r.stderr)
		}
	})
}

// A stop signal that arrives before the child has started is neither fatal
// nor lost: the child gets it once it runs.
func TestSignalsBeforeStartAreDelivered(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, []string{"-raise-before-start", "TERM"}, "/bin/sleep", "60")
		if got := r.wait(); got != 128+15 {
			t.Errorf("exit code %d, want 143; stderr:\n%s", got, r.stderr)
		}
		if !strings.Contains(r.stderr.String(), "stop signal received") {
			t.Errorf("no stop logged:\n%s", r.stderr)
		}
	})
}

func TestIgnoreTermIsKilledAtDeadline(t *testing.T) {
	const grace = 500 * time.Millisecond
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, []string{"-grace", grace.String()}, helperCmd("ignore-term")...)
		r.waitLine("ready")
		sent := time.Now()
		r.signal(m, syscall.SIGTERM)
		code := r.wait()
		took := time.Since(sent)
		if code != 137 {
			t.Errorf("exit code %d, want 137; stderr:\n%s", code, r.stderr)
		}
		if took < grace || took > grace+2*time.Second {
			t.Errorf("lastcall exited %v after SIGTERM, want within [%v, %v]", took, grace, grace+2*time.Second)
		}
		if !strings.Contains(r.stderr.String(), "escalated to SIGKILL") {
			t.Errorf("no escalation logged:\n%s", r.stderr)
		}
	})
}

func TestOrphansAreReaped(t *testing.T) {
	const orphans = 2000
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, nil, helperCmd("orphans", strconv.Itoa(orphans))...)
		r.waitLine("ready")
		lc := r.pid(m)
		var kids []procEntry
		eventually(t, "every orphan reaped", func() bool {
			kids = childrenOf(lc)
			return len(kids) == 1
		})
		if kids[0].state == 'Z' {
			t.Errorf("main child is a zombie")
		}
		r.signal(m, syscall.SIGTERM)
		if got := r.wait(); got != 0 {
			t.Errorf("exit code %d, want 0; stderr:\n%s", got, r.stderr)
		}
	})
}

func TestLeftoversAreTerminated(t *testing.T) {
	tests := []struct {
		name, grandchild, wantLog string
	}{
		{"grandchild takes TERM", "trap", "leftovers gone"},
		{"grandchild ignores TERM", "ignore-term", "leftovers still alive, killed"},
	}
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := startLastcall(t, m, nil, []string{"-leftover-grace", "300ms"},
					helperCmd("leave-behind", tt.grandchild)...)
				var gc int
				fmt.Sscanf(r.waitLine("left "), "left %d", &gc)
				if got := r.wait(); got != 0 {
					t.Errorf("exit code %d, want 0; stderr:\n%s", got, r.stderr)
				}
				if !m.pid1 && exists(gc) {
					t.Errorf("grandchild %d outlived lastcall", gc)
				}
				for _, want := range []string{"terminating leftovers", tt.wantLog} {
					if !strings.Contains(r.stderr.String(), want) {
						t.Errorf("log lacks %q:\n%s", want, r.stderr)
					}
				}
			})
		}
	})
}

func TestForwardToGroup(t *testing.T) {
	tests := []struct {
		name             string
		flags            []string
		grandchildGetsIt bool
	}{
		{"child only", nil, false},
		{"group", []string{"-group"}, true},
	}
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := startLastcall(t, m, nil, tt.flags, helperCmd("grandchild")...)
				var gc int
				fmt.Sscanf(r.waitLine("grandchild ready"), "grandchild ready %d", &gc)
				gc = r.hostPid(m, gc)
				r.waitLine("child ready")
				r.signal(m, syscall.SIGUSR1)
				r.waitLine("child got SIGUSR1")
				// A marker sent to the grandchild directly: anything lastcall
				// sent it before would be printed first.
				if err := unix.Kill(gc, syscall.SIGUSR2); err != nil {
					t.Fatal(err)
				}
				r.waitLine("grandchild got SIGUSR2")
				got := strings.Contains(strings.Join(r.seen, "\n"), "grandchild got SIGUSR1")
				if got != tt.grandchildGetsIt {
					t.Errorf("grandchild got SIGUSR1: %v, want %v; saw %q", got, tt.grandchildGetsIt, r.seen)
				}
				r.signal(m, syscall.SIGTERM)
				r.wait()
			})
		}
	})
}

func TestStdinToStdoutByteForByte(t *testing.T) {
	data := make([]byte, 1<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	forEachMode(t, func(t *testing.T, m mode) {
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r := startLastcall(t, m, f, nil, "/bin/sh", "-c", "exec cat > "+out)
		if got := r.wait(); got != 0 {
			t.Fatalf("exit code %d; stderr:\n%s", got, r.stderr)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("stdout differs from stdin: %d bytes in, %d out", len(data), len(got))
		}
	})
}
