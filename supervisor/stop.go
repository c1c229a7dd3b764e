package supervisor

import (
	"slices"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/signals"
)

// stopSignal handles one of Config.StopSignals, or the context being done.
// The first begins the stop plan. A later one escalates at once when
// SecondStopKills is set; otherwise it ends a pre-stop delay still running,
// or is forwarded again. It never moves the deadline.
func (s *supervisor) stopSignal(sig syscall.Signal) {
	name := signals.Name(sig)
	if s.stopBegan.IsZero() {
		s.stopBegan, s.stopSig = time.Now(), sig
		s.res.Stopped = true
		if s.cfg.OnStop != nil {
			s.cfg.OnStop()
		}
		// A first step that is due at once reaches the child before
		// lastcall logs anything: the lines cost far more than kill(2).
		plan := s.cfg.Plan
		var sent syscall.Signal
		var err error
		if plan.Steps[0].At <= 0 {
			sent = s.stepSignal(plan.Steps[0])
			err = s.sendStop(sent)
			s.nextStep = 1
		}
		fields := []zap.Field{zap.String("signal", name), zap.Int("child_pid", s.childPid),
			zap.String("plan", plan.String()), zap.Duration("grace", plan.KillAt-plan.Steps[0].At),
			zap.Duration("budget", s.cfg.Budget), zap.String("budget_from", s.cfg.BudgetFrom),
			zap.String("platform", s.cfg.Platform), zap.Time("kill_at", s.stopBegan.Add(plan.KillAt)),
			zap.String("step", "stop")}
		if pg := s.postgresPlan(); pg != "" {
			fields = append(fields, zap.String("postgres", pg))
		}
		s.log.Info("stop signal received", fields...)
		if s.nextStep == 1 {
			s.logForward(sent, err)
		}
		s.runPlan()
		return
	}
	s.log.Info("stop signal received again", zap.String("signal", name),
		zap.Duration("elapsed", time.Since(s.stopBegan)), zap.String("step", "stop"))
	switch {
	case s.cfg.SecondStopKills:
		s.escalate("second stop signal")
	case s.nextStep == 0:
		s.log.Info("pre-stop delay cut short", zap.Duration("elapsed", time.Since(s.stopBegan)), zap.String("step", "stop"))
		s.sendStep(s.cfg.Plan.Steps[0])
		s.nextStep = 1
		s.armPlan()
	default:
		again := s.stopSignalFor(sig)
		s.logForward(again, s.sendStop(again))
	}
}

// runPlan sends every step of the plan that is due, then arms the timer for
// the next step, or escalates when the plan's KillAt has come.
func (s *supervisor) runPlan() {
	s.stepTimer = nil
	elapsed := time.Since(s.stopBegan)
	if s.nextStep == 0 && s.cfg.Plan.Steps[0].At > 0 && elapsed >= s.cfg.Plan.Steps[0].At {
		s.log.Info("pre-stop delay over", zap.Duration("elapsed", elapsed), zap.String("step", "stop"))
	}
	for s.nextStep < len(s.cfg.Plan.Steps) && s.cfg.Plan.Steps[s.nextStep].At <= elapsed {
		s.sendStep(s.cfg.Plan.Steps[s.nextStep])
		s.nextStep++
	}
	if s.nextStep == len(s.cfg.Plan.Steps) && s.cfg.Plan.KillAt <= elapsed {
		s.escalate("grace period over")
		return
	}
	s.armPlan()
}

// armPlan sets the timer for the plan's next step, or for its KillAt.
func (s *supervisor) armPlan() {
	next := s.cfg.Plan.KillAt
	if s.nextStep < len(s.cfg.Plan.Steps) {
		next = s.cfg.Plan.Steps[s.nextStep].At
	}
	s.stepTimer = time.NewTimer(time.Until(s.stopBegan.Add(next)))
}

// sendStep sends one step of the plan.
func (s *supervisor) sendStep(step signals.StopStep) {
	sig := s.stepSignal(step)
	s.logForward(sig, s.sendStop(sig))
}

