// Package limits refuses, in one line and with exit 1, a resource limit too
// low for lastcall to supervise a child, before the Go runtime would die of
// it with a goroutine dump and exit 2 (the usage-error code). Its
// initialiser runs before any other of lastcall's: internal/earlysignals
// imports it, and it depends only on packages os/signal needs too, so the
// runtime initialises it right after os (package initialisers run in
// import-path order among those ready), before os/signal starts threads.
//
// # RLIMIT_NOFILE
//
// lastcall needs 4 descriptors beyond those open when it starts (6 when
// socket-activated): the runtime's poller (an epoll and an eventfd) and two
// at once at the peak (the pipe of fork+exec; a pidfd and a stat file while
// it signals a leftover). Open when it starts are 0, 1 and 2, whatever it
// inherited, and the cgroup files the runtime keeps to follow the CPU limit
// (2 on cgroup v1, 1 on v2). The check counts the free descriptors below the
// limit, so inherited descriptors raise the minimum it names.
//
// # RLIMIT_NPROC
//
// The kernel counts every process and thread of the real uid against
// RLIMIT_NPROC, except for root and for a process with CAP_SYS_RESOURCE or
// CAP_SYS_ADMIN (in the initial user namespace): those are never checked. lastcall
// needs 10 with GOMAXPROCS 1, and 10+GOMAXPROCS from 2 on (its threads and
// the child). Below 10 it refuses; between 10 and what GOMAXPROCS needs it
// lowers its own GOMAXPROCS to fit (the child's environment is unchanged):
// a supervisor needs no parallelism, and a run with more threads than the
// limit dies now and then in the runtime. The uid's other processes count
// too, and lastcall cannot see them all: with a limit above its minimum the
// run can still fail when they use it up.
//
// # What it cannot catch
//
// Whatever kills the runtime before any package initialiser runs: an
// RLIMIT_AS below about 726 MiB (the runtime reserves its address space
// first: "failed to reserve page summary memory", exit 2; at 40 MiB and
// below SIGSEGV, exit 139) and an RLIMIT_NPROC below 3 or 4 (the runtime's
// first threads: "newosproc", exit 2). The README documents both.
package limits
