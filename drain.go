package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/lib/pq"

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

// prepareDBEnv runs before anything touches the database, when the drain
// check or --wait-db is on. It fixes the child's environment (cfg.Env) as
// lastcall found it, then drops the PG* variables that make lib/pq fail
// from lastcall's own environment, with a note: the app keeps them. It
// reports whether lastcall may connect at all: not with PQGO_DEBUG=1,
// which would make lib/pq print the password.
func prepareDBEnv(db dbSettings, cfg *supervisor.Config, logger *zap.Logger) bool {
	if db.check == "off" && db.waitDB <= 0 {
		return true
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	for _, name := range healthcheck.UnsupportedPGEnv(cfg.Env) {
		_ = os.Unsetenv(name)
		logger.Info("dropped from lastcall's own environment (lib/pq refuses it); the app keeps it",
			zap.String("variable", name), zap.String("step", "db"))
	}
	if healthcheck.CheckPQGODebug(cfg.Env) != nil {
		logger.Warn("no database check and no --wait-db: PQGO_DEBUG=1 would make lib/pq print the password",
			zap.String("step", "db"))
		return false
	}
	return true
}

// setupDrain prepares the drain check before the child starts: it tags the
// child's environment (PGAPPNAME) and sets the hooks in cfg. A check that
// cannot run (a URL lib/pq rejects) is logged and skipped: the app runs all
// the same.
func setupDrain(db dbSettings, cfg *supervisor.Config, timeout time.Duration, logger *zap.Logger) *drainCheck {
	env, tag, injected := tagEnv(db, cfg.Env, logger)
	mode := db.check
	if tag == "" && mode != "local" {
		logger.Warn("PGAPPNAME is set but empty: the server view cannot find the app's sessions; local view only",
			zap.String("step", "drain"))
		if mode == "server" {
			return nil
		}
		mode = "local"
	}
	d, err := healthcheck.NewDrain(healthcheck.DrainConfig{
		DSN: db.url, Mode: mode, Tag: tag, TagInjected: injected,
		Timeout: timeout, Tree: treeSockets, ShowQuery: db.showQuery,
	})
	if err != nil {
		logger.Warn("drain check off", zap.Error(err), zap.String("step", "drain"))
		return nil
	}
	cfg.Env = env
	cfg.OnStop = d.StopBegan
	cfg.OnChildExit = func(alive []supervisor.Process) { d.ChildExited(withSockets(alive)) }
	return &drainCheck{d: d, log: logger, strict: db.strict, timeout: db.timeout}
}

// tagEnv gives the child a per-instance PGAPPNAME and returns the tag its
// sessions will carry: the injected one, the user's own PGAPPNAME, or the
// application_name the app's URL names (which wins over PGAPPNAME). Only
// an injected tag is this instance's alone.
func tagEnv(db dbSettings, env []string, logger *zap.Logger) (newEnv []string, tag string, injected bool) {
	if name := urlAppName(db.url); name != "" {
		logger.Warn("the database URL sets application_name: the server view looks for it, and other instances may share it",
			zap.String("application_name", name), zap.String("step", "drain"))
		return env, name, false
	}
	if db.tag {
		env, injected = healthcheck.TagEnv(env, healthcheck.NewTag())
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PGAPPNAME="); ok {
			tag = v
		}
	}
	return env, tag, injected
}

// urlAppName is the application_name the URL itself names, if any (not
// the one lib/pq would take from PGAPPNAME).
func urlAppName(dsn string) string {
	cfg, err := pq.NewConfig(dsn)
	if err != nil || cfg.ApplicationName == os.Getenv("PGAPPNAME") {
		return ""
	}
	return cfg.ApplicationName
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
// and returns lastcall's exit code: code (already remapped), or exitLeaked
// in strict mode when lastcall would exit 0 and the app left something
// behind.
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
