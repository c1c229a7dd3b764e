package supervisor

import (
	"sort"

	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// probeFDLimit bounds the search for inherited descriptors when
// /proc/self/fd cannot be read: the usual soft limit on open files.
const probeFDLimit = 1024

// inheritedFDs lists the descriptors above stderr that lastcall inherited
// from its parent (sockets passed for socket activation, a pipe to a log
// shipper), in order. They are the open ones without close-on-exec: an
// inherited descriptor survived an exec, so it has none, while everything
// the Go runtime and lastcall open has it set. The same test is why the
// child gets exactly these (and 0, 1 and 2) and none of lastcall's own:
// the exec closes the others.
func inheritedFDs() []int {
	candidates, err := procfs.NumberedEntries("/proc/self/fd")
	if err != nil {
		candidates = make([]int, 0, probeFDLimit-3)
		for fd := 3; fd < probeFDLimit; fd++ {
			candidates = append(candidates, fd)
		}
	}
	var fds []int
	for _, fd := range candidates {
		if fd < 3 {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC == 0 {
			fds = append(fds, fd)
		}
	}
	sort.Ints(fds)
	return fds
}

// letGo closes lastcall's own copies of what it handed to the child, so
// that an end of file or a closed connection belongs to the app alone:
// every inherited descriptor above stderr, and stdin and stdout unless
// they are a terminal (job control needs the terminal), which become
// /dev/null. stderr stays: lastcall logs there.
func letGo(inherited []int) {
	for _, fd := range inherited {
		_ = unix.Close(fd)
	}
	null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return // no /dev/null: keep stdin and stdout rather than leave holes
	}
	for _, fd := range []int{0, 1} {
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
			_ = unix.Dup3(null, fd, 0)
		}
	}
	_ = unix.Close(null)
}
