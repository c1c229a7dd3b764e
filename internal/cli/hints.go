package cli

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/lastcall-dev/lastcall/signals"
)

// shells are the programs that, as PID 1 of a container, run lastcall
// without forwarding the platform's stop signal to it.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "ash": true, "zsh": true, "ksh": true, "busybox": true}

// warnShellPID1 warns, once at start, when lastcall's parent is a shell
// that is PID 1 (`sh -c 'lastcall -- app; echo done'` as a container's
// command): a shell does not forward SIGTERM to its children, so the
// platform's stop never reaches lastcall, and its SIGKILL ends everything
// with nothing logged. procRoot is /proc (tests give another).
func warnShellPID1(procRoot string, logger *zap.Logger) {
	if os.Getpid() == 1 || os.Getppid() != 1 {
		return
	}
	comm, err := os.ReadFile(filepath.Join(procRoot, "1", "comm"))
	if err != nil || !shells[strings.TrimSpace(string(comm))] {
		return
	}
	logger.Warn("lastcall's parent is a shell running as PID 1: it will not pass the platform's stop signal on, "+
		"and the app will be killed without a stop; start lastcall with exec (sh -c 'exec lastcall -- app') "+
		"or make it the ENTRYPOINT", zap.String("pid1", strings.TrimSpace(string(comm))), zap.String("step", "start"))
}

// gracefulTimeout is how long the child's server takes for a graceful
// stop when its command line or environment says so: gunicorn's
// --graceful-timeout (also in GUNICORN_CMD_ARGS; 30s when not given),
// uvicorn's --timeout-graceful-shutdown. ok is false for other commands.
func gracefulTimeout(args []string, getenv func(string) string) (d time.Duration, flag string, ok bool) {
	if len(args) == 0 {
		return 0, "", false
	}
	all := args[1:]
	switch filepath.Base(args[0]) {
	case "gunicorn":
		flag, d = "--graceful-timeout", 30*time.Second
		all = append(strings.Fields(getenv("GUNICORN_CMD_ARGS")), all...)
	case "uvicorn":
		flag = "--timeout-graceful-shutdown"
	default:
		return 0, "", false
	}
	for i, a := range all {
		v, isFlag := strings.CutPrefix(a, flag+"=")
		if a == flag && i+1 < len(all) {
			v, isFlag = all[i+1], true
		}
		if isFlag {
			if n, err := time.ParseDuration(v + "s"); err == nil {
				d = n
			}
		}
	}
	return d, flag, d > 0
}

// warnShortGrace warns at start when the child's own graceful stop is
// longer than the grace the plan gives it: the platform's budget, or
// --grace, cuts it short.
func warnShortGrace(s Settings, plan signals.StopPlan, getenv func(string) string, logger *zap.Logger) {
	d, flag, ok := gracefulTimeout(s.Config.Args, getenv)
	if !ok || len(plan.Steps) == 0 {
		return
	}
	grace := plan.KillAt - plan.Steps[0].At
	if d <= grace {
		return
	}
	logger.Warn("the app's graceful stop is longer than lastcall's grace: SIGKILL will cut it short; "+
		"give lastcall the platform's real budget (--stop-timeout) or shorten the app's", zap.String("app_flag", flag),
		zap.Duration("app_graceful", d), zap.Duration("grace", grace), zap.String("plan", plan.String()), zap.String("step", "plan"))
}
