/*
Package signals holds the pure values behind lastcall's signal handling:
it parses signal names and numbers, names signals, says which signals
lastcall forwards to its child and why the others are left out, turns a
wait status into the exit code a shell would report, and rewrites exit
codes by a user's table. It does no I/O and keeps no state; the
supervisor package does the sending, waiting and reaping.

This package is for Linux: signal numbers and the real-time range are
Linux's.

# Signal names

[Parse] accepts a name with or without the SIG prefix, in any case
("TERM", "SIGTERM", "sigterm"), the old aliases IOT, CLD and POLL, a
decimal number 1-64 ("15"), and the real-time signals as RTMIN, RTMAX,
RTMIN+N and RTMAX-N with N 0-30 ("SIGRTMIN+3"). RTMIN is 34 and RTMAX
is 64: the values glibc gives applications and kill -l prints. Programs
built on musl (Alpine) see SIGRTMIN as 35; a number says exactly which
signal is meant. [Name] writes the canonical form, as
kill -l does: "SIGTERM", "SIGRTMIN+1" up to "SIGRTMIN+15", then
"SIGRTMAX-14" up to "SIGRTMAX". [ParseList] reads a comma-separated
list such as "TERM,INT,QUIT".

Every error names the input and the accepted forms, so that a bad flag
or environment value can be reported in one line.

# Signals that are not forwarded

[Forwardable] lists the signals lastcall passes on to its child; every
other signal 1-64 is left out for a reason that [NotForwarded] gives in
a few words:

The signals SIGKILL and SIGSTOP may not be caught by any program, so
lastcall never sees them to forward. A SIGKILL to lastcall as PID 1 of
a container is how the platform ends the container's whole tree.

SIGCHLD is lastcall's own business: it tells lastcall that a child or
an adopted descendant changed state and is to be reaped. The child
gets its own SIGCHLD from the kernel for its own children.

SIGPROF is handled directly by the Go runtime to implement
runtime.CPUProfile, and os/signal never delivers it to a program.

SIGURG is sent by the Go runtime to its own threads for asynchronous
preemption of long-running goroutines, about 50 times a second under
load. Forwarding it would shower the child with signals it never asked
for. lastcall forwards SIGURG only when asynchronous preemption is off
(GODEBUG=asyncpreemptoff=1 in lastcall's environment), when every
SIGURG it receives was sent by someone else. The caller decides: this
package only takes withURG.

Signals 32 and 33 are used internally by glibc (SIGCANCEL for thread
cancellation and SIGSETXID for setuid and the like across threads).
They are never sent between processes, and [Parse] rejects them by
number, by the names Go's runtime gives them (SIGCANCEL, SIGSETXID) and
as RTMIN-1, RTMIN-2 or RTMAX-31, each with an error saying so.

Signal 34 (SIGRTMIN for glibc programs) is musl's internal SIGSYNCCALL.
The Go runtime leaves it alone and never hands it to os/signal, so
lastcall cannot receive it and does not forward it; the real-time
signals from SIGRTMIN+1 (35) to SIGRTMAX (64) are forwarded.

# Stop plans

A [StopPlan] is what lastcall does once a stop begins, as offsets from the
moment the stop signal arrived: an optional pre-stop delay (the app keeps
serving while a load balancer deregisters it), the signals to send, and
the moment SIGKILL goes to the whole tree. [PlanStop] makes one from the
platform's budget (its window from stop signal to SIGKILL, see
[DetectPlatform]), the time lastcall needs after its own SIGKILL, and the
user's --grace or --stop-sequence ([ParseStopSequence]). Without either,
the grace is what the budget leaves, so that lastcall's own exit lands
before the platform's SIGKILL.

A [Rewrite] changes the signal lastcall forwards: INT:TERM for gunicorn
on Fly, TERM:QUIT for nginx; a rewrite to 0 drops the signal.

# Exit codes

[ExitCode] reports what a shell would: the child's own code when it
exits, and 128+N when signal N kills it, so a child killed by SIGTERM
(15) gives 143 and one killed by SIGKILL (9) gives 137, with or without
a core dump. A stopped or continued child has no exit code yet, and
ExitCode returns -1 for it.

A [Remap] rewrites exit codes last, after every other rule, for
programs whose shutdown code a platform would otherwise read as a
failure: "143:0" makes death by SIGTERM a clean exit. Each code is
rewritten at most once; rewrites never chain, so "143:0,0:1" turns 143
into 0, not 1.
*/
package signals
