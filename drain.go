package main

import (
	"context"
	"errors"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/lastcall-dev/lastcall/healthcheck"
	"github.com/lastcall-dev/lastcall/supervisor"
)

// drainCheck ties the Postgres drain check to the supervisor's hooks and
// logs its report.
type drainCheck struct {
	d       *healthcheck.Drain
	log     *zap.Logger
	strict  bool
	timeout time.Duration // --db-timeout
}

// setupDrain prepares the drain check before the child starts: it tags the
// child's environment (PGAPPNAME) and returns it, drops the PG* variables
// that would make lib/pq fail from lastcall's own environment, and sets
// the hooks in cfg. A check that cannot run (PQGO_DEBUG set, a URL lib/pq
// rejects) is logged and skipped: the app runs all the same.
func setupDrain(db dbSettings, cfg *supervisor.Config, timeout time.Duration, logger *zap.Logger) *drainCheck {
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	if err := healthcheck.CheckPQGODebug(env); err != nil {
		logger.Warn("drain check off: PQGO_DEBUG=1 would print the database password", zap.String("step", "drain"))
		return nil
	}
	tag, injected := "", false
	if db.tag {
		env, injected = healthcheck.TagEnv(env, healthcheck.NewTag())
	}
	for _, kv := range env {
		if len(kv) > len("PGAPPNAME=") && kv[:len("PGAPPNAME=")] == "PGAPPNAME=" {
			tag = kv[len("PGAPPNAME="):]
		}
	}
	cfg.Env = env // before the PG* variables below leave lastcall's own
	for _, name := range healthcheck.UnsupportedPGEnv(env) {
		_ = os.Unsetenv(name)
		logger.Info("dropped from lastcall's own environment (lib/pq refuses it); the app keeps it",
			zap.String("variable", name), zap.String("step", "drain"))
	}
	d, err := healthcheck.NewDrain(healthcheck.DrainConfig{
		DSN: db.url, Mode: db.check, Tag: tag, TagInjected: injected,
		Timeout: timeout, Tree: treeSockets, ShowQuery: db.showQuery,
	})
	if err != nil {
		logger.Warn("drain check off", zap.Error(err), zap.String("step", "drain"))
		return nil
	}
	cfg.OnStop = d.StopBegan
	cfg.OnChildExit = func(alive []supervisor.Process) { d.ChildExited(withSockets(alive)) }
	return &drainCheck{d: d, log: logger, strict: db.strict, timeout: db.timeout}
}

// treeSockets is the local view's input: lastcall's descendants and the
// sockets each holds.
func treeSockets() []healthcheck.ProcSockets {
	return withSockets(supervisor.Descendants())
}

func withSockets(procs []supervisor.Process) []healthcheck.ProcSockets {
	out := make([]healthcheck.ProcSockets, 0, len(procs))
	for _, p := range procs {
		inodes, err := healthcheck.SocketInodes(p.PID)
		if err != nil {
			continue // gone since the scan
		}
		out = append(out, healthcheck.ProcSockets{PID: p.PID, Cmd: p.Cmd, Inodes: inodes})
	}
	return out
}

// verdict waits for the check's verdict, now that the tree is down, logs it
// and returns lastcall's exit code: code, or exitLeaked in strict mode
// when the app exited 0 and left something behind.
func (c *drainCheck) verdict(ctx context.Context, code int) int {
	if c == nil {
		return code
	}
	// --db-timeout bounds the wait from now, the tree being down; the
	// check's own hard deadline (the stop budget) bounds it too.
	vctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	r := c.d.Verdict(vctx)
	c.d.Close()
	logReport(c.log, r)
	if c.strict && code == 0 && r.Verdict == healthcheck.Leaked {
		return exitLeaked
	}
	return code
}

// waitForDB runs --wait-db before the child starts. It returns false when
// the database did not become ready (the error is logged).
func waitForDB(ctx context.Context, db dbSettings, logger *zap.Logger) bool {
	if db.waitDB <= 0 {
		return true
	}
	logf := func(format string, args ...any) {
		logger.Sugar().Debugf(format, args...)
	}
	err := healthcheck.WaitReady(ctx, db.url, db.waitDB, logf)
	if err == nil {
		return true
	}
	var we *healthcheck.WaitError
	timeout := errors.As(err, &we) && we.Timeout
	logger.Error("database not ready; the app was not started", zap.Error(err), zap.Bool("timeout", timeout),
		zap.Int("exit_code", exitDBNotReady), zap.String("step", "wait-db"))
	return false
}
