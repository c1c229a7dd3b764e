package supervisor

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/internal/procfs"
	"github.com/lastcall-dev/lastcall/signals"
)

// rekillInterval is how often lastcall looks again for descendants once it
// has sent SIGKILL: a process may fork between the scan and the kill.
const rekillInterval = 100 * time.Millisecond

// beforeStartHook, when set by a test, runs after lastcall has subscribed
// to signals and before the child starts.
var beforeStartHook func()

// supervisor holds the child's whole state. Only the goroutine that called
// Run touches it; everything else reaches it over the signal channels.
type supervisor struct {
	cfg Config
	log *zap.Logger

	sigs <-chan os.Signal // every forwarded signal, see Subscription
	chld <-chan os.Signal

	batch      []syscall.Signal // scratch for handleSignals
	stopSet    map[syscall.Signal]bool
	pid1       bool  // PID 1 of lastcall's own PID namespace
	ownProc    bool  // /proc shows that namespace
	procErr    error // why it does not (procfs.Check)
	procWarned bool  // a failure to read /proc was logged

	childPid int
	tty      bool // the child holds the terminal's foreground
	started  time.Time
	exited   bool

	stopBegan time.Time      // zero until a stop begins
	stopSig   syscall.Signal // the stop signal that began it
	nextStep  int            // the plan's next step to send
	stepTimer *time.Timer    // fires at the next step or at the plan's KillAt
	res       Result

	pms         []*postmaster // the PostgreSQL servers recognised in the tree
	childLooked bool          // the child was looked at as a postmaster
}

// Run starts the child described by cfg and supervises it until it and
// every descendant are gone: it forwards signals, starts the grace clock on
// a stop signal, sends SIGKILL to the whole tree when the grace is over,
// reaps every process that lastcall inherits, and terminates descendants
// still alive when the child has exited.
//
// Run subscribes to every signal it forwards before the child starts, so
// signals that arrive early are delivered once it runs. It keeps them when
// it returns: a late one is dropped and cannot kill the caller before it
// exits with the child's code (giving 55 signals back would also cost as
// many system calls on the way out).
//
// Run fails only before the child runs: a *StartError when it cannot be
// started. Once the child runs, only its exit ends Run.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if len(cfg.Args) == 0 {
		return Result{}, errors.New("no command to run")
	}
	sub := cfg.Signals
	if sub == nil {
		sub = Subscribe(cfg.ForwardURG, nil)
	}
	sub.wait()
	s := newSupervisor(cfg, sub)
	s.becomeSubreaper()
	if beforeStartHook != nil {
		beforeStartHook()
	}
	child, err := startChild(cfg)
	if err != nil {
		return Result{}, err
	}
	if child.execDone != nil {
		// Signals wait in the subscription until the command runs.
		_, _ = io.Copy(io.Discard, child.execDone)
		_ = child.execDone.Close()
	}
	s.childPid, s.started = child.pid, time.Now()
	if child.tty {
		s.followTerminal()
	}
	s.log.Debug("child started", zap.Int("child_pid", child.pid), zap.String("command", cfg.Args[0]),
		zap.Int("args", len(cfg.Args)-1), zap.Bool("pid1", s.pid1), zap.Int("inherited_fds", child.inherited),
		zap.Bool("socket_activation", child.execDone != nil), zap.String("step", "start"))
	s.supervise(ctx)
	s.restoreTerminal()
	if s.cfg.OnChildExit != nil {
		s.cfg.OnChildExit(s.aliveProcesses())
	}
	s.cleanUp()
	return s.res, nil
}

func newSupervisor(cfg Config, sub *Subscription) *supervisor {
	s := &supervisor{
		cfg:     cfg,
		log:     cfg.Logger,
		sigs:    sub.sigs,
		chld:    sub.chld,
		stopSet: make(map[syscall.Signal]bool, len(cfg.StopSignals)),
		pid1:    os.Getpid() == 1,
		procErr: procfs.Check(),
	}
	s.ownProc = s.procErr == nil
	if s.log == nil {
		s.log = zap.NewNop()
	}
	for _, sig := range cfg.StopSignals {
		s.stopSet[sig] = true
	}
	if len(s.cfg.Plan.Steps) == 0 {
		s.cfg.Plan.Steps = []signals.StopStep{{At: s.cfg.Plan.PreStopDelay}}
	}
	for _, sig := range sub.skipped {
		s.log.Debug("signal inherited ignored, not forwarded", zap.String("signal", signals.Name(sig)))
	}
	return s
}

// becomeSubreaper makes orphaned descendants lastcall's children, so that
// it can reap them and clean them up. PID 1 has that role already.
func (s *supervisor) becomeSubreaper() {
	if s.pid1 {
		return
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		s.log.Warn("cannot become child subreaper: orphans will escape cleanup", zap.Error(err))
	}
	if !s.ownProc {
		s.log.Warn("lastcall cannot see its descendants: only the child's process group will be cleaned up",
			zap.NamedError("why", s.procErr))
	}
}

// supervise runs the event loop until the child has exited.
func (s *supervisor) supervise(ctx context.Context) {
	done := ctx.Done()
	for !s.exited {
		select {
		case <-s.chld:
			s.reapAll()
		case sig := <-s.sigs:
			s.handleSignals(sig.(syscall.Signal))
		case <-timerC(s.stepTimer):
			s.runPlan()
		case <-done:
			done = nil
			s.stopSignal(syscall.SIGTERM)
		}
	}
}

// handleSignals handles first and whatever else is already waiting in the
// channel, each distinct signal once, in order of arrival: the kernel
// merges a signal that is already pending with itself in the same way, and
// a storm of one signal then costs one forward per wake-up, not one per
// copy. It takes at most one channel's worth, so SIGCHLD and the timers
// get their turn during a storm.
func (s *supervisor) handleSignals(first syscall.Signal) {
	var seen [65]bool
	batch := append(s.batch[:0], first)
	seen[first] = true
waiting:
	for range cap(s.sigs) {
		select {
		case sig := <-s.sigs:
			if n := sig.(syscall.Signal); n > 0 && n < 65 && !seen[n] {
				seen[n] = true
				batch = append(batch, n)
			}
		default:
			break waiting
		}
	}
	for _, sig := range batch {
		s.handleSignal(sig)
	}
	s.batch = batch
}

// handleSignal begins or continues a stop for a stop signal and forwards
// any other, after the rewrite table.
func (s *supervisor) handleSignal(sig syscall.Signal) {
	if s.stopSet[sig] {
		s.stopSignal(sig)
		return
	}
	s.forward(s.cfg.Rewrite.Apply(sig))
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}
