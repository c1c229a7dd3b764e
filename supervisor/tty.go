package supervisor

import (
	"os/signal"
	"runtime"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/signals"
)

// followTerminal runs once the child holds the terminal's foreground.
// lastcall, now in the background, ignores SIGTTOU and SIGTTIN: the
// terminal sends them to lastcall's group only for lastcall's own writes
// and terminal calls, and with `stty tostop` a caught SIGTTOU would make
// every log line restart forever. The child was started before this, so
// it does not inherit the ignore.
func (s *supervisor) followTerminal() {
	s.tty = true
	signal.Ignore(syscall.SIGTTOU, syscall.SIGTTIN)
}

// childStopped follows the child into a job-control stop (Ctrl-Z, a read
// from the terminal in the background): lastcall takes the terminal back
// and stops itself, so that the shell sees its job stopped and takes the
// terminal. When the shell continues lastcall (fg or bg), lastcall hands
// the foreground back to the child if it has it, and continues the child.
// As PID 1 there is no shell to stop for: lastcall says so and waits.
func (s *supervisor) childStopped(sig syscall.Signal) {
	if s.pid1 {
		s.log.Info("child stopped; as PID 1 lastcall cannot stop with it: send SIGCONT to resume",
			zap.String("signal", signals.Name(sig)), zap.Int("child_pid", s.childPid), zap.String("step", "stop"))
		return
	}
	s.log.Debug("child stopped, stopping too", zap.String("signal", signals.Name(sig)), zap.String("step", "stop"))
	setForeground(unix.Getpgrp())
	stopSelf()
	if ownsForeground(0) {
		setForeground(s.childPid)
	}
	_ = unix.Kill(-s.childPid, syscall.SIGCONT)
	s.log.Debug("continued", zap.Int("child_pid", s.childPid), zap.String("step", "stop"))
}

// restoreTerminal gives the foreground back to lastcall's own group when
// the child that held it has exited, so that whoever started lastcall gets
// the terminal back (a shell script reading from it, for one).
func (s *supervisor) restoreTerminal() {
	if !s.tty {
		return
	}
	if pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil && pgrp == s.childPid {
		setForeground(unix.Getpgrp())
	}
}

// stopSelf stops lastcall and returns once it is continued. SIGSTOP goes
// to the calling thread itself, which therefore stops on its way out of
// the system call, before anything after it runs; the whole process stops
// with it.
func stopSelf() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = unix.Tgkill(unix.Getpid(), unix.Gettid(), syscall.SIGSTOP)
}

func setForeground(pgrp int) {
	_ = unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, pgrp)
}
