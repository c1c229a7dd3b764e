package pgserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestIdentifyFakes(t *testing.T) {
	exes := copyTestBinary(t)
	tests := []struct {
		name    string
		exe     string
		args    func(dir string) []string
		env     func(dir string) []string
		inDir   bool // run in the data directory
		pidLine func(pid int) string
		want    Source // 0: not a postmaster
	}{
		{"-D DIR", exes.postgres, dashD, none, false, selfPid, SourceArgs},
		{"started as postmaster", exes.postmaster, dashD, none, false, selfPid, SourceArgs},
		{"data_directory over -D", exes.postgres, dataDirectory, none, false, selfPid, SourceArgs},
		{"PGDATA", exes.postgres, none, pgdata, false, selfPid, SourceEnv},
		{"working directory", exes.postgres, none, none, true, selfPid, SourceCwd},
		{"relative -D", exes.postgres, relativeD, none, true, selfPid, SourceCwd},
		{"-D names no data directory", exes.postgres, rootD, pgdata, false, selfPid, SourceEnv},
		{"postmaster.pid names another", exes.postgres, dashD, pgdata, true, otherPid, 0},
		{"single-user backend", exes.postgres, dashD, none, true, negativePid, 0},
		{"no postmaster.pid", exes.postgres, dashD, pgdata, true, noPidFile, 0},
		{"not postgres", exes.other, dashD, pgdata, true, selfPid, 0},
	}
	for _, tt := range tests {
		dir := worldReadableDir(t)
		pid, _ := fake{exe: tt.exe, args: tt.args(dir), env: tt.env(dir), dir: inDir(tt.inDir, dir)}.start(t)
		writePidFile(t, dir, tt.pidLine(pid))
		pm, ok, err := Identify(pid)
		if want := expected(pid, dir, tt.want); pm != want || ok != (tt.want != 0) || err != nil {
			t.Errorf("%s: Identify = %+v, %v, %v; want %+v, %v, no error", tt.name, pm, ok, err, want, tt.want != 0)
		}
	}
}

func dashD(dir string) []string         { return []string{"-D", dir} }
func relativeD(string) []string         { return []string{"-D", "."} }
func rootD(string) []string             { return []string{"-D", "/"} }
func dataDirectory(dir string) []string { return []string{"-D", "/", "-c", "data_directory=" + dir} }
func pgdata(dir string) []string        { return []string{"PGDATA=" + dir} }
func none(string) []string              { return nil }

func inDir(yes bool, dir string) string {
	if yes {
		return dir
	}
	return ""
}

// expected is the Postmaster Identify should find: none when src is 0.
func expected(pid int, dir string, src Source) Postmaster {
	if src == 0 {
		return Postmaster{}
	}
	return Postmaster{PID: pid, DataDir: dir, Source: src}
}

// A postgres process whose parent runs postgres is a backend, not a
// postmaster, even where postmaster.pid names it; under a parent of another
// kind, the same process is a postmaster.
func TestIdentifyParent(t *testing.T) {
	exes := copyTestBinary(t)
	tests := []struct {
		parentExe string
		want      bool
	}{
		{exes.postgres, false},
		{exes.other, true},
	}
	for _, tt := range tests {
		dir := worldReadableDir(t)
		f := fake{exe: tt.parentExe, env: []string{"LASTCALL_TEST_CHILD=1", "LASTCALL_TEST_CHILD_EXE=" + exes.postgres, "PGDATA=" + dir}}
		_, child := f.start(t)
		writePidFile(t, dir, selfPid(child))
		if _, ok, err := Identify(child); ok != tt.want || err != nil {
			t.Errorf("child of %s: Identify = %v, %v; want %v", tt.parentExe, ok, err, tt.want)
		}
	}
}

func TestPostmastersFakes(t *testing.T) {
	exes := copyTestBinary(t)
	dir := worldReadableDir(t)
	pm, backend := fake{exe: exes.postgres, args: dashD(dir), env: []string{"LASTCALL_TEST_CHILD=1"}}.start(t)
	writePidFile(t, dir, selfPid(pm))
	stranger, _ := fake{exe: exes.other, args: dashD(dir)}.start(t)
	found, err := Postmasters([]int{stranger, backend, pm, os.Getpid()})
	want := []Postmaster{{PID: pm, DataDir: dir, Source: SourceArgs}}
	if fmt.Sprint(found) != fmt.Sprint(want) || err != nil {
		t.Errorf("Postmasters = %+v, %v; want %+v", found, err, want)
	}
}

// A process that has exited, reaped or not, is not a postmaster, and no
// error.
func TestIdentifyGone(t *testing.T) {
	exes := copyTestBinary(t)
	dir := worldReadableDir(t)
	cmd := exec.Command(exes.postgres, "-D", dir)
	cmd.Env = append(os.Environ(), "LASTCALL_TEST_HELPER=exit-at-once")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	writePidFile(t, dir, selfPid(cmd.Process.Pid))
	waitExited(t, cmd.Process.Pid)
	_, zombieOK, zombieErr := Identify(cmd.Process.Pid)
	_ = cmd.Wait()
	_, goneOK, goneErr := Identify(cmd.Process.Pid)
	if zombieOK || zombieErr != nil || goneOK || goneErr != nil {
		t.Errorf("Identify(zombie) = %v, %v; Identify(reaped) = %v, %v; want false, nil twice", zombieOK, zombieErr, goneOK, goneErr)
	}
}

// waitExited waits until pid has exited (reaped or not), with a pidfd: it
// turns readable when the process ends.
func waitExited(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return // gone already
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer func() { _ = unix.Close(fd) }()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 60_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			t.Fatalf("waiting for %d to exit: %v (timed out: %v)", pid, err, n == 0)
		}
		return
	}
}

// Without ptrace rights over the process (another user, or root without
// CAP_SYS_PTRACE), its exe, cwd and environ cannot be read: comm tells the
// executable, and the command line the data directory; without one there,
// the answer is unknown, as a permission error.
func TestIdentifyWithoutPtraceRights(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: needs root, to look at a root process as the user nobody")
	}
	exes := copyTestBinary(t)
	tests := []struct {
		name string
		args func(string) []string
		want string // ok pid dir source permission
	}{
		{"-D DIR", dashD, "true PID DIR command line permission:false"},
		{"working directory only", none, "false PID  unknown permission:true"},
	}
	for _, tt := range tests {
		dir := worldReadableDir(t)
		pid, _ := fake{exe: exes.postgres, args: tt.args(dir), env: pgdata(dir), dir: dir}.start(t)
		writePidFile(t, dir, selfPid(pid))
		got := identifyAsNobody(t, exes.other, pid)
		if want := strings.NewReplacer("PID", fmt.Sprint(pid), "DIR", dir).Replace(tt.want); got != want {
			t.Errorf("%s: as nobody, Identify says %q, want %q", tt.name, got, want)
		}
	}
}

func identifyAsNobody(t *testing.T, exe string, pid int) string {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "LASTCALL_TEST_HELPER=identify", fmt.Sprintf("LASTCALL_TEST_PID=%d", pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, NoSetGroups: true}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("identify helper as nobody: %v (%s)", err, out)
	}
	return strings.TrimSpace(string(out))
}
