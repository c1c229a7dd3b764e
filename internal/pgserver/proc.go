package pgserver

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// procPath is /proc/PID/name.
func procPath(pid int, name string) string { return "/proc/" + strconv.Itoa(pid) + "/" + name }

// readStat reads a live process's stat; a zombie (or a dead process not
// yet gone) reads as gone.
func readStat(pid int) (procfs.Stat, error) {
	st, err := procfs.ReadStat(pid)
	if err != nil {
		return procfs.Stat{}, err
	}
	if st.State == 'Z' || st.State == 'X' {
		return procfs.Stat{}, fs.ErrNotExist
	}
	return st, nil
}

// isGone reports whether err says the process is no more: its /proc entry
// is missing, or the kernel answers ESRCH for a process that is exiting.
func isGone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// isPostgresName reports whether an executable's or a command's name is
// the server's: postgres, or postmaster (the old name, still a symlink).
func isPostgresName(name string) bool { return name == "postgres" || name == "postmaster" }

// runsPostgres reports whether pid runs the postgres executable: by
// /proc/PID/exe, else, when that may not be read, by comm (the name it was
// started as, which postgres keeps while it rewrites its command line).
// An executable replaced since the start (an upgraded package) reads as
// "PATH (deleted)" and still counts.
func runsPostgres(pid int, comm string) (bool, error) {
	exe, err := os.Readlink(procPath(pid, "exe"))
	if errors.Is(err, fs.ErrPermission) {
		return isPostgresName(comm), nil
	}
	if err != nil {
		return false, err // gone, or a kernel thread (no exe)
	}
	return isPostgresName(filepath.Base(strings.TrimSuffix(exe, " (deleted)"))), nil
}

// pidFileOwner reads the first line of dir/postmaster.pid, the pid of the
// server that holds dir: positive for a postmaster, negative for a
// single-user backend (postgres --single). It is 0 when the file is absent
// or its first line is not a number.
func pidFileOwner(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return parsePidFile(b), nil
}

// parsePidFile parses the first line of postmaster.pid; 0 when it is not a
// number.
func parsePidFile(b []byte) int {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	pid, err := strconv.Atoi(string(bytes.TrimSpace(line)))
	if err != nil {
		return 0
	}
	return pid
}
