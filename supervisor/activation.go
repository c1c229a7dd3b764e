package supervisor

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// execEnv carries the command's path to the exec trampoline: lastcall's
// own binary, run as the child, which sets LISTEN_PID to its pid and then
// execs the command in place. It never reaches the command.
const execEnv = "LASTCALL_EXEC_TRAMPOLINE"

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
// and one line on stderr. Programs that run Run call it first thing in
// main, before anything takes a signal.
func ExecTrampoline() {
	path, ok := os.LookupEnv(execEnv)
	if !ok {
		return
	}
	env := os.Environ()
	kept := env[:0]
	for _, kv := range env {
		switch {
		case strings.HasPrefix(kv, execEnv+"="):
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

// trampoline returns what to fork and exec to start the command at path
// with env: the command itself, or, when env passes sockets to lastcall,
// lastcall's own binary as the exec trampoline.
func trampoline(path string, env []string) (string, []string) {
	if !activated(env) {
		return path, env
	}
	return selfExe, append(env[:len(env):len(env)], execEnv+"="+path)
}
