package healthcheck

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/procfs"
	"github.com/lastcall-dev/lastcall/internal/sockview"
)

// Exit codes of the database features.
const (
	ExitLeaked     = 3 // DBSettings.Strict: the drain check found a leak or a rollback, and lastcall would exit 0
	ExitDBNotReady = 4 // DBSettings.WaitDB: the database was not ready in time, or refused lastcall for good
)

// DBSettings are the settings of the drain check and of the wait for the
// database before the app starts.
type DBSettings struct {
	Check     CheckMode
	URL       string        // the app's database URL; never logged whole
	Timeout   time.Duration // how long the verdict may wait once the tree is down
	Tag       bool          // inject a per-instance PGAPPNAME into the child
	Strict    bool          // a leak, or a transaction the server rolled back, turns exit 0 into ExitLeaked
	ShowQuery bool          // log the query text of sessions left behind
	WaitDB    time.Duration // 0: do not wait
}

// Reserve is the time the verdict may take after the tree is down, which
// the stop plan keeps inside the budget too.
func (s DBSettings) Reserve() time.Duration {
	if !s.Check.On() {
		return 0
	}
	return s.Timeout
}

// ErrDBNotReady is returned by [Prepare] when the wait for the database
// failed; the error is logged already, and the app must not start.
var ErrDBNotReady = errors.New("database not ready")

// Check is the drain check of one run, tied to the supervisor's hooks:
// [Check.StopBegan] when a stop begins, [Check.ChildExited] when the child
// has exited, [Check.Verdict] once the whole tree is down. A nil *Check
// checks nothing.
type Check struct {
	d       *Drain
	log     *zap.Logger
	strict  bool
	timeout time.Duration
	// early is closed once the verdict that AppDown took is in report.
	early  chan struct{}
	report DrainReport
}

// Prepare is the one entry point of the database features. It runs before
// the child starts: it fixes the child's environment as lastcall found it
// (env; nil means lastcall's own), drops from lastcall's own environment
// the PG* variables lib/pq refuses, waits for the database (WaitDB), and
// sets up the drain check, whose hard deadline is budget from its start.
// tree lists lastcall's live descendants, for the local view. It returns
// the check (nil when off or when it cannot run: the app runs all the
// same), the child's environment, and [ErrDBNotReady] when the wait failed.
func Prepare(ctx context.Context, s DBSettings, env []string, budget time.Duration,
	tree func() []procfs.Process, logger *zap.Logger) (*Check, []string, error) {
	if !s.Check.On() && s.WaitDB <= 0 {
		return nil, env, nil
	}
	if env == nil {
		env = os.Environ()
	}
	if !prepareDBEnv(env, logger) {
		return nil, env, nil
	}
	if !waitForDB(ctx, s, logger) {
		return nil, env, ErrDBNotReady
	}
	if !s.Check.On() {
		return nil, env, nil
	}
	return setupDrain(s, env, budget, tree, logger)
}

// prepareDBEnv drops the PG* variables that make lib/pq fail from
// lastcall's own environment, with a note: the app keeps them (env). It
// reports whether lastcall may connect at all: not with PQGO_DEBUG=1,
// which would make lib/pq print the password.
func prepareDBEnv(env []string, logger *zap.Logger) bool {
	for _, name := range pgconn.UnsupportedPGEnv(env) {
		_ = os.Unsetenv(name)
		logger.Info("dropped from lastcall's own environment (lib/pq refuses it); the app keeps it",
			zap.String("variable", name), zap.String("step", "db"))
	}
	if pgconn.CheckPQGODebug(env) != nil {
		logger.Warn("no database check and no --wait-db: PQGO_DEBUG=1 would make lib/pq print the password",
			zap.String("step", "db"))
		return false
	}
	return true
}

// setupDrain tags the child's environment (PGAPPNAME) and makes the check.
// A check that cannot run (a URL lib/pq rejects) is logged and skipped.
func setupDrain(s DBSettings, env []string, budget time.Duration, tree func() []procfs.Process,
	logger *zap.Logger) (*Check, []string, error) {
	tagged, tag, injected := tagEnv(s, env, logger)
	mode := s.Check
	if tag == "" && mode != CheckLocal {
		logger.Warn("PGAPPNAME is set but empty: the server view cannot find the app's sessions; local view only",
			zap.String("step", "drain"))
		if mode == CheckServer {
			return nil, env, nil
		}
		mode = CheckLocal
	}
	d, err := NewDrain(DrainConfig{
		DSN: s.URL, Mode: mode, Tag: tag, TagInjected: injected, Timeout: budget, ShowQuery: s.ShowQuery,
		Tree: func() []sockview.ProcSockets { return withInodes(procSockets(tree())) },
	})
	if err != nil {
		logger.Warn("drain check off", zap.Error(err), zap.String("step", "drain"))
		return nil, env, nil
	}
	return &Check{d: d, log: logger, strict: s.Strict, timeout: s.Timeout}, tagged, nil
}

