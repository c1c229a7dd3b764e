package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/healthcheck"
	"github.com/lastcall-dev/lastcall/internal/redact"
	"github.com/lastcall-dev/lastcall/signals"
	"github.com/lastcall-dev/lastcall/supervisor"
)

// Env is what a run takes from lastcall's process: its environment and
// output, and what main set up before anything else.
type Env struct {
	LookupEnv      func(string) (string, bool)
	Stdout, Stderr io.Writer
	// Signals is the subscription main made first thing; nil means the
	// supervisor subscribes itself.
	Signals *supervisor.Subscription
	// StartPPID is lastcall's parent when it started, to tell a parent
	// that died before --parent-death-signal could be armed.
	StartPPID int
}

func (e Env) getenv(key string) string {
	v, _ := e.LookupEnv(key)
	return v
}

// Run supervises the child as s says and returns lastcall's exit code.
func Run(ctx context.Context, s Settings, env Env) int {
	logger := newLogger(env.Stderr, s.LogLevel, s.LogFormat)
	plan, platform, budgetFrom, err := stopPlan(s, env.getenv)
	if err != nil {
		logger.Warn("the stop plan ends after the platform's SIGKILL", zap.Error(err), zap.String("plan", plan.String()),
			zap.String("platform", platform.Name), zap.Duration("budget", platform.StopTimeout),
			zap.String("budget_from", budgetFrom), zap.String("step", "plan"))
	}
	warnShellPID1("/proc", logger)
	warnShortGrace(s, plan, env.getenv, logger)
	armParentDeath(s.ParentDeath, env.StartPPID, logger)
	cfg := s.Config
	cfg.Plan, cfg.Budget, cfg.Platform, cfg.BudgetFrom = plan, platform.StopTimeout, platform.Name, budgetFrom
	cfg.Signals = env.Signals
	cfg.ForwardURG = AsyncPreemptOff(env.getenv("GODEBUG"))
	cfg.Logger = logger
	cfg.PostgresReserve = cleanupMargin + s.DB.Reserve()
	if cfg.Credential != nil {
		cfg.Env = withHome(os.Environ(), s.Home)
	}
	check, childEnv, err := healthcheck.Prepare(ctx, s.DB, cfg.Env, plan.KillAt+cfg.LeftoverGrace+s.DB.Timeout,
		supervisor.Descendants, logger)
	if errors.Is(err, healthcheck.ErrDBNotReady) {
		return healthcheck.ExitDBNotReady
	}
	cfg.Env = childEnv
	if check != nil {
		cfg.OnStop, cfg.OnChildExit = check.StopBegan, check.ChildExited
		cfg.BeforePostgresStop, cfg.BeforePostgresStopName = check.AppDown, "the drain verdict"
	}
	res, err := supervisor.Run(ctx, cfg)
	return exitCode(ctx, logger, s.Remap, check, res, err)
}

// exitCode logs how the run ended and returns lastcall's exit code: the
// start error's 126/127, ExitFailed when lastcall itself failed, else the
// child's code after the remap, unless --db-strict turns a leak into
// healthcheck.ExitLeaked, or a PostgreSQL server that did not shut down
// cleanly turns 0 into ExitPostgresUnclean.
func exitCode(ctx context.Context, logger *zap.Logger, remap signals.Remap, check *healthcheck.Check,
	res supervisor.Result, err error) int {
	var startErr *supervisor.StartError
	switch {
	case errors.As(err, &startErr):
		logger.Error("cannot start command", zap.String("command", redact.Redact(startErr.Command)),
			zap.Int("exit_code", startErr.Code), zap.Error(startErr.Err), zap.String("step", "start"))
		return startErr.Code
	case err != nil:
		logger.Error("lastcall failed", zap.Int("exit_code", ExitFailed), zap.Error(err), zap.String("step", "start"))
		return ExitFailed
	}
	code := postgresExit(check.Verdict(ctx, remap.Apply(res.ExitCode)), res.Postgres)
	level := zapcore.DebugLevel
	if res.Stopped || res.Leftovers > 0 || res.Signaled || len(res.Postgres) > 0 {
		level = zapcore.InfoLevel
	}
	logger.Log(level, "exit", zap.Int("exit_code", code), zap.Int("child_exit_code", res.ExitCode), zap.String("step", "exit"))
	return code
}

// armParentDeath has the kernel send sig to lastcall when its parent dies
// (prctl PR_SET_PDEATHSIG), so that a start command whose shell or
// supervisor is gone stops the app instead of leaving it running. A parent
// that died before this (startPPID is gone) is caught too: lastcall then
// sends sig to itself. The signal is queued by the subscription and
// handled like any other: a stop signal begins the stop plan.
func armParentDeath(sig syscall.Signal, startPPID int, logger *zap.Logger) {
	if sig == 0 || os.Getpid() == 1 {
		return
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(sig), 0, 0, 0); err != nil {
		logger.Warn("cannot arm --parent-death-signal", zap.Error(err), zap.String("step", "start"))
		return
	}
	if startPPID != 0 && os.Getppid() != startPPID {
		logger.Info("parent already gone", zap.String("signal", signals.Name(sig)), zap.String("step", "start"))
		_ = unix.Kill(os.Getpid(), sig)
	}
}

// postgresExit turns exit code 0 into ExitPostgresUnclean when a
// PostgreSQL server of the tree did not shut down cleanly: remapping
// cannot hide it. The supervisor has logged each server's end already.
func postgresExit(code int, servers []supervisor.PostgresOutcome) int {
	if code != 0 {
		return code
	}
	for _, o := range servers {
		if o.Unclean() {
			return ExitPostgresUnclean
		}
	}
	return code
}
