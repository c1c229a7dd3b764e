package e2e

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("--user needs root: run the tests as root (CI does)")
	}
}

// The child runs as nobody: real and effective ids, its own groups only,
// no capabilities, and HOME from /etc/passwd. lastcall starts with a
// capability in its inheritable and ambient sets (setpriv), which the
// child must not keep either.
func TestUserRunsChildUnprivileged(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv gives lastcall inheritable capabilities here; install util-linux")
	}
	cmd := exec.Command("setpriv", "--inh-caps", "+net_bind_service", "--ambient-caps", "+net_bind_service",
		lastcallBinary(t), "--user", "nobody", "--",
		"sh", "-c", `grep -E "^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapAmb):" /proc/self/status; echo "HOME:	$HOME"`)
	cmd.Env = baseEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, stderr.String())
	}
	got := result{stdout: string(stdout)}
	want := map[string]string{
		"Uid":    "65534\t65534\t65534\t65534",
		"Gid":    "65534\t65534\t65534\t65534",
		"Groups": "65534",
		"CapInh": "0000000000000000",
		"CapPrm": "0000000000000000",
		"CapEff": "0000000000000000",
		"CapAmb": "0000000000000000",
		"HOME":   "/nonexistent",
	}
	for _, line := range strings.Split(strings.TrimSpace(got.stdout), "\n") {
		key, value, _ := strings.Cut(line, ":")
		if w, ok := want[key]; ok && strings.TrimSpace(value) != w {
			t.Errorf("%s = %q, want %q", key, strings.TrimSpace(value), w)
		}
		delete(want, key)
	}
	if len(want) > 0 {
		t.Errorf("missing from the child's status: %v\n%s", want, got.stdout)
	}
}

// lastcall keeps root: it still escalates on a child running as nobody.
func TestUserChildIsStillKilledAtDeadline(t *testing.T) {
	needRoot(t)
	cmd := exec.Command(lastcallBinary(t), "--user", "nobody", "--grace", "300ms", "--",
		"sh", "-c", `trap "" TERM; echo ready; exec sleep 60`)
	cmd.Env = baseEnv()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	t0 := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code, took := cmd.ProcessState.ExitCode(), time.Since(t0); code != 137 || took < 300*time.Millisecond || took > 10*time.Second {
		t.Errorf("exit code %d after %v, want 137 within [300ms, 10s]", code, took)
	}
}

func TestUserNeedsRoot(t *testing.T) {
	needRoot(t)
	bin := lastcallBinary(t)
	if err := os.Chmod(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--user", "root", "--", "true")
	cmd.Env = baseEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != exitUsage || !strings.Contains(string(out), "--user needs lastcall to run as root") {
		t.Errorf("exit code %d, output %q; want %d and a line saying --user needs root", code, out, exitUsage)
	}
}

// When the kernel will not let lastcall switch the child to --user, that
// is lastcall's own failure (exit 1), said in one line that names the
// cause; never 126, which says the command cannot be executed.
func TestUserSwitchRefused(t *testing.T) {
	needRoot(t)
	tests := []struct {
		name string
		wrap []string
		want string
	}{
		// setgroups is denied in a user namespace mapped by an
		// unprivileged writer of gid_map (unshare --map-root-user).
		{"setgroups denied", []string{"unshare", "--user", "--map-root-user"}, "setgroups is denied"},
		// Root without CAP_SETUID and CAP_SETGID (docker --cap-drop).
		{"capabilities dropped", []string{"setpriv", "--bounding-set", "-setuid,-setgid"}, "CAP_SETGID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := exec.LookPath(tt.wrap[0]); err != nil {
				t.Skipf("no %s: install util-linux", tt.wrap[0])
			}
			argv := append(tt.wrap, lastcallBinary(t), "--user", "nobody", "--", "true")
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = baseEnv()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			_ = cmd.Run()
			out := stderr.String()
			if code := cmd.ProcessState.ExitCode(); code != exitFailed || strings.Count(out, "\n") != 1 ||
				!strings.Contains(out, tt.want) || strings.Contains(out, "not executable") {
				t.Errorf("exit code %d, stderr %q; want %d and one line holding %q", code, out, exitFailed, tt.want)
			}
		})
	}
}
