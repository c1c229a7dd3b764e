package signals

import (
	"maps"
	"syscall"
)

// notForwarded holds every signal 1-64 that Forwardable(false) leaves out,
// with the reason.
var notForwarded = map[syscall.Signal]string{
	syscall.SIGKILL: "cannot be caught",
	syscall.SIGSTOP: "cannot be caught",
	syscall.SIGCHLD: "lastcall's own: it reaps the children",
	syscall.SIGPROF: "kept by the Go runtime for profiling",
	syscall.SIGURG:  "sent by the Go runtime for async preemption",
	sigCancel:       "reserved by the C library (thread cancellation)",
	sigSetxid:       "reserved by the C library (setxid)",
	rtMin:           "reserved by musl; the Go runtime cannot receive it",
}

// Forwardable lists, in ascending order, the signals lastcall forwards: every
// signal 1-64 a process can catch, except SIGKILL and SIGSTOP (cannot be
// caught), SIGCHLD (lastcall's own business), SIGPROF (the Go runtime keeps
// it), 32 and 33 (reserved by the C library), 34 (SIGRTMIN: musl's
// internal SIGSYNCCALL, which the Go runtime never hands to os/signal), and
// SIGURG unless withURG is
// true (the Go runtime sends itself SIGURG for async preemption).
//
// Each call returns a new slice.
func Forwardable(withURG bool) []syscall.Signal {
	out := make([]syscall.Signal, 0, maxSig)
	for sig := syscall.Signal(1); sig <= maxSig; sig++ {
		_, left := notForwarded[sig]
		if !left || (withURG && sig == syscall.SIGURG) {
			out = append(out, sig)
		}
	}
	return out
}

// NotForwarded explains, for each signal 1-64 that Forwardable(false) leaves
// out, why, in a few words (used in docs and debug logs).
//
// Each call returns a new map.
func NotForwarded() map[syscall.Signal]string {
	return maps.Clone(notForwarded)
}
