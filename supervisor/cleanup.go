package supervisor

import (
	"errors"
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
	deadline   time.Time  // the end of --leftover-grace: SIGKILL
	killing    bool       // the deadline has come: every round is a SIGKILL
	killed     bool       // the SIGKILL line was logged
	termed     *signalled // what the SIGTERM rounds have reached
	blind      bool       // the last round could not read /proc
	abandoned  bool       // what is left is out of lastcall's reach
	// hold, when not nil, is Config.BeforePostgresStop's channel: the
	// postmasters get SIGINT when it is closed, or when holdTimer fires.
	hold       <-chan struct{}
	holdTimer  *time.Timer
	tick       *time.Timer // the next round: SIGTERM to new leftovers, or SIGKILL
	pgKill     *time.Timer // the postmasters' deadline; nil until they get SIGINT
	pgDeadline time.Time
}

// maxKillRounds bounds the SIGKILL rounds that run back to back at the
// deadline, each finding what forked before the previous one's signals.
const maxKillRounds = 5

// cleanUp runs once the child has exited: descendants still alive get
// SIGTERM (and SIGCONT, in case they are stopped), and so do those found
// later, in a round every rekillInterval; at the end of the leftover grace
// every one gets SIGKILL, and every one is reaped before it returns.
// Postmasters among them, and their processes, are spared that: once the
// others are gone, each postmaster alone gets SIGINT (fast shutdown), and
// SIGKILL only at the end of the budget. Without a readable /proc only the
// child's process group can be reached (everyone, as PID 1): what is left
// outside it once that group is empty is left, with a warning.
func (s *supervisor) cleanUp() {
	defer s.postmastersGone()
	if !s.reapAll() {
		return
	}
	c := &cleanup{began: time.Now(), origin: s.stopBegan, termed: newSignalled()}
	if c.origin.IsZero() {
		c.origin = c.began
	}
	c.deadline = c.began.Add(s.cfg.LeftoverGrace)
	first := &procScan{}
	first.procs, first.tree, first.ok = s.scan()
	if s.cfg.PostgresStop {
		c.pms = s.findPostmasters(first.tree)
	}
	others := s.terminateScanned(c, first)
	s.res.Leftovers = len(others) + len(c.pms)
	s.logTerminating(c, others)
	c.tick = time.NewTimer(min(rekillInterval, s.cfg.LeftoverGrace))
	defer c.tick.Stop()
	c.othersLeft = len(c.pms) > 0
	for s.reapAll() && !s.outOfReach(c) {
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
		case <-c.tick.C:
			s.nextRound(c)
		case <-timerC(c.pgKill):
			s.killPostmasters(c)
		}
	}
	for _, t := range []*time.Timer{c.pgKill, c.holdTimer} {
		if t != nil {
			t.Stop()
		}
	}
	if !c.abandoned {
		s.log.Info("leftovers gone", zap.Int("processes", s.res.Leftovers), zap.Duration("elapsed", time.Since(c.began)),
			zap.String("step", "leftovers"))
	}
}

// terminate sends SIGTERM and SIGCONT to every leftover the earlier rounds
// have not reached, but the postmasters, and returns them.
func (s *supervisor) terminate(c *cleanup) []procfs.Stat {
	return s.terminateScanned(c, nil)
}

// terminateScanned is terminate on the scan pre, or on a new one when pre
// is nil.
func (s *supervisor) terminateScanned(c *cleanup, pre *procScan) []procfs.Stat {
	found, ok := s.sweepScanned(pre, s.pendingPostmasters(c), c.termed, syscall.SIGTERM, syscall.SIGCONT)
	c.blind = !ok
	return found
}

func (s *supervisor) logTerminating(c *cleanup, others []procfs.Stat) {
	msg := "terminating leftovers"
	fields := []zap.Field{zap.Int("processes", s.res.Leftovers), zap.Strings("leftovers", named(others)),
		zap.String("signal", "SIGTERM"), zap.Duration("leftover_grace", s.cfg.LeftoverGrace), zap.String("step", "leftovers")}
	if c.blind && !s.pid1 {
		msg = "terminating leftovers in the child's process group"
		fields = append(fields[2:], zap.Int("pgid", s.childPid))
	}
	if len(c.pms) > 0 {
		fields = append(fields, zap.Strings("postgres", namedPostmasters(c.pms)))
	}
	s.log.Info(msg, fields...)
}

// nextRound runs every rekillInterval: before the deadline, SIGTERM to the
// leftovers forked since the last round (a loop that forks and exits gets
// it in every generation); from the deadline on, SIGKILL to all of them.
func (s *supervisor) nextRound(c *cleanup) {
	if c.killing || !time.Now().Before(c.deadline) {
		s.killOthers(c)
		return
	}
	if found := s.terminate(c); len(found) > 0 {
		s.log.Debug("terminating leftovers found since", zap.Strings("leftovers", named(found)),
			zap.String("signal", "SIGTERM"), zap.String("step", "leftovers"))
	}
	c.tick.Reset(min(rekillInterval, time.Until(c.deadline)))
}

// outOfReach reports whether what lastcall can still reach without /proc
// is gone: the child's process group is empty, and /proc is missing for
// good or the deadline's SIGKILL went out. The rest, in sessions of their
// own, lastcall can neither find nor signal: it says so and leaves them.
func (s *supervisor) outOfReach(c *cleanup) bool {
	if s.pid1 || !c.blind || (s.ownProc && !c.killing) || s.childGroupAlive() {
		return false
	}
	why := s.procErr
	if why == nil {
		why = errors.New("/proc could not be read")
	}
	s.log.Warn("descendants left outside the child's process group, which lastcall cannot find: leaving them",
		zap.NamedError("why", why), zap.Duration("elapsed", time.Since(c.began)), zap.String("step", "leftovers"))
	c.abandoned = true
	return true
}

// othersAlive reports whether a leftover that is no postmaster's is alive
// (or might be: /proc cannot be read).
func (s *supervisor) othersAlive(c *cleanup) bool {
	_, tree, ok := s.scan()
	if !ok {
		return true
	}
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
	c.deadline = time.Now()
	c.tick.Reset(0)
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
// the leftover grace is over, in rounds back to back until one finds
// nothing new (and again every rekillInterval, for whatever forked
// meanwhile); then the postmasters' turn comes.
func (s *supervisor) killOthers(c *cleanup) {
	c.killing = true
	var killed []procfs.Stat
	reached := make(map[pidKey]bool)
	for range maxKillRounds {
		found, ok := s.sweep(s.pendingPostmasters(c), nil, syscall.SIGKILL)
		c.blind = !ok
		fresh := false
		for _, p := range found {
			if k := (pidKey{p.PID, p.Start}); !reached[k] {
				reached[k] = true
				killed = append(killed, p)
				fresh = fresh || p.State != 'Z'
			}
		}
		if !fresh {
			break
		}
	}
	if !c.killed && len(killed) > 0 {
		s.log.Warn("leftovers still alive, killed", zap.Int("processes", len(killed)), zap.Strings("killed", named(killed)),
			zap.String("signal", "SIGKILL"), zap.Duration("elapsed", time.Since(c.began)), zap.String("step", "leftovers"))
		c.killed = true
	}
	if c.othersLeft {
		s.othersGone(c)
	}
	c.tick.Reset(rekillInterval)
}
