package e2e

import (
	"bytes"
	"context"
	"errors"
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
)

// The README's numbers (section "Limits"): the tests hold the binary to
// them. The RLIMIT_NOFILE minimum depends on the cgroup files the Go
// runtime keeps open, so it is counted (runtimeDescriptors), not written.
const (
	nofileNeeded = 4  // descriptors lastcall opens beyond those open at its start
	nprocLeast   = 10 // the least RLIMIT_NPROC lastcall runs with
	nprocTail    = 2  // from nprocLeast on, this many limits where a fork can still fail now and then
	nprocSpeaks  = 4  // from here on lastcall, not the runtime, answers a low RLIMIT_NPROC
	asLeastMiB   = 726
)

// limitedUID runs lastcall where RLIMIT_NPROC applies: a uid no account
// and no other test uses, so that it owns no process but the run's.
const limitedUID = "64998"

// limitRun is how one run under a limit ended.
type limitRun struct {
	code   int
	ran    bool // the child left its marker
	stderr string
}

// childMarks is the child every limit test runs: it leaves "ran" in its
// working directory and exits 7, without a process of its own but the
// shell (under RLIMIT_NPROC the child counts) and with one descriptor (3;
// a builtin's redirection would save stdout at 10 or above).
var childMarks = []string{"sh", "-c", "exec 3>ran; exit 7"}

// runLimited runs argv (prlimit, setpriv, an init and its child) in a new
// directory that uid (when not "") may write, and waits for it.
func runLimited(t *testing.T, env []string, extra []*os.File, uid string, argv ...string) limitRun {
	t.Helper()
	dir, err := os.MkdirTemp("", "lastcall-limits-") // not under t.TempDir(): uid must reach it
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if uid != "" {
		n, _ := strconv.Atoi(uid)
		if err := os.Chown(dir, n, n); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(), env...)
	cmd.ExtraFiles = extra
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%q did not finish in time; stderr:\n%s", argv, stderr.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run %q: %v", argv, err)
	}
	_, statErr := os.Stat(filepath.Join(dir, "ran"))
	code := cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal()) // as a shell reports it: prlimit execs the init, nothing reports for it
	}
	return limitRun{code: code, ran: statErr == nil, stderr: stderr.String()}
}

// refusal reports what is wrong with got as lastcall's refusal of limit:
// exit 1, exactly one line that names it, the child never started.
func (got limitRun) refusal(limit string) string {
	var wrong []string
	if got.code != exitFailed {
		wrong = append(wrong, fmt.Sprintf("exit code %d, want %d", got.code, exitFailed))
	}
	if strings.Count(got.stderr, "\n") != 1 || !strings.HasSuffix(got.stderr, "\n") ||
		!strings.HasPrefix(got.stderr, "lastcall: "+limit+" is ") {
		wrong = append(wrong, fmt.Sprintf("stderr %q, want one line starting %q", got.stderr, "lastcall: "+limit+" is "))
	}
	if got.ran {
		wrong = append(wrong, "the child was started")
	}
	return strings.Join(wrong, "; ")
}

// forkFailed reports whether got is lastcall's own answer to a fork that
// failed (exit 1, its log line): the README's tail just above the
// RLIMIT_NPROC minimum on a busy machine, where the runtime's threads peak.
func (got limitRun) forkFailed() bool {
	return got.code == exitFailed && !got.ran && strings.Contains(got.stderr, "resource temporarily unavailable")
}

// threadFailed reports the runtime dying of a thread it could not start
// (exit 2, newosproc): in the tail, under load, the runtime's own threads
// may take what the child needed (seen at 10 with both cores busy and the
// suite running).
func (got limitRun) threadFailed() bool {
	return got.code == exitUsage && strings.Contains(got.stderr, "newosproc")
}

// inTail reports one of the two ways a run at the edge of RLIMIT_NPROC
// may fail on a busy machine (the README's tail).
func (got limitRun) inTail() bool { return got.forkFailed() || got.threadFailed() }

// outcome is got in a few words, for the log.
func (got limitRun) outcome() string {
	switch {
	case got.ran && got.code == 7:
		return "ran"
	case got.refusal("RLIMIT_NOFILE") == "" || got.refusal("RLIMIT_NPROC") == "":
		return "refused (1 line, exit 1)"
	}
	first, _, _ := strings.Cut(strings.TrimSpace(got.stderr), "\n")
	if len(first) > 60 {
		first = first[:60] + "..."
	}
	return fmt.Sprintf("exit %d, child ran %v: %q", got.code, got.ran, first)
}

