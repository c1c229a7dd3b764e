package e2e

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// A daemon that double-forked away from the child (a middle process in a
// new session starts it and exits, so lastcall adopts it) is terminated as
// a leftover when the child exits: with SIGTERM, or SIGKILL after
// --leftover-grace when it ignores SIGTERM. lastcall exits with the child's
// code, and no process of the run is left, as PID 1 and as a subreaper;
// the log shows that lastcall did it, not the end of the PID namespace.
func TestDoubleForkDaemon(t *testing.T) {
	requireUnshare(t)
	tests := []struct {
		name   string
		pid1   bool
		daemon string
		want   leftoverCleanup
	}{
		{"pid1/daemon takes TERM", true, "daemon-term", leftoverCleanup{terminated: 1, killed: 0, gone: 1, exitCode: 3}},
		{"pid1/daemon ignores TERM", true, "daemon-ignore", leftoverCleanup{terminated: 1, killed: 1, gone: 1, exitCode: 3}},
		{"subreaper/daemon takes TERM", false, "daemon-term", leftoverCleanup{terminated: 1, killed: 0, gone: 1, exitCode: 3}},
		{"subreaper/daemon ignores TERM", false, "daemon-ignore", leftoverCleanup{terminated: 1, killed: 1, gone: 1, exitCode: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, leftover := startWithLeftover(t, tc.pid1, "daemon", "exit:3", tc.daemon)
			lastcall, err := r.lastcallPid()
			if err != nil {
				t.Fatal(err)
			}
			if leftover.ppid != lastcall {
				t.Fatalf("the daemon's parent is %d, want lastcall (%d): the middle process did not exit", leftover.ppid, lastcall)
			}
			r.stdin.Close() // the child exits 3
			code, err := r.wait(20 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			checkNothingLeft(t, r, leftover)
			got := cleanupLogged(parseJSONLines(r.stderr.String()))
			if code != 3 || got != tc.want {
				t.Errorf("exit code %d, log %+v; want 3, %+v; stderr:\n%s", code, got, tc.want, r.stderr)
			}
		})
	}
}

// A grandchild that keeps the child's stdout open does not keep lastcall
// waiting: lastcall exits with the child's code within --leftover-grace
// and a margin of the child's exit, as the process exiting shows (not the
// pipe's end), and the pipe then ends: the grandchild is gone too.
func TestGrandchildHoldsStdout(t *testing.T) {
	requireUnshare(t)
	tests := []struct {
		name       string
		pid1       bool
		grandchild string
		want       leftoverCleanup
	}{
		{"pid1/takes TERM", true, "child-term", leftoverCleanup{terminated: 1, killed: 0, gone: 1, exitCode: 5}},
		{"pid1/ignores TERM", true, "child-ignore", leftoverCleanup{terminated: 1, killed: 1, gone: 1, exitCode: 5}},
		{"subreaper/takes TERM", false, "child-term", leftoverCleanup{terminated: 1, killed: 0, gone: 1, exitCode: 5}},
		{"subreaper/ignores TERM", false, "child-ignore", leftoverCleanup{terminated: 1, killed: 1, gone: 1, exitCode: 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, leftover := startWithLeftover(t, tc.pid1, "leftover", "exit:5", tc.grandchild)
			r.stdin.Close() // the child exits 5
			// --leftover-grace is 1s: lastcall has it, and 9s more, to
			// terminate the grandchild and exit.
			code, err := r.wait(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if rest, err := r.eof(5 * time.Second); err != nil || len(rest) > 0 {
				t.Errorf("stdout after lastcall exited: %q, %v; want its end and nothing more", rest, err)
			}
			checkNothingLeft(t, r, leftover)
			got := cleanupLogged(parseJSONLines(r.stderr.String()))
			if code != 5 || got != tc.want {
				t.Errorf("exit code %d, log %+v; want 5, %+v; stderr:\n%s", code, got, tc.want, r.stderr)
			}
		})
	}
}

// startWithLeftover starts lastcall (--leftover-grace 1s, JSON logs at
// debug) running `app behave end kind`, reads the leftover's pid (its line
// says label) and "ready", and finds the leftover in the host's /proc.
func startWithLeftover(t *testing.T, pid1 bool, label, end, kind string) (*supervisedApp, hostProc) {
	t.Helper()
	dir := t.TempDir()
	app, comm, err := linkApp(appBinary(t), dir, "ft")
	if err != nil {
		t.Fatal(err)
	}
	r, err := startSupervised(dir, lastcallBinary(t), app, comm, pid1,
		[]string{"--log-format", "json", "--log-level", "debug", "--leftover-grace", "1s"}, end, kind)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	nsPid, err := r.pidLine(label)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.expect("ready"); err != nil {
		t.Fatal(err)
	}
	leftover, err := nsPidOf(comm, nsPid)
	if err != nil {
		t.Fatal(err)
	}
	return r, leftover
}

// checkNothingLeft wants no process of the run in the host's /proc, not
// even a zombie, the moment lastcall has exited: neither the leftover nor
// anything else carrying the app's name.
func checkNothingLeft(t *testing.T, r *supervisedApp, leftover hostProc) {
	t.Helper()
	if stillThere(leftover) {
		t.Errorf("the leftover (pid %d on the host) outlived lastcall", leftover.pid)
	}
	if left := procsNamed(r.comm); len(left) > 0 {
		t.Errorf("processes of the run outlived lastcall: %+v", left)
	}
}

// lastcall's memory stays flat under a storm: VmRSS after 200,000
// forwarded signals is within 10% and 256 KiB (page-level noise) of what it
// was after the first 20,000, once the runtime's and the loop's working
// set is there. The supervisor's storm test runs its own debug-logging
// helper under the race detector, whose memory says nothing of lastcall's.
func TestStormLeavesMemoryFlat(t *testing.T) {
	const storm, chunks = 200_000, 10
	cmd := exec.Command(lastcallBinary(t), "--", "sh", "-c", `trap "" USR1; echo ready; exec sleep 600`)
	cmd.Env = baseEnv()
	r := startApp(t, cmd)
	if line := r.line(); line != "ready" {
		t.Fatalf("child said %q, want ready", line)
	}
	pid := cmd.Process.Pid // lastcall, not reaped before r.wait: its pid cannot be reused
	var rss [chunks]int
	for c := range chunks {
		for range storm / chunks {
			if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
				t.Fatalf("lastcall gone during the storm: %v; stderr:\n%s", err, r.stderr)
			}
		}
		kib, err := vmRSS(pid)
		if err != nil {
			t.Fatal(err)
		}
		rss[c] = kib
	}
	t.Logf("lastcall's VmRSS after each tenth of %d signals: %v KiB", storm, rss)
	if rss[chunks-1] > rss[0]+rss[0]/10+256 {
		t.Errorf("lastcall's VmRSS grew during the storm: %v KiB", rss)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(); code != 143 {
		t.Errorf("exit code %d, want 143 (sleep ended by the forwarded SIGTERM); stderr:\n%s", code, r.stderr)
	}
}
