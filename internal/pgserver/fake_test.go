package pgserver

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/lastcall-dev/lastcall/internal/testutil"
)

// fakeExes are copies of the test binary under the names that matter: a
// process started from one runs the hold helper, and /proc shows it with
// that executable and comm.
type fakeExes struct{ postgres, postmaster, other string }

// copyTestBinary copies the test binary as postgres, postmaster and
// lastcall-helper into a directory that every user may read.
func copyTestBinary(t *testing.T) fakeExes {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := worldReadableDir(t)
	exes := fakeExes{filepath.Join(dir, "postgres"), filepath.Join(dir, "postmaster"), filepath.Join(dir, "lastcall-helper")}
	for _, dst := range []string{exes.postgres, exes.postmaster, exes.other} {
		testutil.CopyFile(t, self, dst)
	}
	return exes
}

// worldReadableDir is a fresh directory of mode 0755 (t.TempDir's parent
// is 0700), removed when t ends.
func worldReadableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lastcall-pgserver-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fake is a hold helper to start: the executable, its arguments after the
// program name, extra environment, and its working directory ("" for the
// test's own).
type fake struct {
	exe  string
	args []string
	env  []string
	dir  string
}

// start starts f and waits until it (and its child, with
// LASTCALL_TEST_CHILD=1 in env) is ready. Both end when t does.
func (f fake) start(t *testing.T) (pid, childPID int) {
	t.Helper()
	cmd := exec.Command(f.exe, f.args...)
	cmd.Env = append(os.Environ(), append([]string{"LASTCALL_TEST_HELPER=hold", "PGDATA="}, f.env...)...)
	cmd.Dir, cmd.Stderr = f.dir, os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	childPID, err = startReady(cmd)
	if err != nil || (childPID == 0) == slices.Contains(f.env, "LASTCALL_TEST_CHILD=1") {
		t.Fatalf("hold helper: %v; child %d, asked for with %q", err, childPID, f.env)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid, childPID
}

// writePidFile writes postmaster.pid into dir with first line line, the
// way a postmaster does (more lines follow); no file when line is "".
func writePidFile(t *testing.T, dir, line string) {
	t.Helper()
	if line == "" {
		return
	}
	content := line + "\n" + dir + "\n1700000000\n5432\n/tmp\n*\n  1234567     98304\nready   \n"
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The first lines of postmaster.pid that the tests write, given the pid
// of the process under test.
func selfPid(pid int) string     { return strconv.Itoa(pid) }
func negativePid(pid int) string { return "-" + strconv.Itoa(pid) }
func otherPid(int) string        { return "1" }
func noPidFile(int) string       { return "" }
