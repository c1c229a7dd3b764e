package supervisor

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// signalProc sends sig to the process p names, and to nothing else: the pid
// is pinned with a pidfd and checked against the start time seen in the
// scan, so a pid recycled since the scan is never signalled.
func signalProc(p procfs.Stat, sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(p.PID, 0)
	if errors.Is(err, unix.ENOSYS) {
		return unix.Kill(p.PID, sig)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	now, err := procfs.ReadStat(p.PID)
	if err != nil || now.Start != p.Start {
		return unix.ESRCH
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

// Descendants lists the live descendants of lastcall (of the calling
// process), read from /proc. It touches no state of Run and is safe from
// any goroutine: the drain check samples the tree with it.
func Descendants() []Process {
	procs, err := procfs.List()
	if err != nil || !procfs.IsOurs() {
		return nil
	}
	return procfs.Live(procfs.DescendantsOf(os.Getpid(), procs))
}

// aliveProcesses lists the live descendants, for OnChildExit.
func (s *supervisor) aliveProcesses() []Process {
	return procfs.Live(s.descendants())
}
