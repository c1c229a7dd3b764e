// Command lastcall is a tiny init for containers and start commands: it runs
// COMMAND as its child, forwards signals, escalates to SIGKILL after a grace
// period, reaps zombies and cleans up every descendant.
//
//	lastcall [flags] [--] COMMAND [ARG...]
//	lastcall version
//
// Flags stop at COMMAND: in `lastcall gunicorn -w 4 app:app`, `-w 4` belongs
// to gunicorn. To run a command named like a subcommand, put `--` first
// (`lastcall -- version`). Every flag also reads LASTCALL_<FLAG> (upper snake
// case, e.g. LASTCALL_GRACE) when it is not given; the flag wins. An empty
// variable counts as unset.
//
// # Exit codes
//
//   - the child's exit code, or 128+N when signal N killed it, after the
//     --remap-exit rewrites
//   - 126: COMMAND was found but could not be executed
//   - 127: COMMAND was not found
//   - 2: usage error (one line on stderr naming the flag or variable; the
//     child is never started)
//   - 1: lastcall itself failed (an error that is not the child's)
//
// # Logs
//
// lastcall logs to stderr only; stdout belongs to the app. A run that ends by
// itself with no leftovers prints nothing at the default level.
//
// # SIGURG
//
// SIGURG is forwarded only when lastcall's own GODEBUG turns async preemption
// off (asyncpreemptoff=1): otherwise the Go runtime sends itself SIGURG and
// those must never reach the child.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/healthcheck"
	"github.com/lastcall-dev/lastcall/signals"
	"github.com/lastcall-dev/lastcall/supervisor"
)

const (
	exitFailed = 1 // lastcall itself failed
	exitUsage  = 2
)

// version is the release version; set with -ldflags '-X main.version=v1.2.3'.
// When empty, the main module's version from the build info is used.
var version = ""

// commit is the source revision; set with -ldflags '-X main.commit=...'.
// When empty, the VCS stamp in the build info is used, if any.
var commit = ""

// earlySignals is lastcall's signal subscription, started first thing in
// main so that a stop signal in lastcall's first milliseconds is queued,
// not fatal, and so that its cost overlaps the rest of the setup. It is nil
// when tests call execute, and Run then subscribes itself.
var earlySignals *supervisor.Subscription

// startPPID is lastcall's parent when it started, to tell a parent that
// died before --parent-death-signal could be armed.
var startPPID = os.Getppid()

func main() {
	supervisor.ExecTrampoline() // returns unless this is a socket-activated child on its way to exec
	defer healthcheck.ScrubPanics(databaseURLs(os.Args[1:], os.Getenv)...)
	earlySignals = supervisor.Subscribe(asyncPreemptOff(os.Getenv("GODEBUG")))
	os.Exit(execute(context.Background(), os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// execute runs lastcall with args and returns its exit code. Usage errors
// are printed to stderr as one line.
func execute(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	code := 0
	cmd := newCommand(lookupEnv, stdout, stderr, &code)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "lastcall: %v\n", err)
		var usage *usageError
		if errors.As(err, &usage) {
			return exitUsage
		}
		return exitFailed
	}
	return code
}

// newCommand builds the root command. Its RunE only resolves the settings
// and calls run, which stores lastcall's exit code in *code.
func newCommand(lookupEnv func(string) (string, bool), stdout, stderr io.Writer, code *int) *cobra.Command {
	root := &cobra.Command{
		Use:   "lastcall [flags] [--] COMMAND [ARG...]",
		Short: "Run COMMAND as a supervised child: forward signals, escalate, reap, clean up",
		Long: "lastcall runs COMMAND as its child, forwards signals to it, sends SIGKILL to the whole\n" +
			"tree when the child outlives --grace after a stop signal, reaps zombies and terminates\n" +
			"leftover descendants. Every flag also reads LASTCALL_<FLAG> (e.g. LASTCALL_GRACE);\n" +
			"the flag wins.",
		Args:              cobra.ArbitraryArgs,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := resolveSettings(cmd.Flags(), args, lookupEnv)
			if err != nil {
				return err
			}
			*code = run(cmd.Context(), s, lookupEnv, stderr)
			return nil
		},
	}
	root.Flags().SetInterspersed(false)
	addFlags(root.Flags())
	root.SetFlagErrorFunc(flagError)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newVersionCommand(stdout))
	root.AddCommand(newHealthcheckCommand(lookupEnv, stdout, stderr, code))
	return root
}

func newVersionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print lastcall's version",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("version takes no arguments (to run a command named version: lastcall -- version)")
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(stdout, versionLine())
			return err
		},
	}
}

