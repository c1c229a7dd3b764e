package supervisor

import (
	"errors"
	"strconv"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/lastcall-dev/lastcall/internal/pgserver"
	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// maxNamed bounds the processes one log line names; the count is whole.
const maxNamed = 32

// postmaster is a PostgreSQL server of lastcall's tree, from the moment
// lastcall recognises it until it has exited and its pg_control is read.
type postmaster struct {
	pgserver.Postmaster
	start    uint64 // with the pid, who it is: a recycled pid is not it
	child    bool
	stopSent time.Time // when it got SIGINT; zero before
	killed   bool      // lastcall sent it SIGKILL
	done     bool      // exited, and its outcome recorded
}

// PostgresOutcome is how one PostgreSQL server (postmaster) of lastcall's
// tree ended, as its pg_control says once it has exited.
type PostgresOutcome struct {
	PID     int
	DataDir string // "" when it could not be found
	// Killed is true when lastcall had to send it SIGKILL.
	Killed bool
	// State is pg_control's cluster state in pg_controldata's words ("shut
	// down", "in production"); "" when pg_control could not be read.
	State string
	// Clean is true when pg_control says "shut down": the next start runs
	// no crash recovery.
	Clean bool
	// Err says why pg_control could not be read.
	Err error
}

// Unclean reports a server that lastcall killed, or whose pg_control says
// it was not shut down cleanly. An unread pg_control proves neither.
func (o PostgresOutcome) Unclean() bool { return o.Killed || (o.Err == nil && !o.Clean) }

// isPostgresComm reports whether a command name is the server's.
func isPostgresComm(comm string) bool { return comm == "postgres" || comm == "postmaster" }

// findPostmasters recognises the postmasters among the live processes of
// tree (a scan of lastcall's descendants), tracks the new ones, and
// returns every tracked one still running. Only a postgres process whose
// parent is no postgres process is looked at closely (pgserver.Identify):
// backends and the checkpointer cost nothing. A postgres process whose data
// directory cannot be read (no ptrace rights) is still a postmaster, with
// no pg_control to read.
func (s *supervisor) findPostmasters(tree []procfs.Stat) []*postmaster {
	comm := make(map[int]string, len(tree))
	for _, p := range tree {
		comm[p.PID] = p.Comm
	}
	for _, p := range tree {
		if p.State == 'Z' || p.State == 'X' || !isPostgresComm(p.Comm) || isPostgresComm(comm[p.PPID]) ||
			s.tracked(p) != nil {
			continue
		}
		pm, ok, err := pgserver.Identify(p.PID)
		if !ok && err == nil {
			continue
		}
		if err != nil {
			s.log.Warn("a postgres process whose data directory lastcall cannot read: stopped as a postmaster, state unknown",
				zap.Int("pid", p.PID), zap.Error(err), zap.String("step", "postgres"))
		}
		pm.PID = p.PID
		s.pms = append(s.pms, &postmaster{Postmaster: pm, start: p.Start, child: p.PID == s.childPid})
	}
	var live []*postmaster
	for _, pm := range s.pms {
		if !pm.done {
			live = append(live, pm)
		}
	}
	return live
}

// tracked is the postmaster p is, if lastcall tracks it.
func (s *supervisor) tracked(p procfs.Stat) *postmaster {
	for _, pm := range s.pms {
		if pm.PID == p.PID && pm.start == p.Start {
			return pm
		}
	}
	return nil
}

// childPostmaster is the child, when it is a postmaster that lastcall
// stops the way PostgreSQL wants; it is looked for once, when the first
// stop step is due (a child may exec postgres after a setup script).
func (s *supervisor) childPostmaster() *postmaster {
	if !s.cfg.PostgresStop || s.exited {
		return nil
	}
	if !s.childLooked {
		s.childLooked = true
		if st, err := procfs.ReadStat(s.childPid); err == nil {
			s.findPostmasters([]procfs.Stat{st})
		}
	}
	for _, pm := range s.pms {
		if pm.child && !pm.done {
			return pm
		}
	}
	return nil
}

// stopSignalFor is what the child gets for the stop signal sig (after the
// rewrite table): SIGINT, PostgreSQL's fast shutdown, instead of SIGTERM
// (its smart shutdown, which waits for every client) when the child is a
// postmaster, unless the user's own --rewrite names sig.
func (s *supervisor) stopSignalFor(sig syscall.Signal) syscall.Signal {
	to := s.cfg.Rewrite.Apply(sig)
	if _, rewritten := s.cfg.Rewrite[sig]; rewritten || to != syscall.SIGTERM {
		return to
	}
	if s.childPostmaster() != nil {
		return syscall.SIGINT
	}
	return to
}

// postmasterSent notes when a postmaster child got SIGINT, for its line.
func (s *supervisor) postmasterSent(sig syscall.Signal) {
	for _, pm := range s.pms {
		if pm.child && sig == syscall.SIGINT && pm.stopSent.IsZero() {
			pm.stopSent = time.Now()
		}
	}
}

// childIsPostmaster reports whether the child is a postmaster that lastcall
// has recognised; it looks nothing up.
func (s *supervisor) childIsPostmaster() bool {
	for _, pm := range s.pms {
		if pm.child && !pm.done {
			return true
		}
	}
	return false
}

// childGone records the child's exit when it was a postmaster.
func (s *supervisor) childGone() {
	for _, pm := range s.pms {
		if pm.child && !pm.done {
			s.postmasterGone(pm)
		}
	}
}

// postmasterReaped records a tracked postmaster's exit; reapAll calls it
// for every pid it reaps that is not the child's.
func (s *supervisor) postmasterReaped(pid int) {
	for _, pm := range s.pms {
		if pm.PID == pid && !pm.done {
			s.postmasterGone(pm)
		}
	}
}

// postmasterGone reads the pg_control of a postmaster that has exited and
// logs one line: the cluster's state, and whether the next start will run
// crash recovery. The outcome goes into the Result.
func (s *supervisor) postmasterGone(pm *postmaster) {
	pm.done = true
	out := PostgresOutcome{PID: pm.PID, DataDir: pm.DataDir, Killed: pm.killed}
	if pm.DataDir == "" {
		out.Err = errors.New("data directory unknown")
	} else if c, err := pgserver.ReadControl(pm.DataDir); err != nil {
		out.Err = err
	} else {
		out.State, out.Clean = c.State.String(), c.Clean()
	}
	s.res.Postgres = append(s.res.Postgres, out)
	fields := []zap.Field{zap.Int("pid", pm.PID), zap.String("data_dir", pm.DataDir),
		zap.String("postgres_state", out.State), zap.Bool("killed", out.Killed), zap.String("step", "postgres")}
	if !pm.stopSent.IsZero() {
		fields = append(fields, zap.Duration("since_sigint", time.Since(pm.stopSent)))
	}
	switch {
	case out.Err != nil:
		s.log.Warn("postgres exited; its state is unknown (cannot read pg_control)", append(fields, zap.Error(out.Err))...)
	case out.Clean && !out.Killed:
		s.log.Info("postgres shut down cleanly", fields...)
	case out.Clean:
		s.log.Warn("postgres killed after its shutdown checkpoint: the next start needs no recovery", fields...)
	default:
		s.log.Warn("postgres was not shut down cleanly: the next start will run crash recovery", fields...)
	}
}

// postmastersGone records every tracked postmaster not recorded yet: those
// that another process reaped.
func (s *supervisor) postmastersGone() {
	for _, pm := range s.pms {
		if !pm.done {
			s.postmasterGone(pm)
		}
	}
}

// spared is every pid of tree that belongs to a running postmaster lastcall
// stops in its own time: the postmaster and the processes below it.
func spared(tree []procfs.Stat, pms []*postmaster) map[int]bool {
	out := make(map[int]bool)
	for _, pm := range pms {
		if pm.done || pm.killed {
			continue
		}
		out[pm.PID] = true
		for _, p := range procfs.DescendantsOf(pm.PID, tree) {
			out[p.PID] = true
		}
	}
	return out
}

// named writes processes as "PID COMMAND", at most maxNamed of them.
func named(procs []procfs.Stat) []string {
	out := make([]string, 0, min(len(procs), maxNamed+1))
	for i, p := range procs {
		if i == maxNamed {
			out = append(out, "and "+strconv.Itoa(len(procs)-maxNamed)+" more")
			break
		}
		out = append(out, strconv.Itoa(p.PID)+" "+p.Comm)
	}
	return out
}

// namedPostmasters writes postmasters as "PID DATADIR".
func namedPostmasters(pms []*postmaster) []string {
	out := make([]string, 0, len(pms))
	for _, pm := range pms {
		out = append(out, strconv.Itoa(pm.PID)+" "+dataDirOf(pm))
	}
	return out
}
