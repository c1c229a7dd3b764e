package pgserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"testing"

	"go.uber.org/goleak"
)

// helpers are the programs the test binary plays, named by
// LASTCALL_TEST_HELPER.
var helpers = map[string]func() int{
	"hold":         holdHelper,
	"identify":     identifyHelper,
	"exit-at-once": func() int { return 0 },
}

func TestMain(m *testing.M) {
	if h, ok := helpers[os.Getenv("LASTCALL_TEST_HELPER")]; ok {
		os.Exit(h())
	}
	goleak.VerifyTestMain(m)
}

// holdHelper plays a process that stays until its stdin ends. With
// LASTCALL_TEST_CHILD=1 it first starts one more of itself (same
// executable, or LASTCALL_TEST_CHILD_EXE; same stdin), as a postmaster
// starts its backends. It prints "ready CHILD_PID" (0 without a child)
// once that child is ready.
func holdHelper() int {
	childPID := 0
	var child *exec.Cmd
	if os.Getenv("LASTCALL_TEST_CHILD") == "1" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if named := os.Getenv("LASTCALL_TEST_CHILD_EXE"); named != "" {
			exe = named
		}
		child = exec.Command(exe)
		child.Env = append(os.Environ(), "LASTCALL_TEST_CHILD=0")
		child.Stdin, child.Stderr = os.Stdin, os.Stderr
		if _, err = startReady(child); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		childPID = child.Process.Pid
	}
	fmt.Printf("ready %d\n", childPID)
	_, _ = io.Copy(io.Discard, os.Stdin)
	if child != nil {
		_ = child.Wait()
	}
	return 0
}

// startReady starts cmd, a hold helper, and waits for its ready line; it
// returns the pid of the helper's own child that the line names.
func startReady(cmd *exec.Cmd) (childPID int, err error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if _, scanErr := fmt.Sscanf(line, "ready %d\n", &childPID); scanErr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, fmt.Errorf("helper said %q (%v), not ready", line, err)
	}
	return childPID, nil
}

// identifyHelper prints what Identify says of the pid in LASTCALL_TEST_PID,
// for a test that runs it as another user.
func identifyHelper() int {
	var pid int
	if _, err := fmt.Sscan(os.Getenv("LASTCALL_TEST_PID"), &pid); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pm, ok, err := Identify(pid)
	fmt.Printf("%v %d %s %s permission:%v\n", ok, pm.PID, pm.DataDir, pm.Source, errors.Is(err, fs.ErrPermission))
	return 0
}
