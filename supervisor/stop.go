package supervisor

import (
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
		plan := s.cfg.Plan
		s.log.Info("stop signal received", zap.String("signal", name), zap.Int("child_pid", s.childPid),
			zap.String("plan", plan.String()), zap.Duration("grace", plan.KillAt-plan.Steps[0].At),
			zap.Duration("budget", s.cfg.Budget), zap.String("budget_from", s.cfg.BudgetFrom),
			zap.String("platform", s.cfg.Platform), zap.Time("kill_at", s.stopBegan.Add(plan.KillAt)),
			zap.String("step", "stop"))
		if s.cfg.OnStop != nil {
			s.cfg.OnStop()
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
		s.forward(s.cfg.Rewrite.Apply(sig))
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

// sendStep sends one step of the plan: its own signal, or, for 0, the stop
// signal received, after the rewrite table.
func (s *supervisor) sendStep(step signals.StopStep) {
	sig := step.Signal
	if sig == 0 {
		sig = s.cfg.Rewrite.Apply(s.stopSig)
	}
	s.forward(sig)
}

// forward sends sig to the child or its process group. Signal 0 is one the
// rewrite table drops.
func (s *supervisor) forward(sig syscall.Signal) {
	level := zap.DebugLevel
	if !s.stopBegan.IsZero() {
		level = zap.InfoLevel
	}
	if sig == 0 {
		s.log.Log(level, "signal dropped by rewrite", zap.String("step", "forward"))
		return
	}
	var err error
	if s.cfg.ForwardToGroup {
		err = unix.Kill(-s.childPid, sig)
	} else {
		err = unix.Kill(s.childPid, sig)
	}
	if err != nil {
		if level == zap.InfoLevel {
			level = zap.WarnLevel // a stop signal that reached nobody must show
		}
		s.log.Log(level, "forward failed", zap.String("signal", signals.Name(sig)), zap.Error(err),
			zap.String("step", "forward"))
		return
	}
	s.log.Log(level, "forwarded", zap.String("signal", signals.Name(sig)), zap.Int("child_pid", s.childPid),
		zap.Bool("group", s.cfg.ForwardToGroup), zap.String("step", "forward"))
}

// escalate sends SIGKILL to the whole tree.
func (s *supervisor) escalate(why string) {
	if s.stepTimer != nil {
		s.stepTimer.Stop()
		s.stepTimer = nil
	}
	s.nextStep = len(s.cfg.Plan.Steps)
	n := s.signalTree(syscall.SIGKILL)
	s.log.Warn(why+", escalated to SIGKILL", zap.String("signal", "SIGKILL"),
		zap.Int("child_pid", s.childPid), zap.Int("processes", n),
		zap.Duration("elapsed", time.Since(s.stopBegan)), zap.String("step", "escalate"))
}