// versionLine is "lastcall VERSION (commit COMMIT, go GOVERSION)".
func versionLine() string {
	v, c := "(devel)", "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				c = s.Value
			}
		}
	}
	if version != "" {
		v = version
	}
	if commit != "" {
		c = commit
	}
	return fmt.Sprintf("lastcall %s (commit %s, go %s)", v, c, strings.TrimPrefix(runtime.Version(), "go"))
}

// run supervises the child and returns lastcall's exit code.
func run(ctx context.Context, s settings, lookupEnv func(string) (string, bool), stderr io.Writer) int {
	logger := newLogger(stderr, s.logLevel, s.logFormat)
	getenv := func(k string) string { v, _ := lookupEnv(k); return v }
	plan, platform, budgetFrom, err := stopPlan(s, getenv)
	if err != nil {
		logger.Warn("the stop plan ends after the platform's SIGKILL", zap.Error(err), zap.String("plan", plan.String()),
			zap.String("platform", platform.Name), zap.Duration("budget", platform.StopTimeout),
			zap.String("budget_from", budgetFrom), zap.String("step", "plan"))
	}
	armParentDeath(s.parentDeath, logger)
	cfg := supervisor.Config{
		Args:            s.args,
		Plan:            plan,
		Budget:          platform.StopTimeout,
		Platform:        platform.Name,
		BudgetFrom:      budgetFrom,
		LeftoverGrace:   s.leftoverGrace,
		StopSignals:     s.stopSignals,
		SecondStopKills: s.secondStopKills,
		Rewrite:         s.rewrite,
		ForwardToGroup:  s.forwardToGroup,
		Signals:         earlySignals,
		ForwardURG:      asyncPreemptOff(getenv("GODEBUG")),
		Credential:      s.user.cred,
		Env:             childEnv(s),
		Logger:          logger,
	}
	var drain *drainCheck
	if prepareDBEnv(s.db, &cfg, logger) {
		if !waitForDB(ctx, s.db, logger) {
			return exitDBNotReady
		}
		if s.db.check != "off" {
			drain = setupDrain(s.db, &cfg, plan.KillAt+s.leftoverGrace+s.db.timeout, logger)
		}
	}
	res, err := supervisor.Run(ctx, cfg)
	return exitCode(ctx, logger, s.remap, drain, res, err)
}

// childEnv is the child's environment: lastcall's own, with HOME set for
// --user; nil means lastcall's own unchanged (the drain check may still
// add its tag).
func childEnv(s settings) []string {
	if s.user.cred == nil {
		return nil
	}
	return withHome(os.Environ(), s.user.home)
}

// exitCode logs how the run ended and returns lastcall's exit code: the
// start error's 126/127, 1 when lastcall itself failed, else the child's
// code after the remap, unless --db-strict turns a leak into exitLeaked.
func exitCode(ctx context.Context, logger *zap.Logger, remap signals.Remap, drain *drainCheck,
	res supervisor.Result, err error) int {
	var startErr *supervisor.StartError
	switch {
	case errors.As(err, &startErr):
		logger.Error("cannot start command", zap.String("command", healthcheck.Redact(startErr.Command)),
			zap.Int("exit_code", startErr.Code), zap.Error(startErr.Err), zap.String("step", "start"))
		return startErr.Code
	case err != nil:
		logger.Error("lastcall failed", zap.Int("exit_code", exitFailed), zap.Error(err), zap.String("step", "start"))
		return exitFailed
	}
	code := drain.verdict(ctx, remap.Apply(res.ExitCode))
	level := zapcore.DebugLevel
	if res.Stopped || res.Leftovers > 0 || res.Signaled {
		level = zapcore.InfoLevel
	}
	logger.Log(level, "exit", zap.Int("exit_code", code), zap.Int("child_exit_code", res.ExitCode), zap.String("step", "exit"))
	return code
}

// armParentDeath has the kernel send sig to lastcall when its parent dies
// (prctl PR_SET_PDEATHSIG), so that a start command whose shell or
// supervisor is gone stops the app instead of leaving it running. A parent
// that died before this is caught too: lastcall then sends sig to itself.
// The signal is queued by the subscription and handled like any other: a
// stop signal begins the stop plan.
func armParentDeath(sig syscall.Signal, logger *zap.Logger) {
	if sig == 0 || os.Getpid() == 1 {
		return
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(sig), 0, 0, 0); err != nil {
		logger.Warn("cannot arm --parent-death-signal", zap.Error(err), zap.String("step", "start"))
		return
	}
	if os.Getppid() != startPPID {
		logger.Info("parent already gone", zap.String("signal", signals.Name(sig)), zap.String("step", "start"))
		_ = unix.Kill(os.Getpid(), sig)
	}
}
