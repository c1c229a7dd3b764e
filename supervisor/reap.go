package supervisor

import (
	"errors"
	"syscall"
	"time"

	"go.uber.org/zap"

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
