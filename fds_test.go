package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
)

var (
	appOnce sync.Once
	appPath string
	appErr  error
)

// appBinary builds testdata/app once per test run.
func appBinary(t *testing.T) string {
	t.Helper()
	appOnce.Do(func() { appPath, appErr = goBuild(filepath.Join(binDir, "app"), "./testdata/app") })
	if appErr != nil {
		t.Fatal(appErr)
	}
	return appPath
}

// inspected is what `app inspect` reported of itself.
type inspected struct {
	pid       int
	listenPID string
	fds       map[int]string // descriptor -> its target, as /proc shows it
	env       []string       // sorted
}

// appRun is lastcall running `app inspect` or `app activated`.
type appRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *bufio.Scanner
	stderr *syncBuffer
}

// startApp starts cmd, whose stdout must be free, and reads the app's
// lines from it.
func startApp(t *testing.T, cmd *exec.Cmd) *appRun {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &appRun{t: t, cmd: cmd, out: bufio.NewScanner(stdout), stderr: &syncBuffer{}}
	cmd.Stderr = r.stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return r
}

// line returns the app's next line of output.
func (r *appRun) line() string {
	r.t.Helper()
	if !r.out.Scan() {
		r.t.Fatalf("the app's output ended; stderr:\n%s", r.stderr)
	}
	return r.out.Text()
}

// inspect reads what `app inspect` printed, up to its "ready".
func (r *appRun) inspect() inspected {
	r.t.Helper()
	got := inspected{fds: map[int]string{}}
	for line := r.line(); line != "ready"; line = r.line() {
		key, value, _ := strings.Cut(line, " ")
		switch key {
		case "pid":
			got.pid, _ = strconv.Atoi(value)
		case "listen_pid":
			got.listenPID = value
		case "fd":
			n, target, _ := strings.Cut(value, " ")
			fd, _ := strconv.Atoi(n)
			got.fds[fd] = target
		case "env":
			got.env = append(got.env, value)
		}
	}
	return got
}

// wait waits for lastcall and returns its exit code.
func (r *appRun) wait() int {
	r.t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			r.t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		r.t.Fatalf("lastcall did not exit; stderr:\n%s", r.stderr)
	}
	return r.cmd.ProcessState.ExitCode()
}

// fdTarget is what /proc shows descriptor fd of process pid points to.
func fdTarget(t *testing.T, pid int, fd int) string {
	t.Helper()
	target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
	if err != nil {
		t.Fatal(err)
	}
	return target
}

// fileTarget is what /proc shows the test's open file f points to. It
// leaves f in non-blocking mode (File.Fd would not), so deadlines work.
func fileTarget(t *testing.T, f *os.File) string {
	t.Helper()
	raw, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var target string
	if err := raw.Control(func(fd uintptr) { target = fdTarget(t, os.Getpid(), int(fd)) }); err != nil {
		t.Fatal(err)
	}
	return target
}

// The child gets exactly the descriptors lastcall inherited, at the same
// numbers, gaps included, and none of lastcall's own. Once the child holds
// them lastcall lets go of its copies: when the child closes a pipe, its
// reader sees the end at once, and a writer to stdin gets EPIPE.
func TestChildGetsExactlyTheInheritedFDs(t *testing.T) {
	stdinR, stdinW := osPipe(t)
	pipeR, pipeW := osPipe(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sock, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()

	cmd := exec.Command(lastcallBinary(t), "--log-level", "debug", "--", appBinary(t), "inspect")
	cmd.Env = baseEnv()
	cmd.Stdin = stdinR
	cmd.ExtraFiles = []*os.File{pipeW, nil, sock} // 3, a closed 4, 5
	r := startApp(t, cmd)
	stdinR.Close()
	pipeW.Close()
	sock.Close()
	got := r.inspect()

	if got.fds[0] != fileTarget(t, stdinW) {
		t.Errorf("child's fd 0 = %q, want the stdin pipe %q", got.fds[0], fileTarget(t, stdinW))
	}
	if got.fds[3] != fileTarget(t, pipeR) {
		t.Errorf("child's fd 3 = %q, want the pipe %q", got.fds[3], fileTarget(t, pipeR))
	}
	if !strings.HasPrefix(got.fds[5], "socket:") {
		t.Errorf("child's fd 5 = %q, want the listening socket", got.fds[5])
	}
	// The test's own inherited descriptors above 5 pass through lastcall too.
	want := append([]int{0, 1, 2, 3, 5}, ownInheritedFDs(t, 6)...)
	if fds := sortedFDs(got.fds); fmt.Sprint(fds) != fmt.Sprint(want) {
		t.Errorf("child's descriptors %v, want exactly %v: %v", fds, want, got.fds)
	}

	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil { // forwarded: the app closes 3 and 5
		t.Fatal(err)
	}
	if line := r.line(); line != "closed" {
		t.Fatalf("app said %q, want closed", line)
	}
	// The app got SIGUSR1 through lastcall, after lastcall let go.
	if err := pipeR.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil { // bounds a failure
		t.Fatal(err)
	}
	if _, err := pipeR.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read the pipe after the app closed it: %v, want EOF (lastcall still holds a copy)", err)
	}
	held := map[string]bool{}
	for fd, target := range procFDs(t, cmd.Process.Pid) {
		held[target] = true
		if (fd == 0 || fd == 1) && target != "/dev/null" {
			t.Errorf("lastcall's fd %d is %q, want /dev/null once the child holds it", fd, target)
		}
	}
	for _, fd := range []int{3, 5} {
		if held[got.fds[fd]] {
			t.Errorf("lastcall still holds %q, which it passed as fd %d", got.fds[fd], fd)
		}
	}
	if held[fileTarget(t, stdinW)] {
		t.Errorf("lastcall still holds its stdin pipe")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(); code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
	}
}

