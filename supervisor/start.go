package supervisor

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exit codes a shell reports when a command cannot be run.
const (
	codeNotExecutable = 126
	codeNotFound      = 127
)

// startChild starts cfg.Args in its own process group with lastcall's own
// stdin, stdout and stderr. When stdin is a terminal whose foreground group
// is lastcall's, the child's group takes the foreground so that Ctrl-C and
// job control reach the app.
func startChild(cfg Config) (*os.Process, error) {
	name := cfg.Args[0]
	path, err := lookPath(name)
	if err != nil {
		return nil, err
	}
	sys := &syscall.SysProcAttr{Setpgid: true, Credential: cfg.Credential}
	if ownsForeground(0) {
		sys.Foreground = true
		sys.Ctty = 0
	}
	attr := &os.ProcAttr{
		Env:   cfg.Env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   sys,
	}
	if attr.Env == nil {
		attr.Env = os.Environ()
	}
	p, err := os.StartProcess(path, cfg.Args, attr)
	if err != nil {
		return nil, &StartError{Command: name, Code: startErrorCode(err), Err: unwrapPathError(err)}
	}
	return p, nil
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
		return "", &StartError{Command: name, Code: lookPathErrorCode(name), Err: errors.New("command not found in PATH")}
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

func startErrorCode(err error) int {
	if errors.Is(err, fs.ErrNotExist) {
		return codeNotFound
	}
	return codeNotExecutable
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
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