// sendStop sends a signal of the stop plan, then SIGCONT to the same
// target, as kill(1) does for a stopped job and systemd for every unit: a
// child stopped by SIGSTOP or Ctrl-Z would otherwise keep the signal
// pending, its handler unrun, until the SIGKILL. SIGCONT follows, so that
// the stop signal is pending when the child runs again. A step that
// stops the child itself (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) gets none.
func (s *supervisor) sendStop(sig syscall.Signal) error {
	err := s.send(sig)
	switch sig {
	case 0, syscall.SIGKILL, syscall.SIGCONT, syscall.SIGSTOP, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
		return err
	}
	if err == nil {
		_ = s.send(syscall.SIGCONT)
	}
	return err
}

// stepSignal is the signal a step of the plan sends: its own, or, for 0,
// the stop signal received, after the rewrite table (SIGINT for SIGTERM
// when the child is a postmaster: see stopSignalFor).
func (s *supervisor) stepSignal(step signals.StopStep) syscall.Signal {
	if step.Signal != 0 {
		return step.Signal
	}
	return s.stopSignalFor(s.stopSig)
}

// forward sends sig to the child or its process group and logs it. Signal
// 0 is one the rewrite table drops.
func (s *supervisor) forward(sig syscall.Signal) {
	s.logForward(sig, s.send(sig))
}

// send sends sig, unless it is 0, to the child or its process group; a
// postmaster child alone gets it, since it stops its own processes.
func (s *supervisor) send(sig syscall.Signal) error {
	switch {
	case sig == 0:
		return nil
	case s.childIsPostmaster():
		s.postmasterSent(sig)
		return unix.Kill(s.childPid, sig)
	case s.cfg.ForwardToGroup:
		return unix.Kill(-s.childPid, sig)
	default:
		return unix.Kill(s.childPid, sig)
	}
}

// logForward logs what send did: at debug level, or at info level (warn
// for a failure) once a stop has begun. Below the logger's level it costs
// no allocation: a storm forwards on every wake-up.
func (s *supervisor) logForward(sig syscall.Signal, err error) {
	level, msg := zap.DebugLevel, "forwarded"
	if !s.stopBegan.IsZero() {
		level = zap.InfoLevel
	}
	switch {
	case sig == 0:
		msg = "signal dropped by rewrite"
	case err != nil:
		msg = "forward failed"
		if level == zap.InfoLevel {
			level = zap.WarnLevel // a stop signal that reached nobody must show
		}
	}
	ce := s.log.Check(level, msg)
	switch {
	case ce == nil:
	case sig == 0:
		ce.Write(zap.String("step", "forward"))
	case err != nil:
		ce.Write(zap.String("signal", signals.Name(sig)), zap.Error(err), zap.String("step", "forward"))
	default:
		ce.Write(zap.String("signal", signals.Name(sig)), zap.Int("child_pid", s.childPid),
			zap.Bool("group", s.cfg.ForwardToGroup), zap.String("step", "forward"))
	}
}

// escalate sends SIGKILL to the whole tree, but for the postmasters that
// are not the child (and their processes): they are stopped once the child
// is gone, with what is left of the budget. A second stop signal with
// SecondStopKills spares nothing.
func (s *supervisor) escalate(why string) {
	if s.stepTimer != nil {
		s.stepTimer.Stop()
		s.stepTimer = nil
	}
	s.nextStep = len(s.cfg.Plan.Steps)
	var spare []*postmaster
	for _, pm := range s.pms {
		if !pm.child && !pm.done && !s.cfg.SecondStopKills {
			spare = append(spare, pm)
		}
	}
	killed, _ := s.sweep(spare, nil, syscall.SIGKILL)
	for _, pm := range s.pms {
		if !pm.done && !slices.Contains(spare, pm) {
			pm.killed = true
		}
	}
	fields := []zap.Field{zap.String("signal", "SIGKILL"), zap.Int("child_pid", s.childPid),
		zap.Int("processes", len(killed)), zap.Strings("killed", named(killed)),
		zap.Duration("elapsed", time.Since(s.stopBegan)), zap.String("step", "escalate")}
	if len(spare) > 0 {
		fields = append(fields, zap.Strings("postgres_spared", namedPostmasters(spare)))
	}
	s.log.Warn(why+", escalated to SIGKILL", fields...)
}
