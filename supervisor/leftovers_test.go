package supervisor

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/internal/testutil"
)

// startContained starts lastcall in mode m inside a PID namespace of its
// own, as its PID 1 or, in subreaper mode, below ns-init; wrap, if any,
// execs lastcall. unshare dies with the test binary (Pdeathsig, passed on
// by --kill-child), and the kernel kills the whole namespace when its init
// exits: whatever lastcall leaves behind, on purpose or not, dies with the
// test.
func startContained(t *testing.T, m mode, wrap, flags, child []string) *lastcallRun {
	t.Helper()
	var inner []string
	if !m.pid1 {
		inner = helperCmd("ns-init")
	}
	argv := lastcallArgv(mode{"namespace", true}, append(inner, wrap...), flags, child)
	return startArgv(t, argv, nil, &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL})
}

// containedPid is the pid of lastcall started by startContained, as the
// test sees it. Call it once the child has said something: ns-init's
// os.StartProcess may have a throwaway child of its own before.
func containedPid(t *testing.T, r *lastcallRun, m mode) int {
	t.Helper()
	lc := r.pid(mode{"namespace", true})
	if !m.pid1 {
		lc = onlyChild(t, lc)
	}
	return lc
}

// hideProc is a wrap that mounts an empty tmpfs over /proc, in the mount
// namespace unshare made, and execs the rest: lastcall runs without /proc.
var hideProc = []string{"/bin/sh", "-c", `mount -t tmpfs no-proc /proc && exec "$@"`, "sh"}

// Without /proc (hidden in a mount namespace), lastcall cannot list its
// tree, but kill(-pgid) still reaches the child's process group: a
// leftover there gets SIGTERM and is reaped. The warning says why the rest
// is out of reach (no /proc), not "another PID namespace".
func TestLeftoversWithoutProc(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		r := startContained(t, m, hideProc, []string{"-leftover-grace", "30s"}, helperCmd("leave", "exit", "group:trap"))
		r.waitLine("left ")
		began := time.Now()
		if code := r.wait(); code != 0 {
			t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
		}
		testutil.Within(t, began, 0) // SIGTERM reaches the leftover at once, not after the 30s grace
		logged := r.stderr.String()
		for _, want := range []string{"terminating leftovers", "leftovers gone"} {
			if !strings.Contains(logged, want) {
				t.Errorf("log lacks %q:\n%s", want, logged)
			}
		}
		if !m.pid1 && !strings.Contains(logged, "/proc is not mounted") {
			t.Errorf("the warning does not say /proc is missing:\n%s", logged)
		}
		for _, bad := range []string{"another PID namespace", "leaving them", "still alive, killed"} {
			if strings.Contains(logged, bad) {
				t.Errorf("log holds %q:\n%s", bad, logged)
			}
		}
	})
}

// Every descriptor in use (a low RLIMIT_NOFILE, a drain check holding
// sockets): /proc cannot be read. lastcall says so once, falls back to the
// child's process group (kill(-1) as PID 1), and holds the leftovers'
// deadline: a leftover in a session of its own, which it can neither find
// nor reach then, is left with a warning instead of being waited for.
func TestLeftoversWithoutDescriptors(t *testing.T) {
	const grace = time.Second
	forEachMode(t, func(t *testing.T, m mode) {
		r := startContained(t, m, nil, []string{"-leftover-grace", grace.String()},
			helperCmd("leave", "usr1", "group:trap", "setsid:ignore-term"))
		r.waitLine("left ")
		lc := containedPid(t, r, m)
		free := lowestFreeFD(t, lc)
		limit := unix.Rlimit{Cur: free, Max: free} // a new descriptor would be free or above: EMFILE
		if err := unix.Prlimit(lc, unix.RLIMIT_NOFILE, &limit, nil); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		if err := unix.Kill(lc, syscall.SIGUSR1); err != nil { // forwarded: the child exits
			t.Fatal(err)
		}
		if code := r.wait(); code != 0 {
			t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
		}
		testutil.Within(t, began, grace)
		logged := r.stderr.String()
		if n := strings.Count(logged, "cannot read /proc"); n != 1 {
			t.Errorf("%d lines say /proc cannot be read, want 1:\n%s", n, logged)
		}
		if got := strings.Contains(logged, "leaving them"); got == m.pid1 {
			t.Errorf("leftover in its own session left behind: %v, want %v:\n%s", got, !m.pid1, logged)
		}
	})
}

// lowestFreeFD is the lowest descriptor number that pid has not open: the
// number its next open would get.
func lowestFreeFD(t *testing.T, pid int) uint64 {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	open := make(map[string]bool, len(fds))
	for _, fd := range fds {
		open[fd.Name()] = true
	}
	var n uint64
	for open[fmt.Sprint(n)] {
		n++
	}
	return n
}

// Leftovers that fork and exit in a loop, each in a session of its own:
// the leftovers' SIGTERM reaches every generation, so a loop that dies on
// SIGTERM is gone at once, not at the end of a long --leftover-grace; one
// that ignores it is gone at the deadline. lastcall holds it either way.
func TestForkingLeftoversHoldTheDeadline(t *testing.T) {
	tests := []struct {
		name   string
		loop   string
		grace  time.Duration
		within time.Duration // what it should take
	}{
		{"dies on TERM", "fork-loop", 30 * time.Second, 0},
		{"ignores TERM", "fork-loop-ignore", 500 * time.Millisecond, 500 * time.Millisecond},
	}
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := startContained(t, m, nil, []string{"-leftover-grace", tt.grace.String()},
					helperCmd("leave", "exit", "setsid:"+tt.loop, "setsid:"+tt.loop, "group:"+tt.loop))
				r.waitLine("left ")
				began := time.Now()
				if code := r.wait(); code != 0 {
					t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
				}
				testutil.Within(t, began, tt.within)
				if logged := r.stderr.String(); !strings.Contains(logged, "leftovers gone") {
					t.Errorf("log lacks \"leftovers gone\":\n%s", logged)
				}
			})
		}
	})
}

// leaveHelper starts one leftover for each of args[1:], "group:HELPER" in
// its own process group or "setsid:HELPER" in a session of its own, waits
// for each to print its first line, says "left PID..." and exits: at once
// when args[0] is "exit", on SIGUSR1 when it is "usr1".
func leaveHelper(args []string) int {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	var pids []string
	for _, spec := range args[1:] {
		where, name, _ := strings.Cut(spec, ":")
		r, w, err := os.Pipe()
		if err != nil {
			return 1
		}
		argv := helperCmd(name)
		p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{Files: []*os.File{nil, w, os.Stderr},
			Sys: &syscall.SysProcAttr{Setsid: where == "setsid"}})
		w.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
			fmt.Fprintln(os.Stderr, name, "said nothing:", err)
			return 1
		}
		r.Close()
		pids = append(pids, fmt.Sprint(p.Pid))
	}
	fmt.Printf("left %s\n", strings.Join(pids, " "))
	if args[0] == "usr1" {
		<-usr1
	}
	return 0
}

// forkLoopHelper says ready and becomes a shell whose every generation
// forks the next and exits at once; with "ignore" as args[0], all of them
// ignore SIGTERM.
func forkLoopHelper(args []string) int {
	if len(args) > 0 && args[0] == "ignore" {
		signal.Ignore(syscall.SIGTERM) // SIG_IGN survives the exec and every fork
	}
	fmt.Println("ready")
	err := syscall.Exec("/bin/sh", []string{"sh", "-c", "loop() { loop & exit 0; }; loop"}, os.Environ())
	fmt.Fprintln(os.Stderr, err)
	return 1
}
