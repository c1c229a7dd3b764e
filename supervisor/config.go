package supervisor

import (
	"fmt"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/lastcall-dev/lastcall/internal/procfs"
	"github.com/lastcall-dev/lastcall/signals"
)

// Config says what to run and how to stop it.
type Config struct {
	// Args is the command and its arguments. Args[0] is looked up in PATH
	// when it has no slash.
	Args []string
	// Env is the child's environment; nil means lastcall's own.
	Env []string
	// Plan says what happens once a stop begins: the pre-stop delay, the
	// signals to send and when, and when SIGKILL goes to the whole tree.
	// A zero Plan sends the stop signal and SIGKILL at once.
	Plan signals.StopPlan
	// Budget, Platform and BudgetFrom describe where the plan came from,
	// for the logs; Budget also bounds a postmaster's stop (PostgresStop).
	Budget     time.Duration
	Platform   string
	BudgetFrom string
	// LeftoverGrace is how long descendants still alive after the child has
	// exited get between SIGTERM and SIGKILL.
	LeftoverGrace time.Duration
	// StopSignals begin a stop. The first one is sent as the plan says;
	// a later one is forwarded again, or escalates at once when
	// SecondStopKills is set.
	StopSignals     []syscall.Signal
	SecondStopKills bool
	// Rewrite changes the signals lastcall forwards (INT:TERM); a rewrite
	// to 0 drops the signal.
	Rewrite signals.Rewrite
	// ForwardToGroup sends forwarded signals to the child's process group
	// instead of the child alone.
	ForwardToGroup bool
	// Signals is the subscription made by Subscribe, as early as the
	// caller could; nil means Run subscribes itself.
	Signals *Subscription
	// ForwardURG, when Run subscribes itself, forwards SIGURG too. Only safe when the Go runtime's async
	// preemption is off, since the runtime sends itself SIGURG otherwise.
	ForwardURG bool
	// Credential, when set, is the user, group and supplementary groups the
	// child runs as, with no capabilities. lastcall itself keeps its own, to
	// reap and signal.
	Credential *syscall.Credential
	// PostgresStop stops PostgreSQL servers of the tree the way PostgreSQL
	// wants: a postmaster child gets SIGINT (fast shutdown) for SIGTERM,
	// unless Rewrite names the stop signal; a postmaster among the
	// leftovers gets SIGINT once the other leftovers are gone, and SIGKILL
	// only at the end of the Budget (less PostgresReserve), never before
	// LeftoverGrace; its processes are spared SIGTERM and the plan's
	// SIGKILL. Once a postmaster has exited, its pg_control says how it
	// ended: see Result.Postgres.
	PostgresStop bool
	// PostgresReserve is what lastcall keeps at the end of the Budget after
	// a postmaster's deadline: reaping, its verdicts, its exit.
	PostgresReserve time.Duration
	// BeforePostgresStop, when set, is called on Run's goroutine when the
	// child and every other leftover are gone and postmasters among the
	// leftovers are about to get SIGINT (see PostgresStop): the app is down
	// and the server still answers, the moment for the drain verdict. It
	// must return at once; when it returns a channel, Run waits for it to
	// be closed before it stops the postmasters, at most until their
	// deadline less LeftoverGrace.
	BeforePostgresStop func() <-chan struct{}
	// BeforePostgresStopName says what BeforePostgresStop waits for, in
	// the plan line and the log ("the drain verdict"); "" means
	// "BeforePostgresStop".
	BeforePostgresStopName string
	// OnStop, when set, is called on Run's goroutine when a stop begins. It
	// must return at once: whatever it starts runs elsewhere (the Postgres
	// drain check opens its monitor session then).
	OnStop func()
	// OnChildExit, when set, is called on Run's goroutine when the child
	// has exited, before the descendants still alive are terminated, with
	// those descendants. It may read /proc; it must not wait on anything.
	OnChildExit func(alive []Process)
	// Logger receives one line per lifecycle step; nil means no logs.
	Logger *zap.Logger
}

// Process is one process of lastcall's tree, as the hooks see it.
type Process = procfs.Process

// Result is what Run reports once the child and every descendant are gone.
type Result struct {
	// ExitCode is the child's exit code, or 128+N if signal N killed it.
	ExitCode int
	// Signaled is true when a signal killed the child.
	Signaled bool
	// Stopped is true when a stop signal (or the context) began a stop.
	Stopped bool
	// Leftovers counts descendants that were still alive when the child
	// exited and had to be terminated.
	Leftovers int
	// Postgres is how each PostgreSQL server that lastcall recognised in
	// its tree ended (with Config.PostgresStop), in the order they exited.
	Postgres []PostgresOutcome
}

// StartError reports a child that could not be started. Code is 127 when
// the command was not found and 126 when it was found but could not be
// executed, as a shell reports them.
type StartError struct {
	Command string
	Code    int
	Err     error
}

func (e *StartError) Error() string { return fmt.Sprintf("start %q: %v", e.Command, e.Err) }

func (e *StartError) Unwrap() error { return e.Err }
