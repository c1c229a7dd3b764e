package supervisor

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// execEnv carries the command's path to the exec trampoline: lastcall's
// own binary, run as the child, which sets LISTEN_PID to its pid and then
// execs the command in place. It never reaches the command.
const execEnv = "LASTCALL_EXEC_TRAMPOLINE"

// execDoneEnv names the trampoline's descriptor that lastcall watches: it
// is closed by the exec of the command.
const execDoneEnv = "LASTCALL_EXEC_DONE_FD"

// selfExe is lastcall's own binary, as the kernel knows it.
const selfExe = "/proc/self/exe"

// activated reports whether env passes sockets to lastcall itself by
// socket activation (sd_listen_fds(3)): LISTEN_PID names lastcall's pid.
// The child must then see its own pid there, or it ignores the sockets.
func activated(env []string) bool {
	pid := "LISTEN_PID=" + strconv.Itoa(os.Getpid())
	for _, kv := range env {
		if kv == pid {
			return true
		}
	}
	return false
}

// ExecTrampoline returns at once unless this process is the exec
// trampoline of a socket-activated child. Then it execs the command with
// LISTEN_PID set to its own pid, which is the pid the command keeps, and
// never returns: a command that cannot be run ends it with 127 or 126
// and one plain line on stderr (no logger exists there). Programs that run
// Run call it first thing in main, before anything takes a signal.
func ExecTrampoline() {
	path, ok := os.LookupEnv(execEnv)
	if !ok {
		return
	}
	if fd, err := strconv.Atoi(os.Getenv(execDoneEnv)); err == nil {
		syscall.CloseOnExec(fd) // its end tells lastcall the command runs
	}
	env := os.Environ()
	kept := env[:0]
	for _, kv := range env {
		switch {
		case strings.HasPrefix(kv, execEnv+"="), strings.HasPrefix(kv, execDoneEnv+"="):
			continue
		case strings.HasPrefix(kv, "LISTEN_PID="):
			kv = "LISTEN_PID=" + strconv.Itoa(os.Getpid())
		}
		kept = append(kept, kv)
	}
	err := unix.Exec(path, os.Args, kept)
	code := 1
	var startErr *StartError
	if errors.As(startError(path, err), &startErr) {
		code = startErr.Code
	}
	fmt.Fprintf(os.Stderr, "lastcall: cannot start command %q: %v\n", path, err)
	os.Exit(code)
}

// startThroughTrampoline starts lastcall's own binary as the exec
// trampoline of the command at path, with the inherited descriptors at
// their numbers and, above them, the write end of a pipe that the
// trampoline marks close-on-exec: its read end, returned, reaches its end
// once the command runs. Until then a signal to the child would reach the
// trampoline, so lastcall holds its forwards.
func startThroughTrampoline(path string, args, env []string, sys *syscall.SysProcAttr, inherited []int) (int, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, nil, fmt.Errorf("exec trampoline: %w", err)
	}
	defer w.Close()
	files := childFiles(inherited)
	doneFD := len(files)
	files = append(files, w.Fd())
	env = append(env[:len(env):len(env)], execEnv+"="+path, execDoneEnv+"="+strconv.Itoa(doneFD))
	pid, err := syscall.ForkExec(selfExe, args, &syscall.ProcAttr{Env: env, Files: files, Sys: sys})
	if err != nil {
		r.Close()
		return 0, nil, fmt.Errorf("through lastcall's own binary (%s), to set LISTEN_PID: %w", selfExe, err)
	}
	return pid, r, nil
}

// childFiles maps the trampoline's descriptors: 0, 1 and 2, and every
// inherited one at its own number; the numbers between are closed.
func childFiles(inherited []int) []uintptr {
	n := 3
	if len(inherited) > 0 {
		n = inherited[len(inherited)-1] + 1
	}
	files := make([]uintptr, n)
	for i := range files {
		files[i] = ^uintptr(0) // closed in the child
	}
	files[0], files[1], files[2] = 0, 1, 2
	for _, fd := range inherited {
		files[fd] = uintptr(fd)
	}
	return files
}
