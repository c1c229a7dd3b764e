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
			if len(s.pms) > 0 {
				s.postmasterReaped(pid)
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
	s.childGone()
}

// signalTree sends sigs, in order, to every process lastcall is
// responsible for and returns them, as read from /proc once the signals
// are sent. It signals the fastest way first, so that a SIGKILL lands on
// time: as PID 1, kill(-1), which reaches everyone in the namespace but
// lastcall; otherwise the child's process group, then every other
// descendant found in /proc, read once. The list includes processes that
// die (and wait to be reaped) by the time /proc is read.
func (s *supervisor) signalTree(sigs ...syscall.Signal) []procfs.Stat {
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
	if !s.pid1 {
		s.signalEach(tree, sigs...)
	}
	return tree
}

// signalAllBut sends sigs, in order, to every live process of tree whose
// pid spare does not hold, one by one (never kill(-1) or a group: that
// would reach the spared), and returns those it signalled.
func (s *supervisor) signalAllBut(tree []procfs.Stat, spare map[int]bool, sigs ...syscall.Signal) []procfs.Stat {
	var targets []procfs.Stat
	for _, p := range tree {
		if !spare[p.PID] && p.State != 'Z' && p.State != 'X' {
			targets = append(targets, p)
		}
	}
	s.signalEach(targets, sigs...)
	return targets
}

// signalEach sends sigs to every live process of procs through a pidfd.
func (s *supervisor) signalEach(procs []procfs.Stat, sigs ...syscall.Signal) {
	for _, p := range procs {
		if p.State == 'Z' || p.State == 'X' {
			continue
		}
		for _, sig := range sigs {
			if err := signalProc(p, sig); err != nil && !errors.Is(err, unix.ESRCH) {
				s.log.Warn("signal descendant", zap.Int("pid", p.PID), zap.String("signal", signals.Name(sig)), zap.Error(err))
			}
		}
	}
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
