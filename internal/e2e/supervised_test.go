package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// requireUnshare skips the test when unshare(1) is missing; CI has it.
func requireUnshare(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("SKIPPING: this test needs unshare (apt-get install util-linux)")
	}
}

var appNames atomic.Int64

// linkApp links app into dir under a name no other run shares (prefix,
// the test's pid and a counter, within the kernel's 15 bytes of command
// name), so that every process it starts, leftovers and daemons included,
// can be found in /proc by that command name. It returns the link's path
// and the name.
func linkApp(app, dir, prefix string) (path, name string, err error) {
	name = fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), appNames.Add(1))
	path = filepath.Join(dir, name)
	return path, name, os.Symlink(app, path)
}

// hostProc is a process as the test's own /proc shows it.
type hostProc struct {
	pid, ppid int
	start     string // start time in clock ticks: with pid, names one process for good
	state     string
}

// readHostProc reads /proc/PID/stat.
func readHostProc(pid int) (hostProc, string, error) {
	st, err := procfs.ReadStat(pid)
	return hostProc{pid: st.PID, ppid: st.PPID, start: strconv.FormatUint(st.Start, 10), state: string(st.State)}, st.Comm, err
}

// procsNamed lists every process, zombies included, whose command name is
// comm.
func procsNamed(comm string) []hostProc {
	entries, _ := os.ReadDir("/proc")
	var out []hostProc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, name, err := readHostProc(pid); err == nil && name == comm {
			out = append(out, p)
		}
	}
	return out
}

// stillThere reports whether p, the very process (same start time), is
// still in /proc, as a zombie or not.
func stillThere(p hostProc) bool {
	now, _, err := readHostProc(p.pid)
	return err == nil && now.start == p.start
}

// nsPidOf finds, among the processes named comm, the one whose pid in its
// own PID namespace (the last NSpid) is nsPid: the same number from the
// host when it runs there.
func nsPidOf(comm string, nsPid int) (hostProc, error) {
	for _, p := range procsNamed(comm) {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
		for line := range strings.Lines(string(status)) {
			ids := strings.Fields(strings.TrimPrefix(line, "NSpid:"))
			if err == nil && strings.HasPrefix(line, "NSpid:") && len(ids) > 0 && ids[len(ids)-1] == strconv.Itoa(nsPid) {
				return p, nil
			}
		}
	}
	return hostProc{}, fmt.Errorf("no process %q with pid %d in its namespace", comm, nsPid)
}

// childNamed finds the child of ppid named comm.
func childNamed(ppid int, comm string) (int, error) {
	for _, p := range procsNamed(comm) {
		if p.ppid == ppid {
			return p.pid, nil
		}
	}
	return 0, fmt.Errorf("no process %q with parent %d", comm, ppid)
}

// vmRSS is the VmRSS of pid, in KiB.
func vmRSS(pid int) (int, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// supervisedApp is the lastcall binary running the test app, as PID 1 of
// a new PID namespace (under unshare) or as a subreaper. Its stdin,
// stdout and stderr are files (two pipes whose other ends the test holds,
// and a file): exec.Cmd.Wait then returns when the process exits, whoever
// still holds them, and stderr is complete once it has.
type supervisedApp struct {
	cmd    *exec.Cmd
	pid1   bool
	comm   string      // the app's command name
	stdin  *os.File    // closing it ends an app whose END is exit:N
	stdout *os.File    // read by the line reader
	lines  chan string // the app's stdout lines; closed at EOF
	stderr logFile
	exited chan struct{} // closed when cmd has been waited for
	done   chan struct{} // closed by close, to stop the line reader
}

// logFile is lastcall's stderr.
type logFile struct{ *os.File }

// String is what was written to the file so far.
func (f logFile) String() string {
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// startSupervised starts lastcall with args, then `app behave end kind`
// under the name comm (see linkApp); lastcall's stderr goes to a file in
// dir.
func startSupervised(dir, lastcall, app, comm string, pid1 bool, args []string, end, kind string) (*supervisedApp, error) {
	argv := []string{lastcall}
	if pid1 {
		argv = []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child", lastcall}
		if os.Geteuid() != 0 {
			argv = append(argv[:1], append([]string{"--user", "--map-root-user"}, argv[1:]...)...)
		}
	}
	argv = append(append(argv, args...), "--", app, "behave", end, kind)
	errFile, err := os.CreateTemp(dir, comm+".stderr")
	if err != nil {
		return nil, err
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		errFile.Close()
		return nil, err
	}
	defer inR.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		errFile.Close()
		inW.Close()
		return nil, err
	}
	defer outW.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = baseEnv()
	s := &supervisedApp{cmd: cmd, pid1: pid1, comm: comm, stdin: inW, stdout: outR, lines: make(chan string, 64),
		stderr: logFile{errFile}, exited: make(chan struct{}), done: make(chan struct{})}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errFile
	if err := cmd.Start(); err != nil {
		errFile.Close()
		inW.Close()
		outR.Close()
		return nil, err
	}
	go func() {
		_ = cmd.Wait() // no copy goroutines to wait for: all three are files
		close(s.exited)
	}()
	go s.readLines()
	return s, nil
}

func (s *supervisedApp) readLines() {
	defer close(s.lines)
	sc := bufio.NewScanner(s.stdout)
	for sc.Scan() {
		select {
		case s.lines <- sc.Text():
		case <-s.done:
			return
		}
	}
}

// next returns the app's next stdout line.
func (s *supervisedApp) next(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-s.lines:
		if !ok {
			return "", fmt.Errorf("the app's stdout ended; stderr:\n%s", s.stderr)
		}
		return l, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("no line from the app in %v; stderr:\n%s", timeout, s.stderr)
	}
}

