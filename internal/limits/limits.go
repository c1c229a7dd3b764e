package limits

import (
	"os"
	"runtime"
	"syscall"
)

// Descriptors lastcall opens beyond those open when it starts: the
// runtime's poller (an epoll and an eventfd, made on the first open of a
// file), and two at once at the peak: the close-on-exec pipe of fork+exec,
// or a pidfd and a /proc/PID/stat while it signals a leftover.
const descriptorsNeeded = 4

// descriptorsActivated are the two more of a socket-activated start: the
// pipe whose end tells lastcall that the exec trampoline has run.
const descriptorsActivated = 2

// threadsLeast is the least RLIMIT_NPROC a run works with (GOMAXPROCS 1):
// the main thread, sysmon, the template thread, the threads os/signal and
// the log writer hold, the ones the runtime starts while others sit in
// system calls (more on a busy machine), and the child itself. From two
// Ps on, each P takes one thread more, and the peaks one more. Measured
// (200 runs of `sh -c 'exit 7'` as an unprivileged uid, the two cores
// busy): every run works at 10 with GOMAXPROCS 1 and at 12 with 2; a few
// fail at 9 and 11 (idle, every run works one lower). The peaks have a
// tail: on a busier machine runs fail at 10 or 11 (8 in 300 at 10 in a
// review's measurement, none in 150 at 12), to fork
// (lastcall's own error, exit 1) or to start a runtime thread (Go's
// newosproc, exit 2, half of the 8).
const threadsLeast = 10

// threadsFor is what lastcall needs of RLIMIT_NPROC with procs Ps.
func threadsFor(procs int) int {
	if procs <= 1 {
		return threadsLeast
	}
	return threadsLeast + procs
}

// rlimitNPROC is RLIMIT_NPROC on Linux (the syscall package has no name
// for it).
const rlimitNPROC = 6

// Linux capabilities that lift RLIMIT_NPROC.
const (
	capSysAdmin    = 21
	capSysResource = 24
)

func init() {
	if _, ok := syscall.Getenv("LASTCALL_EXEC_TRAMPOLINE"); ok {
		return // lastcall's own binary as a socket-activated child, on its way to exec
	}
	if line := check(); line != "" {
		// Raw write(2): os.Stderr could wake the poller, which needs
		// the very descriptors that are missing.
		_, _ = syscall.Write(2, []byte("lastcall: "+line+"\n"))
		os.Exit(1)
	}
}

// check returns the line that refuses a limit too low for lastcall, or ""
// (after lowering GOMAXPROCS where that alone makes RLIMIT_NPROC enough).
func check() string {
	var nofile syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile) == nil {
		need := descriptorsNeeded
		if activated() {
			need += descriptorsActivated
		}
		if line := descriptors(nofile.Cur, need, fdOpen); line != "" {
			return line
		}
	}
	var nproc syscall.Rlimit
	if syscall.Getrlimit(rlimitNPROC, &nproc) != nil {
		return ""
	}
	procs := runtime.GOMAXPROCS(0)
	line, fit := threads(nproc.Cur, procs)
	if (line == "" && fit == procs) || exemptFromNPROC() {
		return ""
	}
	if fit < procs {
		runtime.GOMAXPROCS(fit)
	}
	return line
}

// descriptors checks that need more descriptors fit below limit, with the
// open ones where they are. It counts upward from 0 and stops at need
// free ones, so a high limit costs a few fcntl calls.
func descriptors(limit uint64, need int, open func(fd int) bool) string {
	var inUse, free int
	for fd := 0; uint64(fd) < limit && free < need; fd++ {
		if open(fd) {
			inUse++
		} else {
			free++
		}
	}
	if free >= need {
		return ""
	}
	least := inUse + need
	return "RLIMIT_NOFILE is " + utoa(limit) + ", lastcall needs at least " + itoa(least) +
		" (" + itoa(inUse) + " descriptors open and " + itoa(need) + " more): raise it (ulimit -n " +
		itoa(least) + ", docker run --ulimit nofile=" + itoa(least) + ")"
}

// threads checks RLIMIT_NPROC against what lastcall needs with procs Ps.
// It returns the refusal, or "" and the GOMAXPROCS that fits: procs, or
// fewer when the limit leaves room for fewer threads (a supervisor needs
// no parallelism, and the child does not inherit the change).
func threads(limit uint64, procs int) (line string, fit int) {
	for fit = procs; fit >= 1; fit-- {
		if limit >= uint64(threadsFor(fit)) {
			return "", fit
		}
	}
	return "RLIMIT_NPROC is " + utoa(limit) + ", lastcall needs at least " + itoa(threadsLeast) +
		" (its threads and the child, besides every other process of uid " + itoa(syscall.Getuid()) +
		"): raise it (ulimit -u, docker run --ulimit nproc=...)", procs
}

// fdOpen reports whether fd is an open descriptor.
func fdOpen(fd int) bool {
	_, _, errno := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
	return errno != syscall.EBADF
}

// activated reports whether lastcall was started by socket activation
// (LISTEN_PID names it; see supervisor's activated).
func activated() bool {
	pid, ok := syscall.Getenv("LISTEN_PID")
	return ok && pid == itoa(syscall.Getpid())
}
