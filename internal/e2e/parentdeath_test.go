package e2e

import (
	"bufio"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// With --parent-death-signal TERM, the death of lastcall's parent stops the
// app the way a SIGTERM would: the app gets SIGTERM and lastcall exits.
func TestParentDeathSignal(t *testing.T) {
	app := `trap "echo got-term; exit 0" TERM; echo ready; sleep 60 & wait`
	parent := exec.Command("sh", "-c", `"$0" --parent-death-signal TERM -- sh -c "$1" & wait`, lastcallBinary(t), app)
	parent.Env = baseEnv()
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 8)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case line, ok := <-lines:
			if !ok || !strings.Contains(line, want) {
				t.Fatalf("got %q (open %v), want %q", line, ok, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no %q within 20s", want)
		}
	}
	expect("ready")
	_ = parent.Process.Signal(syscall.SIGKILL) // lastcall's parent dies
	_, _ = parent.Process.Wait()               // not parent.Wait: it would close the pipe
	expect("got-term")
	// The pipe closes once lastcall and its tree are gone.
	select {
	case line, ok := <-lines:
		if ok {
			t.Errorf("unexpected output %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Error("lastcall still holds stdout 20s after its parent died")
	}
}
