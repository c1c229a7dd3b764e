package supervisor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exit codes a shell reports when a command cannot be run.
const (
	codeNotExecutable = 126
	codeNotFound      = 127
)

// startChild starts cfg.Args in its own process group with lastcall's
// stdin, stdout and stderr and every other descriptor lastcall inherited,
// at the same numbers; lastcall then lets go of its own copies (letGo).
// When stdin is a terminal whose foreground group is lastcall's, the
// child's group takes the foreground so that Ctrl-C and job control reach
// the app. When lastcall was started by socket activation, the child
// starts through the exec trampoline, which points LISTEN_PID at it.
//
// It uses syscall.ForkExec, not os.StartProcess: lastcall reaps with
// wait4(-1) and never needs an *os.Process, and os.StartProcess spends a
// throwaway process on its first call to probe for pidfd support. Signals
// to the child by pid are safe: its pid cannot be reused before lastcall
// itself reaps it.
func startChild(cfg Config) (started, error) {
	name := cfg.Args[0]
	path, err := lookPath(name)
	if err != nil {
		return started{}, err
	}
	sys := &syscall.SysProcAttr{Setpgid: true, Credential: cfg.Credential}
	if ownsForeground(0) {
		sys.Foreground = true
		sys.Ctty = 0
	}
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	if cfg.Credential != nil {
		if err := checkCredential(cfg.Credential); err != nil {
			return started{}, fmt.Errorf("run %q as uid %d gid %d: %w", name, cfg.Credential.Uid, cfg.Credential.Gid, err)
		}
		err := forkingThreadWithoutCaps()
		defer runtime.UnlockOSThread()
		if err != nil {
			return started{}, fmt.Errorf("drop the child's capabilities: %w", err)
		}
	}
	inherited := inheritedFDs()
	var pid int
	var execDone *os.File
	if activated(env) {
		pid, execDone, err = startThroughTrampoline(path, cfg.Args, env, sys, inherited)
		if err != nil {
			return started{}, &StartError{Command: name, Code: codeNotExecutable, Err: err}
		}
	} else {
		pid, err = syscall.ForkExec(path, cfg.Args, &syscall.ProcAttr{
			Env:   env,
			Files: []uintptr{0, 1, 2}, // and, by themselves, the inherited ones
			Sys:   sys,
		})
		if err != nil {
			return started{}, startError(name, err)
		}
	}
	letGo(inherited)
	return started{pid: pid, tty: sys.Foreground, inherited: len(inherited), execDone: execDone}, nil
}

// started is what startChild did.
type started struct {
	pid       int
	tty       bool // the child holds the terminal's foreground
	inherited int  // descriptors above stderr passed on
	// execDone, for a child started through the exec trampoline, reaches
	// its end once the command runs (or the trampoline is gone).
	execDone *os.File
}

// lookPath finds name the way a shell does: in PATH when it has no slash,
// as given otherwise. A relative match from "." in PATH is accepted, as a
// shell accepts it.
func lookPath(name string) (string, error) {
	if name == "" {
		return "", &StartError{Command: name, Code: codeNotFound, Err: errors.New("empty command")}
	}
	if strings.Contains(name, "/") {
		return name, nil
	}
	path, err := exec.LookPath(name)
	if errors.Is(err, exec.ErrDot) {
		return path, nil
	}
	if err != nil {
		code := lookPathErrorCode(name)
		why := "command not found in PATH"
		if code == codeNotExecutable {
			why = "found in PATH but not executable"
		}
		return "", &StartError{Command: name, Code: code, Err: errors.New(why)}
	}
	return path, nil
}

// lookPathErrorCode tells a name that is nowhere in PATH (127) from one
// that exists there but is not executable (126), as bash does.
func lookPathErrorCode(name string) int {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && !st.IsDir() {
			return codeNotExecutable
		}
	}
	return codeNotFound
}

// startError tells a command that is not there (127) or cannot be run
// (126), as a shell reports them, from a failure that is lastcall's own
// (no memory, no processes left), which is not a StartError.
func startError(name string, err error) error {
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &StartError{Command: name, Code: codeNotFound, Err: err}
	case errors.As(err, &errno) && notExecutable[errno]:
		return &StartError{Command: name, Code: codeNotExecutable, Err: err}
	}
	return fmt.Errorf("start %q: %w", name, err)
}

// notExecutable are the execve errors that mean the file cannot be run.
var notExecutable = map[syscall.Errno]bool{
	syscall.EACCES: true, syscall.ENOEXEC: true, syscall.EISDIR: true, syscall.EPERM: true,
	syscall.ETXTBSY: true, syscall.ELOOP: true, syscall.ENAMETOOLONG: true, syscall.ENOTDIR: true,
	syscall.ELIBBAD: true,
}

// ownsForeground reports whether fd is a terminal whose foreground process
// group is lastcall's own. Only then may the child take the foreground:
// a lastcall started in the background must not steal the terminal.
func ownsForeground(fd int) bool {
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil {
		return false
	}
	return pgrp == unix.Getpgrp()
}
