package healthcheck

import (
	"maps"
	"slices"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/sockview"
)

// watchState is what the watcher has seen so far, guarded by Drain.mu.
type watchState struct {
	last     drainSample // the latest sample
	lastOK   drainSample // the latest sample the server answered
	seen     int         // our sessions in the first answer before the exit; -1: none
	answered bool        // the server answered at least once
	check    *pgconn.SelfCheckResult
	lastErr  error        // the latest server error
	final    *drainSample // the latest sample begun after the tree was down
	finalOK  *drainSample // the latest such sample the server answered

	ends      map[sessionKey]clientEnd // who holds our sessions' client ends
	idleSince map[sessionKey]time.Time // since when a session has been idle, after the tree was down
	poolerEps []sockview.Endpoint      // where the processes outside the tree that hold our sessions listen
	ended     []endedTx                // sessions that ended in a transaction that had written
	pending   int                      // of those, how many the server has not been asked about
	cost      samplingCost
}

// record keeps s and what the watcher has followed, and reports whether
// nothing of ours is left in it (or nothing more can be learnt: the server
// view was given up).
func (d *Drain) record(s drainSample, final bool, wr *watcher) (clean bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := &d.w
	w.last, w.check = s, wr.check
	if s.serverOK {
		w.lastOK = s
		if !w.answered && (d.exit == nil || s.at.Before(d.exit.at)) { // asked before the exit, recorded since
			w.seen = len(s.sessions)
		}
		w.answered = true
	} else if s.serverErr != nil {
		w.lastErr = s.serverErr
	}
	if final {
		w.final = &s
		if s.serverOK {
			w.finalOK = &s
		}
	}
	d.followLocked(s, wr)
	return d.cleanLocked(s)
}

// followLocked copies what the watcher followed into the watch state.
func (d *Drain) followLocked(s drainSample, wr *watcher) {
	w := &d.w
	if wr.ends.changed {
		w.ends, wr.ends.changed = maps.Clone(wr.ends.ends), false
		w.poolerEps = slices.Clone(wr.ends.poolerEps)
	}
	w.idleSince = maps.Clone(wr.idle)
	w.ended = append(w.ended, wr.track.takeDone()...)
	w.pending = len(wr.track.pending)
	w.cost.Samples++
	w.cost.Total += s.took
	w.cost.Max = max(w.cost.Max, s.took)
	w.cost.ServerMax = max(w.cost.ServerMax, wr.serverAt)
}

// cleanLocked reports whether the watch can end once the tree is down: the
// local view holds nothing, and the server shows none of our sessions, or
// its view is advisory (the local view decides), or it was given up.
func (d *Drain) cleanLocked(s drainSample) bool {
	localClean := s.localErr == nil && len(s.holders) == 0
	if d.local && !localClean {
		return false
	}
	if !d.server {
		return true
	}
	_, rest := splitPooled(s.sessions, d.w.ends, d.w.idleSince, s.at)
	switch {
	case s.serverOK && len(rest) == 0:
		return true
	case s.serverOK && d.local && d.epsErr == nil && d.advisoryLocked():
		return true
	case s.serverErr != nil && !pgconn.Transient(s.serverErr):
		return true
	}
	return false
}

// advisoryLocked reports whether the server view cannot decide: the tag is
// the user's, or the self-check did not pass (a proxy, NAT, a unix socket).
func (d *Drain) advisoryLocked() bool {
	return !d.cfg.TagInjected || d.w.check == nil || !d.w.check.Direct
}
