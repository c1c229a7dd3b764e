package cli

import (
	"os"
	"time"

	"github.com/lastcall-dev/lastcall/signals"
)

// cleanupMargin is the time lastcall keeps after its own SIGKILL, beyond
// --leftover-grace, to reap the tree and exit before the platform's SIGKILL.
const cleanupMargin = time.Second

// stopPlan makes the stop plan from the settings and the platform, which is
// detected from the environment; --stop-timeout, when given, is the budget.
// It also says where the budget came from. A plan that cannot fit the
// budget comes with a warning to log.
func stopPlan(s Settings, getenv func(string) string) (signals.StopPlan, signals.Platform, string, error) {
	_, err := os.Stat("/.dockerenv")
	platform := signals.DetectPlatform(getenv, err == nil)
	budgetFrom := "platform default"
	if s.StopTimeout > 0 {
		platform.StopTimeout, budgetFrom = s.StopTimeout, s.StopTimeoutFrom
	}
	in := s.Stop
	in.Budget = platform.StopTimeout
	in.Reserve = s.Config.LeftoverGrace + cleanupMargin + s.DB.Reserve()
	plan, err := signals.PlanStop(in)
	return plan, platform, budgetFrom, err
}
