package supervisor

import (
	"errors"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/internal/procfs"
	"github.com/lastcall-dev/lastcall/signals"
)

// reapAll collects every child that has exited, until none is left to
// collect, and reports whether lastcall still has children. It is the only
// caller of wait4 in lastcall: nothing else may steal a status.
func (s *supervisor) reapAll() (hasChildren bool) {
	options := syscall.WNOHANG
	if s.tty && !s.exited {
		options |= syscall.WUNTRACED // job control: follow the child's stops
	}
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, options, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil: // ECHILD: no children at all
			return false
		case pid == 0:
			return true
		case ws.Stopped():
			if pid == s.childPid {
				s.childStopped(ws.StopSignal())
			}
		case pid == s.childPid:
			s.childExited(ws)
		default:
			// Check first: a burst of zombies must not pay for a line
			// that is not logged.
			if ce := s.log.Check(zap.DebugLevel, "reaped"); ce != nil {
				ce.Write(zap.Int("pid", pid), zap.Int("exit_code", signals.ExitCode(ws)))
			}
		}
	}
}

func (s *supervisor) childExited(ws syscall.WaitStatus) {
	s.exited = true
	s.res.ExitCode, s.res.Signaled = signals.ExitCode(ws), ws.Signaled()
	fields := []zap.Field{zap.Int("child_pid", s.childPid), zap.Int("exit_code", s.res.ExitCode),
		zap.Duration("elapsed", time.Since(s.started)), zap.String("step", "exit")}
	if ws.Signaled() {
		fields = append(fields, zap.String("signal", signals.Name(ws.Signal())))
	}
	level := zap.DebugLevel
	if !s.stopBegan.IsZero() || ws.Signaled() {
		level = zap.InfoLevel
	}
	if !s.stopBegan.IsZero() {
		fields = append(fields, zap.Duration("since_stop", time.Since(s.stopBegan)))
	}
	s.log.Log(level, "child exited", fields...)
	if s.stepTimer != nil {
		s.stepTimer.Stop()
		s.stepTimer = nil
	}
}

// signalTree sends sigs, in order, to every process lastcall is
// responsible for and returns how many there were. It signals the fastest
// way first, so that a SIGKILL lands on time: as PID 1, kill(-1), which
// reaches everyone in the namespace but lastcall; otherwise the child's
// process group, then every other descendant found in /proc, read once.
// The count includes processes that die (and wait to be reaped) by the
// time /proc is read.
func (s *supervisor) signalTree(sigs ...syscall.Signal) int {
	for _, sig := range sigs {
		switch {
		case s.pid1:
			if err := unix.Kill(-1, sig); err != nil && !errors.Is(err, unix.ESRCH) {
				s.log.Warn("signal all processes", zap.String("signal", signals.Name(sig)), zap.Error(err))
			}
		case !s.exited:
			// The group id cannot be reused while its leader is not reaped.
			_ = unix.Kill(-s.childPid, sig)
		}
	}
	tree := s.descendants()
	for _, p := range tree {
		if s.pid1 || p.State == 'Z' || p.State == 'X' {
			continue
		}
		for _, sig := range sigs {
			if err := signalProc(p, sig); err != nil && !errors.Is(err, unix.ESRCH) {
				s.log.Warn("signal descendant", zap.Int("pid", p.PID), zap.String("signal", signals.Name(sig)), zap.Error(err))
			}
		}
	}
	return len(tree)
}

// descendants lists lastcall's descendants, zombies included.
func (s *supervisor) descendants() []procfs.Stat {
	if !s.ownProc {
		return nil
	}
	procs, err := procfs.List()
	if err != nil {
		s.log.Warn("read /proc", zap.Error(err))
		return nil
	}
	return procfs.DescendantsOf(unix.Getpid(), procs)
}

// cleanUp runs once the child has exited: descendants still alive get
// SIGTERM (and SIGCONT, in case they are stopped), then SIGKILL when the
// leftover grace is over, and every one is reaped before it returns.
func (s *supervisor) cleanUp() {
	if !s.reapAll() {
		return
	}
	if !s.pid1 && !s.ownProc {
		s.log.Warn("descendants left, but /proc belongs to another PID namespace: leaving them",
			zap.String("step", "leftovers"))
		return
	}
	began := time.Now()
	s.res.Leftovers = s.signalTree(syscall.SIGTERM, syscall.SIGCONT)
	s.log.Info("terminating leftovers", zap.Int("processes", s.res.Leftovers), zap.String("signal", "SIGTERM"),
		zap.Duration("leftover_grace", s.cfg.LeftoverGrace), zap.String("step", "leftovers"))
	deadline := time.NewTimer(s.cfg.LeftoverGrace)
	defer deadline.Stop()
	killed := false
	for s.reapAll() {
		select {
		case <-s.chld:
		case sig := <-s.sigs:
			if !s.stopSet[sig.(syscall.Signal)] {
				s.log.Debug("no child to forward to", zap.String("signal", signals.Name(sig.(syscall.Signal))))
				break
			}
			s.log.Info("stop signal during cleanup, killing leftovers now",
				zap.String("signal", signals.Name(sig.(syscall.Signal))), zap.String("step", "leftovers"))
			deadline.Reset(0)
		case <-deadline.C:
			n := s.signalTree(syscall.SIGKILL)
			if !killed {
				s.log.Warn("leftovers still alive, killed", zap.Int("processes", n), zap.String("signal", "SIGKILL"),
					zap.Duration("elapsed", time.Since(began)), zap.String("step", "leftovers"))
			}
			killed = true
			deadline.Reset(rekillInterval)
		}
	}
	s.log.Info("leftovers gone", zap.Int("processes", s.res.Leftovers), zap.Duration("elapsed", time.Since(began)),
		zap.String("step", "leftovers"))
}
