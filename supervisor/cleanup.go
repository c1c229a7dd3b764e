package supervisor

import (
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/lastcall-dev/lastcall/internal/procfs"
	"github.com/lastcall-dev/lastcall/signals"
)

// cleanup is the state of the wait for leftovers, once the child is gone.
type cleanup struct {
	began time.Time
	// origin is when the stop began, for the postmasters' share of the
	// budget: the stop signal's arrival, or the start of the cleanup when
	// the child exited by itself.
	origin time.Time
	pms    []*postmaster // the postmasters among the leftovers
	// othersLeft is true until every other leftover is gone or killed:
	// postmasters are stopped after the app, while they still serve it.
	othersLeft bool
	killed     bool // the other leftovers got SIGKILL
	// hold, when not nil, is Config.BeforePostgresStop's channel: the
	// postmasters get SIGINT when it is closed, or when holdTimer fires.
	hold       <-chan struct{}
	holdTimer  *time.Timer
	grace      *time.Timer // --leftover-grace, then the re-kill interval
	pgKill     *time.Timer // the postmasters' deadline; nil until they get SIGINT
	pgDeadline time.Time
}

// cleanUp runs once the child has exited: descendants still alive get
// SIGTERM (and SIGCONT, in case they are stopped), then SIGKILL when the
// leftover grace is over, and every one is reaped before it returns.
// Postmasters among them, and their processes, are spared that: once the
// others are gone, each postmaster alone gets SIGINT (fast shutdown), and
// SIGKILL only at the end of the budget.
func (s *supervisor) cleanUp() {
	defer s.postmastersGone()
	if !s.reapAll() {
		return
	}
	if !s.pid1 && !s.ownProc {
		s.log.Warn("descendants left, but /proc belongs to another PID namespace: leaving them",
			zap.String("step", "leftovers"))
		return
	}
	c := &cleanup{began: time.Now(), origin: s.stopBegan}
	if c.origin.IsZero() {
		c.origin = c.began
	}
	tree := s.descendants()
	if s.cfg.PostgresStop {
		c.pms = s.findPostmasters(tree)
	}
	var others []procfs.Stat
	if len(c.pms) == 0 {
		others = s.signalTree(syscall.SIGTERM, syscall.SIGCONT)
	} else {
		others = s.signalAllBut(tree, spared(tree, c.pms), syscall.SIGTERM, syscall.SIGCONT)
	}
	s.res.Leftovers = len(others) + len(c.pms)
	fields := []zap.Field{zap.Int("processes", s.res.Leftovers), zap.Strings("leftovers", named(others)),
		zap.String("signal", "SIGTERM"), zap.Duration("leftover_grace", s.cfg.LeftoverGrace), zap.String("step", "leftovers")}
	if len(c.pms) > 0 {
		fields = append(fields, zap.Strings("postgres", namedPostmasters(c.pms)))
	}
	s.log.Info("terminating leftovers", fields...)
	c.grace = time.NewTimer(s.cfg.LeftoverGrace)
	defer c.grace.Stop()
	c.othersLeft = len(c.pms) > 0
	for s.reapAll() {
		if c.othersLeft && !s.othersAlive(c) {
			s.othersGone(c)
		}
		select {
		case <-c.hold:
			s.release(c, "")
		case <-timerC(c.holdTimer):
			s.release(c, "waited for "+s.beforeStopName()+" until the postmasters' deadline less --leftover-grace")
		case <-s.chld:
		case sig := <-s.sigs:
			s.signalDuringCleanup(c, sig.(syscall.Signal))
		case <-c.grace.C:
			s.killOthers(c)
		case <-timerC(c.pgKill):
			s.killPostmasters(c)
		}
	}
	for _, t := range []*time.Timer{c.pgKill, c.holdTimer} {
		if t != nil {
			t.Stop()
		}
	}
	s.log.Info("leftovers gone", zap.Int("processes", s.res.Leftovers), zap.Duration("elapsed", time.Since(c.began)),
		zap.String("step", "leftovers"))
}

// othersAlive reports whether a leftover that is no postmaster's is alive.
func (s *supervisor) othersAlive(c *cleanup) bool {
	tree := s.descendants()
	spare := spared(tree, c.pms)
	for _, p := range tree {
		if !spare[p.PID] && p.State != 'Z' && p.State != 'X' {
			return true
		}
	}
	return false
}

// signalDuringCleanup handles a signal that arrives while leftovers are
// waited for. A stop signal kills the other leftovers at once; it starts
// the postmasters' budget if the stop had not begun, and with
// SecondStopKills a second one kills them too.
func (s *supervisor) signalDuringCleanup(c *cleanup, sig syscall.Signal) {
	if !s.stopSet[sig] {
		s.log.Debug("no child to forward to", zap.String("signal", signals.Name(sig)))
		return
	}
	s.log.Info("stop signal during cleanup, killing leftovers now",
		zap.String("signal", signals.Name(sig)), zap.String("step", "leftovers"))
	c.grace.Reset(0)
	second := !s.stopBegan.IsZero()
	if !second {
		s.stopBegan = time.Now()
		c.origin = s.stopBegan
	}
	if c.pgKill == nil {
		return
	}
	switch d := s.postgresDeadline(c.origin); {
	case second && s.cfg.SecondStopKills:
		c.pgKill.Reset(0)
	case d.Before(c.pgDeadline):
		c.pgDeadline = d
		c.pgKill.Reset(time.Until(d))
	}
}

// killOthers sends SIGKILL to every leftover that is no postmaster's, when
// the leftover grace is over (and again every rekillInterval, for those
// forked meanwhile); then the postmasters' turn comes.
func (s *supervisor) killOthers(c *cleanup) {
	var killed []procfs.Stat
	if spare := s.pendingPostmasters(c); len(spare) == 0 {
		killed = s.signalTree(syscall.SIGKILL)
	} else {
		tree := s.descendants()
		killed = s.signalAllBut(tree, spared(tree, spare), syscall.SIGKILL)
	}
	if !c.killed && len(killed) > 0 {
		s.log.Warn("leftovers still alive, killed", zap.Int("processes", len(killed)), zap.Strings("killed", named(killed)),
			zap.String("signal", "SIGKILL"), zap.Duration("elapsed", time.Since(c.began)), zap.String("step", "leftovers"))
		c.killed = true
	}
	if c.othersLeft {
		s.othersGone(c)
	}
	c.grace.Reset(rekillInterval)
}

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
	c.grace.Reset(0) // from now on, everything left is killed, again and again
}
