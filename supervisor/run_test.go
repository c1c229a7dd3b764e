package supervisor

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/internal/procfs"
	"github.com/lastcall-dev/lastcall/signals"
)

func TestMain(m *testing.M) {
	if gate := os.Getenv(trampolineGateEnv); gate != "" && os.Getenv(execEnv) != "" {
		passTrampolineGate(gate)
	}
	ExecTrampoline()
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
		if took < grace || took > grace+10*time.Second { // not early; late only on a machine stalled for seconds
			t.Errorf("lastcall exited %v after SIGTERM, want within [%v, %v]", took, grace, grace+10*time.Second)
		}
		if !strings.Contains(r.stderr.String(), "escalated to SIGKILL") {
			t.Errorf("no escalation logged:\n%s", r.stderr)
		}
	})
}

// SIGKILL at the deadline reaches the whole tree: the child, a grandchild
// in its process group and one that left it for a session of its own.
func TestEscalationKillsTheWholeTree(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		r := startLastcall(t, m, nil, []string{"-grace", "300ms"}, helperCmd("ignore-tree")...)
		var gc1, gc2 int
		mustScan(t, r.waitLine("ready"), "ready %d %d", &gc1, &gc2)
		hostPids := []int{r.hostPid(m, gc1), r.hostPid(m, gc2)}
		r.signal(m, syscall.SIGTERM)
		if code := r.wait(); code != 137 {
			t.Errorf("exit code %d, want 137; stderr:\n%s", code, r.stderr)
		}
		if !strings.Contains(r.stderr.String(), `"processes": 3`) {
			t.Errorf("escalation did not count the child and two grandchildren:\n%s", r.stderr)
		}
		for _, pid := range hostPids {
			if exists(pid) {
				t.Errorf("grandchild %d outlived lastcall (or was left a zombie)", pid)
			}
		}
	})
}

// SIGURG is forwarded only when asked (lastcall's GODEBUG turns async
// preemption off): otherwise the Go runtime's own would reach the child.
func TestSIGURGPolicy(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		want  bool
	}{
		{"not forwarded by default", nil, false},
		{"forwarded with ForwardURG", []string{"-urg"}, true},
	}
	// Neither lastcall nor the trapping child sends itself SIGURG here.
	t.Setenv("GODEBUG", "asyncpreemptoff=1")
	t.Setenv("LASTCALL_TEST_TRAP_URG", "1")
	// The child exits on a real-time signal sent after SIGURG: pending
	// signals arrive lowest number first, and SIGURG (23) comes before it
	// (SIGTERM, 15, would overtake a SIGURG still pending).
	const last = syscall.Signal(40)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := modes[0]
			r := startLastcall(t, m, nil, tt.flags, helperCmd("trap", signals.Name(last))...)
			r.waitLine("ready")
			r.signal(m, syscall.SIGURG)
			r.signal(m, last)
			r.waitLine("got " + signals.Name(last))
			r.wait()
			if got := slices.Contains(r.seen, "got SIGURG"); got != tt.want {
				t.Errorf("child got SIGURG: %v, want %v; saw %q", got, tt.want, r.seen)
			}
		})
	}
}

// TestOrphansAreReaped has a child leave 10,000 orphans behind and checks
// that lastcall reaps every one. The wait for the spawning is sized from
// the rate the helper measures on its first spawns, not from this
// machine's speed. Both modes run in a PID namespace of their own, the
// subreaper mode below a reaping init (ns-init), and unshare dies with the
// test binary (Pdeathsig; --kill-child passes it on): whatever happens, a
// failure, a timeout or a panic, killing the namespace's init makes the
// kernel kill and reap everything the test started, so no orphan is left
// to the host's PID 1.
func TestOrphansAreReaped(t *testing.T) {
	const orphans = 10000
	forEachMode(t, func(t *testing.T, m mode) {
		var wrap []string
		if !m.pid1 {
			wrap = helperCmd("ns-init")
		}
		ns := mode{"namespace", true}
		argv := lastcallArgv(ns, wrap, nil, helperCmd("orphans", strconv.Itoa(orphans)))
		r := startArgv(t, argv, nil, &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL})
		var timed int
		var took int64
		mustScan(t, r.waitLine("spawned "), "spawned %d in %d ns", &timed, &took)
		lc := containedPid(t, r, m) // once the child spoke: lastcall runs
		limit := spawnWait(orphans, timed, time.Duration(took))
		t.Logf("%d spawns took %v: waiting up to %v for all %d", timed, time.Duration(took), limit, orphans)
		r.waitLineWithin("ready", limit)
		var kids []procfs.Stat
		eventually(t, fmt.Sprintf("every orphan of lastcall (pid %d) reaped", lc), func() bool {
			kids = childrenOf(lc)
			return len(kids) == 1
		})
		if kids[0].State == 'Z' {
			t.Errorf("main child is a zombie")
		}
		if err := unix.Kill(lc, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if got := r.wait(); got != 0 {
			t.Errorf("exit code %d, want 0; stderr:\n%s", got, r.stderr)
		}
	})
}

