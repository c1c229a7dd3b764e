/*
Package supervisor runs one child process for its whole life, the way an
init process must: it starts the child, forwards signals to it, escalates
to SIGKILL when a stop outlives its plan, reaps every
process that it inherits, and terminates whatever the child leaves behind.

[Run] does all of it on the calling goroutine. The child's state has one
owner; signals and timers reach it over channels, and one select loop
handles them. Run is the only caller of wait4 in the process: it reaps
with wait4(-1, WNOHANG) until nothing is left on every SIGCHLD, and
recognises the child among the statuses it collects. Nothing else may
call Wait on a child while Run is running, or a status would be stolen.

# Stopping

A stop begins with the first of Config.StopSignals (SIGTERM, SIGINT and
SIGQUIT by default) or when the context is done, and follows Config.Plan
(see signals.StopPlan): an optional pre-stop delay during which the app
keeps serving and gets every other signal, then the plan's signals at
their offsets (by default the stop signal itself, after Config.Rewrite),
each followed by SIGCONT so that a stopped child acts on it, then SIGKILL to the whole tree at the plan's KillAt: the child's process
group and every descendant of lastcall found in /proc (as PID 1, every
process in the namespace, with kill(-1)). A second stop signal is
forwarded again, ends a pre-stop delay at once, or, with
Config.SecondStopKills, escalates at once; it never moves the deadline.

When the child has exited, by itself or not, descendants still alive get
SIGTERM (and SIGCONT, in case they are stopped), and so do those found in
a later round (one every 100 ms), then SIGKILL after
Config.LeftoverGrace, in rounds until one finds nothing new, and Run
returns only when every one has been reaped. A process group whose every
member is a leftover is signalled as a group: kill(2) on a group is
atomic with fork, so a leftover that forks and exits in a loop is caught
by the first round that sees any member of its group, and the deadline
holds. A stop signal during that wait kills them at once (but for
postmasters: see below). The log names the leftovers and every process a
SIGKILL reached, by pid and command.

# A PostgreSQL server in the tree

With Config.PostgresStop, Run recognises PostgreSQL postmasters in its
tree (see the internal pgserver package: from /proc, confirmed by the data
directory's postmaster.pid). A postmaster child gets SIGINT (fast
shutdown) where SIGTERM (smart shutdown, which waits for every client)
would be forwarded, to its pid alone, unless Config.Rewrite names the stop
signal or the plan's step names its own signal. A postmaster that is not
the child is stopped after the child: the plan's SIGKILL and the
leftovers' SIGTERM spare it and its processes, and once every other
leftover is gone it alone gets SIGINT, then SIGKILL with its processes at
the end of Config.Budget less Config.PostgresReserve (never sooner than
Config.LeftoverGrace), counted from the stop or, without one, from the
cleanup's start. Config.BeforePostgresStop, when set, runs between the
two, when the app is down and the server still answers (the drain
verdict's moment); the postmasters wait for the channel it returns, at
most until their deadline less Config.LeftoverGrace. Once a postmaster
has been reaped, Run reads its pg_control (a small file read, on the
loop) and logs its state in one line; Result.Postgres holds the outcomes.
A postmaster child that exits before any stop began is never looked at,
and gets no line.

# Hooks

Config.OnStop runs when a stop begins and Config.OnChildExit when the
child has exited, with the descendants still alive, before they are
terminated: the Postgres drain check hangs on them (main wires it; this
package knows nothing of databases). Both run on Run's goroutine and must
not wait on anything; [Descendants] lists the tree from any goroutine.

# Running as PID 1

As PID 1 of a PID namespace (a container), lastcall inherits every orphan
of the namespace, and when it exits the kernel kills everything left in
it. kill(-1) is used only there: it reaches every process of that
namespace and nothing outside it.

Anywhere else (a platform start command, a shell), lastcall registers as
child subreaper with prctl(PR_SET_CHILD_SUBREAPER), so that orphans of
its tree are reparented to it rather than to init; it warns when that
fails. It then finds descendants by walking parent links in /proc, and
signals each through a pidfd after checking the process's start time, so
that a pid recycled since the scan is never signalled (lastcall's own
children, whose pids cannot be reused before it reaps them, by pid when
every descriptor is in use). Without a /proc it can read (not mounted,
another PID namespace's, every descriptor in use: said once), it signals
the child's process group, which kill(-pgid) reaches without /proc; once
that group is empty, what is left in sessions of its own is out of reach,
and Run says so and returns instead of waiting for it.

# Signals that are not forwarded

See the signals package: SIGKILL and SIGSTOP (no program can catch them),
SIGCHLD (lastcall's own), SIGPROF and signal 34 (the Go runtime keeps
them), 32 and 33 (the C library's), and SIGURG unless Config.ForwardURG
is set (the Go runtime sends itself SIGURG for async preemption).

SIGHUP and SIGINT that lastcall inherited ignored (nohup, a background
job of a shell script) stay ignored: lastcall does not take them, and the
child inherits them ignored.

# What the child inherits

The child runs in its own process group, with lastcall's stdin, stdout
and stderr (the same open files: no pipes, no copies) and every other
descriptor lastcall inherited, at the same number; never one of
lastcall's own, which are all close-on-exec. Once the child holds them,
lastcall closes its copies of the inherited descriptors above 2 and turns
its stdin and stdout into /dev/null unless they are a terminal, so that an
end of file or a closed connection belongs to the app alone; it keeps
stderr for its logs.

When LISTEN_PID names lastcall's own pid (socket activation), the child
must see its own pid there: it starts as lastcall's own binary, which sets
LISTEN_PID and execs the command in place (see [ExecTrampoline]), and
signals for the child wait in lastcall until the command runs. When stdin is a
terminal whose foreground group is lastcall's, the child's group takes
the foreground, so Ctrl-C and job control reach it straight from the
terminal; a lastcall started in the background never takes the terminal.

Signal mask: the child gets the mask lastcall inherited, except the
signals the Go runtime never leaves blocked in its threads: SIGHUP,
SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV,
SIGTERM, SIGSTKFLT, SIGCHLD, SIGPROF, SIGURG, SIGSYS and 32-34, which
start unblocked. No signal is ever blocked that lastcall did not inherit
blocked.

Ignored signals: SIGHUP and SIGINT stay ignored when lastcall inherited
them ignored. Every other signal starts with its default action, even one
that lastcall inherited ignored: the Go runtime installs its own handler
for it at start-up, and os/exec resets handled signals to the default in
the child. A program that wants a signal ignored sets that itself, as
most servers do.

# Exit codes

[Result].ExitCode is the child's exit code, or 128+N when signal N killed
it. A [*StartError] carries 127 when the command was not found and 126
when it was found but could not be executed. A Config.Credential that the
kernel would refuse (no CAP_SETUID or CAP_SETGID, setgroups denied in a
user namespace, an id the namespace does not map) is a plain error, found
before the fork: lastcall's own failure, not the command's.
*/
package supervisor
