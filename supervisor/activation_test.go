package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// trampolineGateEnv names a FIFO at which the test binary, started as the
// exec trampoline, waits before it execs the command. It then blocks
// SIGUSR1 for the command, so that a SIGUSR1 forwarded once the command
// runs waits, pending, for the command's handler.
const trampolineGateEnv = "LASTCALL_TEST_TRAMPOLINE_GATE"

func passTrampolineGate(fifo string) {
	fmt.Println("trampoline at the gate")
	if _, err := os.ReadFile(fifo); err != nil {
		fmt.Fprintln(os.Stderr, "gate:", err)
		os.Exit(3)
	}
	runtime.LockOSThread() // the exec happens on this thread, with its mask
	set := unix.Sigset_t{}
	set.Val[0] = 1 << (uint(syscall.SIGUSR1) - 1)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		fmt.Fprintln(os.Stderr, "sigmask:", err)
		os.Exit(3)
	}
}

// Under socket activation the child starts as lastcall's own binary (the
// exec trampoline), which would drop a signal it has no handler for:
// lastcall holds what it forwards until the command runs. Here SIGUSR1
// reaches lastcall while the trampoline waits at its gate; the command,
// not the trampoline, gets it, in both modes.
func TestSignalsWaitForTheActivatedCommand(t *testing.T) {
	wrap := []string{"sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=0 exec "$@"`, "sh"}
	forEachMode(t, func(t *testing.T, m mode) {
		fifo := filepath.Join(t.TempDir(), "gate")
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv(trampolineGateEnv, fifo)
		r := startWrapped(t, m, wrap, nil, nil, helperCmd("trap", "SIGTERM")...)
		r.waitLine("trampoline at the gate")
		r.signal(m, syscall.SIGUSR1)                       // queued in lastcall once kill returns
		if err := os.WriteFile(fifo, nil, 0); err != nil { // opens the gate
			t.Fatal(err)
		}
		r.waitLine("ready")
		r.waitLine("got SIGUSR1")
		r.signal(m, syscall.SIGTERM)
		r.waitLine("got SIGTERM")
		if got := r.wait(); got != 0 {
			t.Errorf("exit code %d, want 0; stderr:\n%s", got, r.stderr)
		}
	})
}