// expect reads the app's next line and wants it to be want.
func (s *supervisedApp) expect(want string) error {
	l, err := s.next(10 * time.Second)
	if err != nil {
		return fmt.Errorf("waiting for %q: %w", want, err)
	}
	if l != want {
		return fmt.Errorf("the app said %q, want %q; stderr:\n%s", l, want, s.stderr)
	}
	return nil
}

// pidLine reads the app's next line, "label PID", and returns PID.
func (s *supervisedApp) pidLine(label string) (int, error) {
	l, err := s.next(10 * time.Second)
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(l, label+" ")
	pid, err := strconv.Atoi(n)
	if !ok || err != nil {
		return 0, fmt.Errorf("the app said %q, want %q and a pid; stderr:\n%s", l, label+" PID", s.stderr)
	}
	return pid, nil
}

// lastcallPid is lastcall's pid as the host sees it: in a new PID
// namespace, unshare's child.
func (s *supervisedApp) lastcallPid() (int, error) {
	if !s.pid1 {
		return s.cmd.Process.Pid, nil
	}
	return childNamed(s.cmd.Process.Pid, "lastcall")
}

// wait waits until lastcall (unshare, as PID 1) has exited, at most
// timeout, and returns its exit code.
func (s *supervisedApp) wait(timeout time.Duration) (int, error) {
	select {
	case <-s.exited:
		return s.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		return 0, fmt.Errorf("lastcall did not exit in %v; stderr:\n%s", timeout, s.stderr)
	}
}

// eof waits until the app's stdout reaches its end, at most timeout: every
// process that held it is gone. Lines not read yet are returned.
func (s *supervisedApp) eof(timeout time.Duration) ([]string, error) {
	var rest []string
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return rest, nil
			}
			rest = append(rest, l)
		case <-deadline:
			return rest, fmt.Errorf("the app's stdout did not end %v after lastcall exited: a process still holds it", timeout)
		}
	}
}

// close ends the run whatever its state: it kills lastcall and every
// process still carrying the app's name, and lets go of the pipes.
func (s *supervisedApp) close() {
	_ = s.cmd.Process.Kill() // --kill-child: the namespace goes with unshare
	<-s.exited
	for _, p := range procsNamed(s.comm) {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	close(s.done)
	s.stdin.Close()
	s.stdout.Close() // ends the line reader's Read
	for range s.lines {
	}
	s.stderr.Close()
	_ = os.Remove(s.stderr.Name())
}

// logValue is the field of the one log line msg, or an error naming what
// is missing.
func logValue(logs []map[string]any, msg, field string) (float64, error) {
	lines := linesWith(logs, msg)
	if len(lines) != 1 {
		return 0, fmt.Errorf("%d log lines %q, want 1", len(lines), msg)
	}
	v, ok := lines[0][field].(float64)
	if !ok {
		return 0, fmt.Errorf("log line %q has no number %q: %v", msg, field, lines[0])
	}
	return v, nil
}

// leftoverCleanup is what lastcall's log says of its cleanup of leftovers:
// how many it terminated, whether it had to kill some, and whether it saw
// them all gone before it exited.
type leftoverCleanup struct {
	terminated int
	killed     int // "leftovers still alive, killed" lines
	gone       int // "leftovers gone" lines
	exitCode   int // the exit line's exit_code, -1 without one
}

func cleanupLogged(logs []map[string]any) leftoverCleanup {
	c := leftoverCleanup{exitCode: -1}
	if n, err := logValue(logs, "terminating leftovers", "processes"); err == nil {
		c.terminated = int(n)
	}
	if n, err := logValue(logs, "exit", "exit_code"); err == nil {
		c.exitCode = int(n)
	}
	c.killed = len(linesWith(logs, "leftovers still alive, killed"))
	c.gone = len(linesWith(logs, "leftovers gone"))
	return c
}