// lastcall's own descriptors never reach the child: not the database
// connections of --wait-db, nor the drain check's, nor its /proc handles.
func TestChildGetsNoneOfLastcallsFDs(t *testing.T) {
	c := pgtest.Start(t)
	cmd := exec.Command(lastcallBinary(t), "--wait-db", "10s", "--db-check", "both", "--", appBinary(t), "inspect")
	cmd.Env = append(baseEnv(), "DATABASE_URL="+c.AppURL())
	r := startApp(t, cmd)
	got := r.inspect()
	want := append([]int{0, 1, 2}, ownInheritedFDs(t, 3)...)
	if fds := sortedFDs(got.fds); fmt.Sprint(fds) != fmt.Sprint(want) {
		t.Errorf("child's descriptors %v, want exactly %v: %v", fds, want, got.fds)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(); code != 0 {
		t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
	}
}

// procFDs lists the descriptors of process pid and their targets.
func procFDs(t *testing.T, pid int) map[int]string {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	fds := map[int]string{}
	for _, e := range entries {
		fd, _ := strconv.Atoi(e.Name())
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd)); err == nil {
			fds[fd] = target
		}
	}
	return fds
}

func sortedFDs(m map[int]string) []int {
	fds := make([]int, 0, len(m))
	for fd := range m {
		fds = append(fds, fd)
	}
	sort.Ints(fds)
	return fds
}

func osPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// ownInheritedFDs lists the test's descriptors from min up without
// close-on-exec: the ones a child of the test inherits besides those it is
// given (a developer's shell may pass some).
func ownInheritedFDs(t *testing.T, min int) []int {
	t.Helper()
	var fds []int
	for fd := range procFDs(t, os.Getpid()) {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if fd >= min && err == nil && flags&unix.FD_CLOEXEC == 0 {
			fds = append(fds, fd)
		}
	}
	sort.Ints(fds)
	return fds
}