// requireTools skips the test when util-linux's prlimit or setpriv is
// missing, or when the test cannot switch to limitedUID.
func requireTools(t *testing.T, needUID bool) {
	t.Helper()
	for _, tool := range []string{"prlimit", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s sets the limits here: install util-linux", tool)
		}
	}
	if needUID && os.Geteuid() != 0 {
		t.Skip("RLIMIT_NPROC binds only an unprivileged uid, and switching to one needs root: run the tests as root (CI does)")
	}
}

// asUser runs argv as limitedUID, without groups or capabilities: the
// kernel then counts RLIMIT_NPROC against it.
func asUser(argv ...string) []string {
	return append([]string{"setpriv", "--reuid=" + limitedUID, "--regid=" + limitedUID, "--clear-groups"}, argv...)
}

// runtimeDescriptors counts the descriptors the Go runtime keeps open from
// its start (the cgroup files it follows the CPU limit in), seen in this
// test binary: built by the same Go, in the same cgroup.
func runtimeDescriptors(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(target, "/sys/fs/cgroup/") {
			n++
		}
	}
	return n
}

// Below its minimum (stdin, stdout, stderr, the runtime's cgroup files and
// 4 more), lastcall refuses RLIMIT_NOFILE in one line naming the minimum,
// with exit 1, and never starts the child; from the minimum on the child
// runs, a leftover is terminated, and lastcall exits with the child's code.
// A descriptor lastcall inherits raises the minimum by one.
func TestLowOpenFilesLimit(t *testing.T) {
	requireTools(t, false)
	lastcall := lastcallBinary(t)
	held := runtimeDescriptors(t)
	least := 3 + held + nofileNeeded
	t.Logf("the runtime keeps %d cgroup descriptors open: lastcall needs RLIMIT_NOFILE %d", held, least)
	for n := 3; n < least; n++ {
		got := runLimited(t, nil, nil, "", append([]string{"prlimit", fmt.Sprintf("--nofile=%d", n), lastcall, "--"}, childMarks...)...)
		if wrong := got.refusal("RLIMIT_NOFILE"); wrong != "" {
			t.Errorf("RLIMIT_NOFILE %d: %s", n, wrong)
		}
		// Below 3 plus the runtime's files, the runtime could not open
		// them all, and lastcall's count is lower: true, but not least.
		if want := fmt.Sprintf("needs at least %d ", least); n >= 3+held && !strings.Contains(got.stderr, want) {
			t.Errorf("RLIMIT_NOFILE %d: stderr %q, want it to say %q", n, got.stderr, want)
		}
	}
	for _, n := range []int{least, least + 1, least + 2, 1024} {
		checkRunsWithLeftover(t, lastcall, n)
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	extra := []*os.File{devNull} // descriptor 3 in lastcall
	got := runLimited(t, nil, extra, "", append([]string{"prlimit", fmt.Sprintf("--nofile=%d", least), lastcall, "--"}, childMarks...)...)
	if wrong := got.refusal("RLIMIT_NOFILE"); wrong != "" || !strings.Contains(got.stderr, fmt.Sprintf("needs at least %d ", least+1)) {
		t.Errorf("RLIMIT_NOFILE %d with a descriptor inherited: %s; stderr %q, want it to need %d", least, wrong, got.stderr, least+1)
	}
	got = runLimited(t, nil, extra, "", "prlimit", fmt.Sprintf("--nofile=%d", least+1), lastcall, "--", "sh", "-c", "exec 4>ran; exit 7") // 3 is taken
	if got.code != 7 || !got.ran {
		t.Errorf("RLIMIT_NOFILE %d with a descriptor inherited: exit code %d, child ran %v, want 7, true; stderr:\n%s", least+1, got.code, got.ran, got.stderr)
	}
}

// checkRunsWithLeftover runs, under RLIMIT_NOFILE n, a child that leaves a
// leftover behind, and wants exit 7, the leftover terminated (a pidfd and a
// stat file at once, lastcall's peak) and no descriptor missing.
func checkRunsWithLeftover(t *testing.T, lastcall string, n int) {
	t.Helper()
	dir := t.TempDir()
	leftover := "lclimitsleep" // the leftover's comm: a name nothing else runs under
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(sleep, filepath.Join(dir, leftover)); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, p := range procsNamed(leftover) {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}()
	child := fmt.Sprintf("exec 3>ran; %s 600 & exit 7", filepath.Join(dir, leftover))
	got := runLimited(t, nil, nil, "", "prlimit", fmt.Sprintf("--nofile=%d", n), lastcall, "--", "sh", "-c", child)
	if got.code != 7 || !got.ran || strings.Contains(got.stderr, "too many open files") || !strings.Contains(got.stderr, "leftovers gone") {
		t.Errorf("RLIMIT_NOFILE %d: exit code %d, child ran %v, want 7, true, the leftover gone and no descriptor missing; stderr:\n%s", n, got.code, got.ran, got.stderr)
	}
	if left := procsNamed(leftover); len(left) > 0 {
		t.Errorf("RLIMIT_NOFILE %d: the leftover outlived lastcall: %+v", n, left)
	}
}

// As an unprivileged uid, below 10 lastcall refuses RLIMIT_NPROC in one
// line with exit 1 and never starts the child; from 10 on the child runs
// and lastcall exits with its code (at 10 and 11, on a busy machine, a
// fork may still fail now and then: lastcall then says so, exit 1; or one of
// the runtime's threads: Go's newosproc, exit 2). Below 4
// the runtime may die before lastcall runs any code (the README says so):
// then too the child never starts. With GOMAXPROCS 8 (18 threads' worth),
// lastcall fits 14 by running with fewer Ps. As root, where the kernel never checks the limit,
// lastcall refuses nothing.
func TestLowProcessLimit(t *testing.T) {
	requireTools(t, true)
	lastcall := lastcallBinary(t)
	one := []string{"GOMAXPROCS=1"} // the fewest threads: the minimum holds on a busy machine too
	for n := 1; n < nprocLeast; n++ {
		got := runLimited(t, one, nil, limitedUID, append([]string{"prlimit", fmt.Sprintf("--nproc=%d", n)}, asUser(append([]string{lastcall, "--"}, childMarks...)...)...)...)
		wrong := got.refusal("RLIMIT_NPROC")
		switch {
		case got.ran:
			t.Errorf("RLIMIT_NPROC %d: the child was started; exit code %d, stderr:\n%s", n, got.code, got.stderr)
		case n >= nprocSpeaks && wrong != "":
			t.Errorf("RLIMIT_NPROC %d: %s", n, wrong)
		case wrong != "" && (got.code != exitUsage || !strings.Contains(got.stderr, "newosproc")):
			t.Errorf("RLIMIT_NPROC %d: neither lastcall's refusal (%s) nor the runtime's documented failure (exit 2, newosproc)", n, wrong)
		case wrong != "":
			t.Logf("RLIMIT_NPROC %d: the runtime died before lastcall could answer (as documented)", n)
		}
	}
	// tail: the limit is within nprocTail of what the GOMAXPROCS lastcall
	// fits to needs (GOMAXPROCS 8 under 14 runs with 4 Ps, at their minimum).
	for _, tc := range []struct {
		env   []string
		limit int
		tail  bool
	}{{one, nprocLeast, true}, {one, nprocLeast + 1, true}, {one, nprocLeast + nprocTail, false}, {one, 64, false},
		{[]string{"GOMAXPROCS=8"}, 12 + nprocTail, true}} {
		got := runLimited(t, tc.env, nil, limitedUID, append([]string{"prlimit", fmt.Sprintf("--nproc=%d", tc.limit)}, asUser(append([]string{lastcall, "--"}, childMarks...)...)...)...)
		if tc.tail && got.inTail() {
			t.Logf("%s RLIMIT_NPROC %d: a fork or a runtime thread failed (the README's tail): %s", tc.env, tc.limit, got.outcome())
			continue
		}
		if got.code != 7 || !got.ran {
			t.Errorf("%s RLIMIT_NPROC %d: exit code %d, child ran %v, want 7, true; stderr:\n%s", tc.env, tc.limit, got.code, got.ran, got.stderr)
		}
	}
	got := runLimited(t, one, nil, "", append([]string{"prlimit", "--nproc=2", lastcall, "--"}, childMarks...)...)
	if got.code != 7 || !got.ran {
		t.Errorf("as root, RLIMIT_NPROC 2: exit code %d, child ran %v, want 7, true (the kernel exempts root); stderr:\n%s", got.code, got.ran, got.stderr)
	}
}

// internal/limits checks before anything can need what it checks: its
// initialiser runs right after os's (the Go runtime orders the packages
// ready to initialise by import path, and limits needs nothing os does not:
// one more dependency, strings say (through unicode), would hold it back behind TLS, JSON
// and lib/pq), so before earlysignals starts os/signal's threads. The
// packages before os that sort before it initialise a few tables.
func TestLimitsInitFirst(t *testing.T) {
	cmd := exec.Command(lastcallBinary(t), "version")
	cmd.Env = append(baseEnv(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lastcall version: %v; stderr:\n%s", err, stderr.String())
	}
	var order []string // the packages with initialisers, in the order they ran
	for line := range strings.Lines(stderr.String()) {
		if fields := strings.Fields(line); len(fields) >= 2 && fields[0] == "init" {
			order = append(order, fields[1])
		}
	}
	at := slices.Index(order, module+"/internal/limits")
	if at < 1 || order[at-1] != "os" {
		t.Errorf("internal/limits is not initialised right after os: %q", order)
	}
}
