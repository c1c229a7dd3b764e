package main

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Making 10,000 orphans with fork+exec would cost a program start each and
// measure exec, not reaping. The forks below copy this process with a raw
// clone and run nothing but raw system calls in the copies (the way the
// syscall package's child side of ForkExec works): no Go runtime, no
// allocation, no locks, and every signal blocked, so that no Go signal
// handler ever runs in a copy.

// blockSignals blocks every signal on the calling thread, which it locks,
// and returns the function that restores the mask and unlocks it. The
// copies inherit the blocked mask.
func blockSignals() (restore func()) {
	runtime.LockOSThread()
	all := ^uint64(0)
	var old uint64
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	return func() {
		_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
			uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
		runtime.UnlockOSThread()
	}
}

// forkOrphan forks a middle process that forks a grandchild and exits at
// once. The grandchild spins (yielding) until its parent has changed, that
// is until it has been orphaned, and exits. forkOrphan returns the middle
// process's pid, for the caller to reap.
//
//go:nosplit
func forkOrphan() (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || r != 0 {
		return int(r), e
	}
	mid, _, _ := syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
	g, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e == 0 && g == 0 {
		for {
			pp, _, _ := syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
			if pp != mid {
				break
			}
			syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
		}
	}
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
}

// forkBurst forks a middle process that forks n children, each of which
// exits at once, and then exits itself, leaving its zombies to be
// reparented together. forkBurst returns the middle process's pid.
//
//go:nosplit
func forkBurst(n int) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || r != 0 {
		return int(r), e
	}
	for i := 0; i < n; i++ {
		c, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
		if e == 0 && c == 0 {
			break
		}
	}
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
}