// activationCmd runs lastcall as socket activation starts a service: with
// a listening socket as fd 3, LISTEN_FDS=1 and LISTEN_PID set to
// lastcall's own pid (by a shell that execs lastcall in place), as PID 1 of
// a new PID namespace when pid1 is set.
func activationCmd(t *testing.T, pid1 bool, sock *os.File, args ...string) *exec.Cmd {
	t.Helper()
	argv := []string{"sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"`, "sh", lastcallBinary(t)}
	if pid1 {
		ns := []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}
		if os.Geteuid() != 0 {
			ns = append(ns[:1], append([]string{"--user", "--map-root-user"}, ns[1:]...)...)
		}
		argv = append(ns, argv...)
	}
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = baseEnv()
	cmd.ExtraFiles = []*os.File{sock}
	return cmd
}

// listenerFile is a listening TCP socket on loopback, as a file to pass on.
func listenerFile(t *testing.T) (addr string, f *os.File) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err = ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return ln.Addr().String(), f
}

// Socket activation works through lastcall: the app sees LISTEN_PID equal
// to its own pid (lastcall starts it through the exec trampoline) and
// serves on the socket it was given, as PID 1 and not.
func TestSocketActivation(t *testing.T) {
	for _, pid1 := range []bool{false, true} {
		t.Run(fmt.Sprintf("pid1=%v", pid1), func(t *testing.T) {
			addr, sock := listenerFile(t)
			cmd := activationCmd(t, pid1, sock, "--log-level", "debug", "--log-format", "json", "--", appBinary(t), "activated")
			r := startApp(t, cmd)
			sock.Close()
			if line := r.line(); line != "ready" {
				t.Fatalf("app said %q, want ready; stderr:\n%s", line, r.stderr)
			}
			conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil { // bounds a failure
				t.Fatal(err)
			}
			hello, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil || !strings.HasPrefix(hello, "hello from ") {
				t.Fatalf("the app answered %q, %v", hello, err)
			}
			if code := r.wait(); code != 0 {
				t.Errorf("exit code %d, want 0; stderr:\n%s", code, r.stderr)
			}
			started := linesWith(parseJSONLines(r.stderr.String()), "child started")
			pid := strings.TrimSpace(strings.TrimPrefix(hello, "hello from "))
			if len(started) != 1 || fmt.Sprint(started[0]["child_pid"]) != pid || started[0]["socket_activation"] != true {
				t.Errorf("the app's pid is %s; want one \"child started\" line with that child_pid and socket_activation; stderr:\n%s",
					pid, r.stderr)
			}
		})
	}
}

// The child gets lastcall's environment as it was, byte for byte, except
// for what lastcall documents: HOME with --user, PGAPPNAME with the drain
// check, LISTEN_PID with socket activation. Nothing of lastcall's own
// (the exec trampoline's variable) reaches it.
func TestChildEnvironment(t *testing.T) {
	given := []string{"FOO=bar", "EMPTY=", "WITH_EQUALS=a=b", "LASTCALL_LEFTOVER_GRACE=3s", "GODEBUG=madvdontneed=1",
		"DATABASE_URL=postgres://app:env-canary@127.0.0.1:1/app"}
	plain := func(t *testing.T, args ...string) *exec.Cmd {
		cmd := exec.Command(lastcallBinary(t), args...)
		cmd.Env = baseEnv()
		return cmd
	}
	activated := func(t *testing.T, args ...string) *exec.Cmd {
		_, sock := listenerFile(t)
		return activationCmd(t, false, sock, args...)
	}
	tests := []envCase{
		{"as given", plain, nil, nil, func(inspected) []string { return nil }},
		{"drain check tags the app", plain, []string{"--db-check", "local"}, nil, func(c inspected) []string {
			return []string{"PGAPPNAME=" + taggedAs(c.env)}
		}},
		{"the user's PGAPPNAME kept", plain, []string{"--db-check", "local"}, []string{"PGAPPNAME=web"},
			func(inspected) []string { return nil }},
		{"socket activation", activated, nil, []string{"LISTEN_FDS=1"}, func(c inspected) []string {
			return []string{"LISTEN_PID=" + strconv.Itoa(c.pid)}
		}},
	}
	if os.Geteuid() == 0 { // --user needs root
		tests = append(tests,
			envCase{"--user sets HOME", plain, []string{"--user", "nobody"}, []string{"HOME=/root"}, func(inspected) []string {
				return []string{"HOME=/nonexistent"}
			}},
			envCase{"socket activation as nobody", activated, []string{"--user", "nobody"}, []string{"LISTEN_FDS=1"},
				func(c inspected) []string { return []string{"LISTEN_PID=" + strconv.Itoa(c.pid), "HOME=/nonexistent"} }},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{}, tt.args...), "--", appBinary(t), "inspect")
			cmd := tt.start(t, args...)
			cmd.Env = append(append(cmd.Env, given...), tt.given...)
			r := startApp(t, cmd)
			child := r.inspect()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := r.wait(); code != 0 {
				t.Errorf("exit code %d; stderr:\n%s", code, r.stderr)
			}
			// What lastcall was given: cmd.Env, less what the shell that
			// starts it under socket activation adds (LISTEN_PID).
			want := withEntries(withEntries(cmd.Env, []string{"LISTEN_PID=" + child.listenPID}), tt.changed(child))
			if got := strings.Join(child.env, "\n"); got != strings.Join(want, "\n") {
				t.Errorf("the child's environment:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}

type envCase struct {
	name    string
	start   func(t *testing.T, args ...string) *exec.Cmd
	args    []string
	given   []string // besides those all cases get
	changed func(child inspected) []string
}

// withEntries is env, sorted, with each of entries replacing the variable
// of the same name or joining it. An entry "NAME=" + child.listenPID for a
// child without LISTEN_PID ("LISTEN_PID=") adds nothing.
func withEntries(env, entries []string) []string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	for _, kv := range entries {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := m[k]; ok || v != "" {
			m[k] = v
		}
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// taggedAs is the child's PGAPPNAME when it is a lastcall tag, and says it
// is missing otherwise.
func taggedAs(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PGAPPNAME="); ok && strings.HasPrefix(v, "lastcall-") {
			return v
		}
	}
	return "(a lastcall-... tag, missing)"
}
