package supervisor

import (
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// The postmasters' turn in the cleanup: after the other leftovers, with
// what is left of the budget.

// pendingPostmasters are the postmasters of c not yet killed or gone.
func (s *supervisor) pendingPostmasters(c *cleanup) []*postmaster {
	var out []*postmaster
	for _, pm := range c.pms {
		if !pm.done && !pm.killed {
			out = append(out, pm)
		}
	}
	return out
}

// othersGone runs once every leftover that is no postmaster's is gone or
// killed: the postmasters' turn, after Config.BeforePostgresStop.
func (s *supervisor) othersGone(c *cleanup) {
	c.othersLeft = false
	if s.cfg.BeforePostgresStop == nil || len(s.pendingPostmasters(c)) == 0 {
		s.stopPostmasters(c)
		return
	}
	c.hold = s.cfg.BeforePostgresStop()
	if c.hold == nil {
		s.stopPostmasters(c)
		return
	}
	until := s.postgresDeadline(c.origin).Add(-s.cfg.LeftoverGrace)
	c.holdTimer = time.NewTimer(time.Until(until))
	s.log.Info("the app is down; postgres is stopped after "+s.beforeStopName(), zap.Time("at_the_latest", until),
		zap.String("step", "postgres"))
}

// release ends the wait for BeforePostgresStop and stops the postmasters.
func (s *supervisor) release(c *cleanup, why string) {
	if c.hold == nil && c.holdTimer == nil {
		return
	}
	c.hold = nil
	if c.holdTimer != nil {
		c.holdTimer.Stop()
		c.holdTimer = nil
	}
	if why != "" {
		s.log.Warn("stopping postgres without waiting any longer", zap.String("why", why), zap.String("step", "postgres"))
	}
	s.stopPostmasters(c)
}

// stopPostmasters sends SIGINT (fast shutdown) to each postmaster alone,
// and SIGCONT in case it is stopped, and arms their deadline.
func (s *supervisor) stopPostmasters(c *cleanup) {
	c.othersLeft = false
	c.pgDeadline = s.postgresDeadline(c.origin)
	c.pgKill = time.NewTimer(time.Until(c.pgDeadline))
	for _, pm := range s.pendingPostmasters(c) {
		err := signalProc(procfs.Stat{PID: pm.PID, Start: pm.start}, syscall.SIGINT)
		if err == nil {
			_ = signalProc(procfs.Stat{PID: pm.PID, Start: pm.start}, syscall.SIGCONT)
		}
		if pm.stopSent.IsZero() {
			pm.stopSent = time.Now()
		}
		fields := []zap.Field{zap.Int("pid", pm.PID), zap.String("data_dir", pm.DataDir),
			zap.String("signal", "SIGINT"), zap.Time("kill_at", c.pgDeadline),
			zap.Duration("budget_left", time.Until(c.pgDeadline).Round(time.Millisecond)), zap.String("step", "postgres")}
		if err != nil {
			s.log.Warn("stopping postgres: fast shutdown failed", append(fields, zap.Error(err))...)
			continue
		}
		s.log.Info("stopping postgres: fast shutdown", fields...)
	}
}

// killPostmasters sends SIGKILL to every postmaster still running and to
// its processes, when their share of the budget is over.
func (s *supervisor) killPostmasters(c *cleanup) {
	pending := s.pendingPostmasters(c)
	tree := s.descendants()
	var victims []procfs.Stat
	for _, pm := range pending {
		pm.killed = true
		victims = append(victims, procfs.Stat{PID: pm.PID, Start: pm.start, Comm: "postgres"})
		victims = append(victims, procfs.DescendantsOf(pm.PID, tree)...)
	}
	s.signalEach(victims, syscall.SIGKILL)
	if len(pending) > 0 {
		s.log.Warn("postgres did not shut down within the budget, killed", zap.Strings("postgres", namedPostmasters(pending)),
			zap.Int("processes", len(victims)), zap.Strings("killed", named(victims)), zap.String("signal", "SIGKILL"),
			zap.Duration("elapsed", time.Since(c.began)), zap.String("step", "postgres"))
	}
	c.killed = true  // logged here: killOthers need not name them again
	c.killing = true // from now on, everything left is killed, again and again
	c.tick.Reset(0)
}
