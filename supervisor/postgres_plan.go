package supervisor

import (
	"fmt"
	"syscall"
	"time"

	"github.com/lastcall-dev/lastcall/signals"
)

// What the plan line says of PostgreSQL servers, and their deadline.

// postgresPlan says, for the plan line, how the postmasters of the tree
// will be stopped; "" when there are none.
func (s *supervisor) postgresPlan() string {
	if !s.cfg.PostgresStop || !s.ownProc {
		return ""
	}
	plan := ""
	for _, pm := range s.findPostmasters(s.descendants()) {
		if plan != "" {
			plan += "; "
		}
		if pm.child {
			plan += fmt.Sprintf("postmaster %d (%s) is the child: it gets %s", pm.PID, dataDirOf(pm), s.childGets())
			continue
		}
		after := ""
		if s.cfg.BeforePostgresStop != nil {
			after = " and " + s.beforeStopName() + " is in"
		}
		plan += fmt.Sprintf("postmaster %d (%s): SIGINT (fast shutdown) once the app has exited%s, SIGKILL at %v",
			pm.PID, dataDirOf(pm), after, s.postgresDeadline(s.stopBegan).Sub(s.stopBegan).Round(time.Millisecond))
	}
	return plan
}

// beforeStopName is what Config.BeforePostgresStop waits for, in words.
func (s *supervisor) beforeStopName() string {
	if s.cfg.BeforePostgresStopName != "" {
		return s.cfg.BeforePostgresStopName
	}
	return "BeforePostgresStop"
}

// childGets says what a postmaster child gets from the plan's first step.
func (s *supervisor) childGets() string {
	sig := s.stepSignal(s.cfg.Plan.Steps[0])
	switch {
	case s.cfg.Plan.Steps[0].Signal != 0:
		return signals.Name(sig) + " (--stop-sequence)"
	case sig == syscall.SIGINT && s.cfg.Rewrite.Apply(s.stopSig) == syscall.SIGTERM:
		return "SIGINT (fast shutdown) for SIGTERM"
	case sig == 0:
		return "nothing (--rewrite drops " + signals.Name(s.stopSig) + ")"
	}
	return signals.Name(sig)
}

func dataDirOf(pm *postmaster) string {
	if pm.DataDir == "" {
		return "data directory unknown"
	}
	return pm.DataDir
}

// postgresDeadline is when a leftover postmaster gets SIGKILL, for a stop
// that began at origin: the end of the budget, less what lastcall keeps to
// reap and exit; never sooner than --leftover-grace from now.
func (s *supervisor) postgresDeadline(origin time.Time) time.Time {
	floor := time.Now().Add(s.cfg.LeftoverGrace)
	if s.cfg.Budget <= 0 {
		return floor
	}
	if d := origin.Add(s.cfg.Budget - s.cfg.PostgresReserve); d.After(floor) {
		return d
	}
	return floor
}