// spawnWait is how long spawning n processes may take when the first timed
// took took: five times that rate, for a machine that gets busier, plus
// waitLimit.
func spawnWait(n, timed int, took time.Duration) time.Duration {
	return waitLimit + 5*took/time.Duration(timed)*time.Duration(n)
}

// onlyChild waits until pid has exactly one child and returns its pid.
func onlyChild(t *testing.T, pid int) int {
	t.Helper()
	var kids []procfs.Stat
	eventually(t, fmt.Sprintf("process %d has one child", pid), func() bool {
		kids = childrenOf(pid)
		return len(kids) == 1
	})
	return kids[0].PID
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
				mustScan(t, r.waitLine("left "), "left %d", &gc)
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
				mustScan(t, r.waitLine("grandchild ready"), "grandchild ready %d", &gc)
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

// Bytes pass through untouched: the child (cat) reads lastcall's stdin and
// writes lastcall's stdout, which are the very files the test gave it.
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
		stdin, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		stdout, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		defer stdout.Close()
		argv := lastcallArgv(m, nil, nil, []string{"/bin/cat"})
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), helperEnv+"=1")
		cmd.Stdin, cmd.Stdout = stdin, stdout
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v; stderr:\n%s", err, &stderr)
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

// With a /proc of another PID namespace every pid in it would be a
// stranger's: lastcall says so, signals the child's process group alone
// (kill(-pgid) needs no /proc), and leaves a leftover in a session of its
// own, which it cannot find, with a warning that says why.
func TestForeignProcIsLeftAlone(t *testing.T) {
	ns := []string{"unshare", "--pid", "--fork"}
	if os.Geteuid() != 0 {
		ns = []string{"unshare", "--user", "--map-root-user", "--pid", "--fork"}
	}
	// The shell stays PID 1 of the new namespace (it does not exec the
	// last command, given a second one), so lastcall is not PID 1 there,
	// and /proc is still the test's.
	inner := strings.Join(append(helperCmd("supervise", "--"), helperCmd("leave", "exit", "group:trap", "setsid:ignore-term")...), " ")
	cmd := exec.Command(ns[0], append(ns[1:], "/bin/sh", "-c", inner+"; exit $?")...)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	for _, want := range []string{"/proc belongs to another PID namespace", "terminating leftovers in the child's process group", "leaving them"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// The hooks the drain check hangs on: OnStop when a stop begins, and
// OnChildExit with the descendants still alive, before they are terminated.
func TestHooks(t *testing.T) {
	m := modes[0]
	r := startLastcall(t, m, nil, []string{"-hooks"}, helperCmd("leave-behind", "ignore-term")...)
	var gc int
	mustScan(t, r.waitLine("left "), "left %d", &gc)
	r.wait()
	want := fmt.Sprintf("hook: child exited, alive [{%d supervisor.test}]", gc)
	if !strings.Contains(r.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	if strings.Contains(r.stderr.String(), "hook: stop") {
		t.Errorf("OnStop ran without a stop:\n%s", r.stderr)
	}
	r = startLastcall(t, m, nil, []string{"-hooks"}, helperCmd("trap", "SIGTERM")...)
	r.waitLine("ready")
	r.signal(m, syscall.SIGTERM)
	r.wait()
	if !strings.Contains(r.stderr.String(), "hook: stop") {
		t.Errorf("OnStop did not run on a stop:\n%s", r.stderr)
	}
}
