package supervisor

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/internal/procfs"
	"github.com/lastcall-dev/lastcall/internal/testutil"
)

// mode is how lastcall runs in a test: as PID 1 of a new PID namespace, or
// as a plain process that registers as subreaper.
type mode struct {
	name string
	pid1 bool
}

var modes = []mode{{"subreaper", false}, {"pid1", true}}

// waitLimit bounds every wait for a condition; reaching it fails the test.
const waitLimit = 20 * time.Second

// lastcallRun is one run of the supervise helper, with its stdout read line
// by line and its stderr (lastcall's log and the child's) kept.
type lastcallRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr *testutil.SyncBuffer
	seen   []string // every line read so far
	unread []string // lines read but not yet matched by waitLine
	done   chan struct{}
}

// lastcallArgv is the argv that runs lastcall (the supervise helper) with
// flags and the child command, in mode m, started through wrap if any.
func lastcallArgv(m mode, wrap, flags, child []string) []string {
	argv := append(append(wrap, helperCmd("supervise", flags...)...), "--")
	argv = append(argv, child...)
	if !m.pid1 {
		return argv
	}
	ns := []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}
	if os.Geteuid() != 0 {
		ns = append(ns[:1], append([]string{"--user", "--map-root-user"}, ns[1:]...)...)
	}
	return append(ns, argv...)
}

func startLastcall(t *testing.T, m mode, stdin io.Reader, flags []string, child ...string) *lastcallRun {
	t.Helper()
	return startWrapped(t, m, nil, stdin, flags, child...)
}

// startWrapped starts lastcall through wrap, a command that execs the rest.
func startWrapped(t *testing.T, m mode, wrap []string, stdin io.Reader, flags []string, child ...string) *lastcallRun {
	t.Helper()
	return startArgv(t, lastcallArgv(m, wrap, flags, child), stdin, nil)
}

// startArgv starts argv, which runs lastcall, with attr (nil for none). A
// Pdeathsig in attr is kept for the whole test: see startPinned.
func startArgv(t *testing.T, argv []string, stdin io.Reader, attr *syscall.SysProcAttr) *lastcallRun {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stdin = stdin
	cmd.SysProcAttr = attr
	r := &lastcallRun{t: t, cmd: cmd, lines: make(chan string, 1024), stderr: &testutil.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = r.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := cmd.Start
	if attr != nil && attr.Pdeathsig != 0 {
		start = func() error { return startPinned(t, cmd) }
	}
	if err := start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		r.kill()
		r.wait()
	})
	return r
}

// startPinned starts cmd from an OS thread that stays locked to one
// goroutine until the test's cleanup. The kernel sends a Pdeathsig when the
// thread that forked exits, not only the process (go.dev/issue/27505), and
// the Go runtime ends a thread whose goroutine exits while locked to it.
func startPinned(t *testing.T, cmd *exec.Cmd) error {
	started := make(chan error)
	release := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			<-release
		}
	}()
	t.Cleanup(func() {
		close(release)
		<-done
	})
	return <-started
}

// kill ends lastcall and everything below it, whatever state it is in.
func (r *lastcallRun) kill() {
	procs, _ := procfs.List()
	for _, p := range procfs.DescendantsOf(r.cmd.Process.Pid, procs) {
		_ = unix.Kill(p.PID, unix.SIGKILL)
	}
	_ = r.cmd.Process.Kill()
}

// waitLine waits for a stdout line containing want, not matched before,
// and returns it. Lines from different processes come in any order.
func (r *lastcallRun) waitLine(want string) string {
	r.t.Helper()
	return r.waitLineWithin(want, waitLimit)
}

// waitLineWithin is waitLine with its own bound instead of waitLimit, for
// a wait that a test sizes from a rate it measured.
func (r *lastcallRun) waitLineWithin(want string, limit time.Duration) string {
	r.t.Helper()
	for i, line := range r.unread {
		if strings.Contains(line, want) {
			r.unread = append(r.unread[:i], r.unread[i+1:]...)
			return line
		}
	}
	timeout := time.After(limit)
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				r.t.Fatalf("stdout closed before %q; saw %q; stderr:\n%s", want, r.seen, r.stderr)
			}
			r.seen = append(r.seen, line)
			if strings.Contains(line, want) {
				return line
			}
			r.unread = append(r.unread, line)
		case <-timeout:
			r.t.Fatalf("no line %q within %v; saw %q; stderr:\n%s", want, limit, r.seen, r.stderr)
		}
	}
}

// wait waits for lastcall to exit and returns its exit code.
func (r *lastcallRun) wait() int {
	r.t.Helper()
	select {
	case <-r.done:
		return r.cmd.ProcessState.ExitCode()
	default:
	}
	defer close(r.done)
	timeout := time.After(waitLimit)
	for open := true; open; {
		select {
		case line, ok := <-r.lines:
			open = ok
			r.seen = append(r.seen, line)
		case <-timeout:
			r.kill()
			r.t.Errorf("stdout still open %v after the test: something holds it; stderr:\n%s", waitLimit, r.stderr)
			open = false
		}
	}
	_ = r.cmd.Wait()
	return r.cmd.ProcessState.ExitCode()
}

// pid is lastcall's pid as seen from the test: in pid1 mode, the child of
// unshare.
func (r *lastcallRun) pid(m mode) int {
	r.t.Helper()
	if !m.pid1 {
		return r.cmd.Process.Pid
	}
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		if kids := childrenOf(r.cmd.Process.Pid); len(kids) == 1 {
			return kids[0].PID
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.t.Fatal("unshare started no child")
	return 0
}

func (r *lastcallRun) signal(m mode, sig syscall.Signal) {
	r.t.Helper()
	if err := unix.Kill(r.pid(m), sig); err != nil {
		r.t.Fatalf("kill %v: %v", sig, err)
	}
}

// hostPid turns a pid printed by a process under lastcall into the test's
// view: in pid1 mode it is a pid of the new namespace.
func (r *lastcallRun) hostPid(m mode, pid int) int {
	r.t.Helper()
	if !m.pid1 {
		return pid
	}
	procs, _ := procfs.List()
	for _, p := range procfs.DescendantsOf(r.pid(m), procs) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && f[0] == "NSpid:" && f[len(f)-1] == strconv.Itoa(pid) {
				return p.PID
			}
		}
	}
	r.t.Fatalf("no process %d in lastcall's namespace", pid)
	return 0
}

func childrenOf(pid int) []procfs.Stat {
	procs, _ := procfs.List()
	var kids []procfs.Stat
	for _, p := range procs {
		if p.PPID == pid {
			kids = append(kids, p)
		}
	}
	return kids
}

// eventually polls cond until it holds, failing the test after waitLimit.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func exists(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

// mustScan parses a line a helper printed, failing the test if it does not
// have the expected form.
func mustScan(t *testing.T, line, format string, args ...any) {
	t.Helper()
	if _, err := fmt.Sscanf(line, format, args...); err != nil {
		t.Fatalf("line %q is not %q: %v", line, format, err)
	}
}
