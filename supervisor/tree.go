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
// scan, so a pid recycled since the scan is never signalled. With every
// descriptor in use, lastcall's own child (p.PPID, as scanned) still gets
// it by pid: its pid cannot be reused before lastcall reaps it, and
// nothing reaps between a scan and its signals.
func signalProc(p procfs.Stat, sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(p.PID, 0)
	switch {
	case errors.Is(err, unix.ENOSYS), err != nil && outOfDescriptors(err) && p.PPID == os.Getpid():
		return unix.Kill(p.PID, sig)
	case err != nil:
		return err
	}
	defer unix.Close(fd)
	now, err := procfs.ReadStat(p.PID)
	switch {
	case err == nil && now.Start == p.Start, err != nil && outOfDescriptors(err) && p.PPID == os.Getpid():
		return unix.PidfdSendSignal(fd, sig, nil, 0)
	case err != nil && outOfDescriptors(err):
		return err
	}
	return unix.ESRCH
}

// outOfDescriptors reports whether err is EMFILE or ENFILE.
func outOfDescriptors(err error) bool {
	return errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE)
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