// tagEnv gives the child a per-instance PGAPPNAME and returns the tag its
// sessions will carry: the injected one, the user's own PGAPPNAME, or the
// application_name the app's URL names (which wins over PGAPPNAME). Only
// an injected tag is this instance's alone.
func tagEnv(s DBSettings, env []string, logger *zap.Logger) (newEnv []string, tag string, injected bool) {
	if name := pgconn.URLAppName(s.URL); name != "" {
		logger.Warn("the database URL sets application_name: the server view looks for it, and other instances may share it",
			zap.String("application_name", name), zap.String("step", "drain"))
		return env, name, false
	}
	if s.Tag {
		env, injected = pgconn.TagEnv(env, pgconn.NewTag())
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PGAPPNAME="); ok {
			tag = v
		}
	}
	return env, tag, injected
}

// procSockets turns processes into the local view's input; their socket
// inodes are read later (see withInodes).
func procSockets(procs []procfs.Process) []sockview.ProcSockets {
	out := make([]sockview.ProcSockets, 0, len(procs))
	for _, p := range procs {
		out = append(out, sockview.ProcSockets{PID: p.PID, Cmd: p.Cmd})
	}
	return out
}

// StopBegan starts the check's watch; it returns at once.
func (c *Check) StopBegan() {
	if c != nil {
		c.d.StopBegan()
	}
}

// ChildExited records what the descendants still alive hold; it returns at
// once.
func (c *Check) ChildExited(alive []procfs.Process) {
	if c != nil {
		c.d.ChildExited(procSockets(alive))
	}
}

// AppDown takes the verdict now, while a PostgreSQL server of lastcall's
// own tree still answers: the supervisor calls it (as
// supervisor.Config.BeforePostgresStop) when the app and every other
// leftover are gone and only postmasters are left. Taken after the server
// had stopped, the verdict could not ask it what the app left behind. It
// returns at once; the channel is closed when the verdict is in and
// logged, and the supervisor stops the servers then.
func (c *Check) AppDown() <-chan struct{} {
	if c == nil || c.early != nil {
		return nil
	}
	c.early = make(chan struct{})
	go func() {
		defer close(c.early)
		c.report = c.take(context.Background())
	}()
	return c.early
}

// Verdict waits for the check's verdict, now that the tree is down (or
// for the one AppDown took), logs it and returns lastcall's exit code:
// code (already remapped), or ExitLeaked in strict mode when lastcall
// would exit 0 and the app left something behind or lost work (a
// transaction the server proved rolled back).
func (c *Check) Verdict(ctx context.Context, code int) int {
	if c == nil {
		return code
	}
	var r DrainReport
	if c.early != nil {
		select {
		case <-c.early:
		case <-ctx.Done():
			c.d.Close() // the verdict returns at once then
			<-c.early
		}
		r = c.report
	} else {
		r = c.take(ctx)
	}
	if c.strict && code == 0 && (r.Verdict == Leaked || len(r.RolledBack) > 0) {
		return ExitLeaked
	}
	return code
}

// take waits for the verdict and logs it. The timeout bounds the wait from
// now, the app being down; the check's own hard deadline (the stop budget)
// bounds it too.
func (c *Check) take(ctx context.Context) DrainReport {
	vctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	r := c.d.Verdict(vctx)
	c.d.Close()
	logReport(c.log, r)
	return r
}

// waitForDB runs the wait before the child starts. It returns false when
// the database did not become ready (the error is logged).
func waitForDB(ctx context.Context, s DBSettings, logger *zap.Logger) bool {
	if s.WaitDB <= 0 {
		return true
	}
	logf := func(format string, args ...any) {
		logger.Sugar().Debugf(format, args...)
	}
	err := WaitReady(ctx, s.URL, s.WaitDB, logf)
	if err == nil {
		return true
	}
	var we *WaitError
	timeout := errors.As(err, &we) && we.Timeout
	logger.Error("database not ready; the app was not started", zap.Error(err), zap.Bool("timeout", timeout),
		zap.Int("exit_code", ExitDBNotReady), zap.String("step", "wait-db"))
	return false
}
