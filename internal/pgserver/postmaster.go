package pgserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Source says where a postmaster's data directory was found.
type Source int

// The places [Identify] looks for the data directory, in its order.
const (
	// SourceArgs is the command line: -D DIR, or -c data_directory=DIR.
	SourceArgs Source = iota + 1
	// SourceEnv is PGDATA in the process's environment.
	SourceEnv
	// SourceCwd is the process's working directory, which a postmaster
	// sets to its data directory as it starts.
	SourceCwd
)

func (s Source) String() string {
	switch s {
	case SourceArgs:
		return "command line"
	case SourceEnv:
		return "PGDATA"
	case SourceCwd:
		return "working directory"
	}
	return "unknown"
}

// Postmaster is a PostgreSQL server's main process.
type Postmaster struct {
	PID int
	// DataDir is the cluster's data directory, an absolute path, in which
	// postmaster.pid names PID.
	DataDir string
	// Source is where DataDir was found.
	Source Source
}

// Identify reports whether pid is a postmaster, and where its data
// directory is.
//
// A process that is gone, a zombie, a kernel thread, a process that runs
// another executable, a postgres process whose parent is a postgres
// process (a backend, the checkpointer...), a single-user backend, and a
// postgres process that no postmaster.pid names are not postmasters: ok is
// false and err nil. err is non-nil only when the answer is unknown: a
// postgres process with no parent of its kind, whose data directory could
// not be found or confirmed for want of permission (errors.Is(err,
// fs.ErrPermission)); the Postmaster then holds PID alone.
func Identify(pid int) (pm Postmaster, ok bool, err error) {
	st, err := readStat(pid)
	if err != nil {
		return Postmaster{}, false, ignoreGone(err)
	}
	if isPG, err := runsPostgres(pid, st.Comm); err != nil || !isPG {
		return Postmaster{}, false, ignoreGone(err)
	}
	if parentRunsPostgres(st.PPID) {
		return Postmaster{}, false, nil
	}
	candidates, denied := dataDirCandidates(pid)
	for _, c := range candidates {
		owner, err := pidFileOwner(c.DataDir)
		switch {
		case err != nil:
			denied = append(denied, fmt.Errorf("postmaster.pid in %s (%s): %w", c.DataDir, c.Source, err))
		case owner == pid:
			return confirmAlive(c, st.Start)
		case owner == -pid: // postgres --single holds the directory
			return Postmaster{}, false, nil
		}
	}
	if len(denied) == 0 {
		return Postmaster{}, false, nil
	}
	return Postmaster{PID: pid}, false,
		fmt.Errorf("postgres process %d: data directory unknown: %w", pid, errors.Join(denied...))
}

// Postmasters returns the postmasters among pids, in their order. Its error
// joins those of [Identify]: the pids that may be postmasters but could
// not be confirmed.
func Postmasters(pids []int) ([]Postmaster, error) {
	var found []Postmaster
	var errs []error
	for _, pid := range pids {
		pm, ok, err := Identify(pid)
		if ok {
			found = append(found, pm)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return found, errors.Join(errs...)
}

// parentRunsPostgres reports whether the process ppid runs postgres. A
// parent that is gone, or that may not be looked at, does not.
func parentRunsPostgres(ppid int) bool {
	if ppid <= 0 {
		return false
	}
	st, err := readStat(ppid)
	if err != nil {
		return false
	}
	isPG, err := runsPostgres(ppid, st.Comm)
	return err == nil && isPG
}

// confirmAlive returns c as the postmaster when the process still is the
// one first looked at (same start time): a pid recycled meanwhile is not.
func confirmAlive(c Postmaster, start uint64) (Postmaster, bool, error) {
	st, err := readStat(c.PID)
	if err != nil || st.Start != start {
		return Postmaster{}, false, ignoreGone(err)
	}
	return c, true, nil
}

// dataDirCandidates lists where pid's data directory may be, in the order
// of [Source], absolute paths only (a relative -D was relative to a working
// directory the postmaster has since left). denied holds what could not be
// read for want of permission.
func dataDirCandidates(pid int) (candidates []Postmaster, denied []error) {
	add := func(dir string, src Source) {
		if filepath.IsAbs(dir) {
			candidates = append(candidates, Postmaster{PID: pid, DataDir: filepath.Clean(dir), Source: src})
		}
	}
	note := func(what string, err error) {
		if errors.Is(err, fs.ErrPermission) {
			denied = append(denied, fmt.Errorf("%s: %w", what, err))
		}
	}
	cmdline, err := os.ReadFile(procPath(pid, "cmdline"))
	note("command line", err)
	for _, dir := range dataDirsFromArgs(splitNUL(cmdline)) {
		add(dir, SourceArgs)
	}
	environ, err := os.ReadFile(procPath(pid, "environ"))
	note("environment", err)
	if dir, ok := lookupEnv(splitNUL(environ), "PGDATA"); ok {
		add(dir, SourceEnv)
	}
	cwd, err := os.Readlink(procPath(pid, "cwd"))
	note("working directory", err)
	if err == nil {
		add(cwd, SourceCwd)
	}
	return candidates, denied
}

// ignoreGone turns "the process is gone" into no error.
func ignoreGone(err error) error {
	if err == nil || isGone(err) {
		return nil
	}
	return err
}
