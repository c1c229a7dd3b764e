package supervisor

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

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

	// Three channels, so that a storm of one signal can never crowd out
	// another: os/signal drops a signal when its channel is full.
	// SIGCHLD only says "something to reap", so one slot is enough.
	chld  chan os.Signal
	stops chan os.Signal
	other chan os.Signal

	stopSet map[syscall.Signal]bool
	pid1    bool // PID 1 of lastcall's own PID namespace
	ownProc bool // /proc shows that namespace

	childPid int
	started  time.Time
	exited   bool

	stopBegan time.Time      // zero until a stop begins
	stopSig   syscall.Signal // the stop signal that began it
	nextStep  int            // the plan's next step to send
	stepTimer *time.Timer    // fires at the next step or at the plan's KillAt
	res       Result
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
	s := newSupervisor(cfg)
	s.subscribe()
	s.becomeSubreaper()
	if beforeStartHook != nil {
		beforeStartHook()
	}
	pid, err := startChild(cfg)
	if err != nil {
		return Result{}, err
	}
	s.childPid, s.started = pid, time.Now()
	s.log.Debug("child started", zap.Int("child_pid", pid), zap.Strings("command", cfg.Args),
		zap.Bool("pid1", s.pid1))
	s.supervise(ctx)
	s.cleanUp()
	return s.res, nil
}

func newSupervisor(cfg Config) *supervisor {
	s := &supervisor{
		cfg:     cfg,
		log:     cfg.Logger,
		chld:    make(chan os.Signal, 1),
		stops:   make(chan os.Signal, len(cfg.StopSignals)+1),
		other:   make(chan os.Signal, 64),
		stopSet: make(map[syscall.Signal]bool, len(cfg.StopSignals)),
		pid1:    os.Getpid() == 1,
		ownProc: procIsOurs(),
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	for _, sig := range cfg.StopSignals {
		s.stopSet[sig] = true
	}
	if len(s.cfg.Plan.Steps) == 0 {
		s.cfg.Plan.Steps = []signals.StopStep{{At: s.cfg.Plan.PreStopDelay}}
	}
	return s
}

// subscribe registers for SIGCHLD and every signal lastcall forwards.
// SIGHUP and SIGINT that lastcall inherited ignored (nohup, a background
// job of a script) stay ignored: lastcall does not take them, and the child
// inherits them ignored.
func (s *supervisor) subscribe() {
	var forwarded []os.Signal
	for _, sig := range signals.Forwardable(s.cfg.ForwardURG) {
		if signal.Ignored(sig) {
			s.log.Debug("signal inherited ignored, not forwarded", zap.String("signal", signals.Name(sig)))
			continue
		}
		if s.stopSet[sig] {
			signal.Notify(s.stops, sig)
			continue
		}
		forwarded = append(forwarded, sig)
	}
	signal.Notify(s.other, forwarded...)
	signal.Notify(s.chld, syscall.SIGCHLD)
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
		s.log.Warn("/proc belongs to another PID namespace: descendants will not be cleaned up")
	}
}

// supervise runs the event loop until the child has exited.
func (s *supervisor) supervise(ctx context.Context) {
	done := ctx.Done()
	for !s.exited {
		select {
		case <-s.chld:
			s.reapAll()
		case sig := <-s.stops:
			s.stopSignal(sig.(syscall.Signal))
		case sig := <-s.other:
			s.forward(s.cfg.Rewrite.Apply(sig.(syscall.Signal)))
		case <-timerC(s.stepTimer):
			s.runPlan()
		case <-done:
			done = nil
			s.stopSignal(syscall.SIGTERM)
		}
	}
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}
