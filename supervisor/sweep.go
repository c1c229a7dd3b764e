package supervisor

import (
	"errors"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/internal/procfs"
	"github.com/lastcall-dev/lastcall/signals"
)

// pidKey names one process for good: a pid and a start time never repeat
// together.
type pidKey struct {
	pid   int
	start uint64
}

// signalled is what the rounds of one signal (the leftovers' SIGTERM) have
// reached so far, so that every process gets it once, however many rounds
// find it.
type signalled struct {
	procs      map[pidKey]bool
	groups     map[int]bool
	all        bool // kill(-1) went out, as PID 1
	childGroup bool // kill(-child) went out, without /proc
}

func newSignalled() *signalled {
	return &signalled{procs: make(map[pidKey]bool), groups: make(map[int]bool)}
}

// sweep sends sigs, in order, to every process lastcall is responsible for
// but the postmasters of pms and their processes (and with seen, but those
// seen has reached), and
// returns the live ones it found, as /proc shows them once the signals are
// on their way; ok is false when /proc could not be read.
//
// It signals the fastest way first, so that a SIGKILL lands on time. As
// PID 1 with nothing spared: kill(-1), which reaches everyone in the
// namespace but lastcall. Otherwise every process group whose members are
// all such processes gets the signals as a group, and every other one
// through its pidfd: kill(2) on a group is atomic with fork, so a process
// that forks and exits in a loop cannot slip between the scan and the
// signal. Without a readable /proc, the child's process group alone: while
// one of its members lives, its id cannot be another group's.
func (s *supervisor) sweep(pms []*postmaster, seen *signalled, sigs ...syscall.Signal) (found []procfs.Stat, ok bool) {
	return s.sweepScanned(nil, pms, seen, sigs...)
}

// procScan is one read of /proc, as scan returns it.
type procScan struct {
	procs, tree []procfs.Stat
	ok          bool
}

// sweepScanned is sweep on a scan just made (with seen only: sweep
// without seen signals before it scans), or on a new one when pre is nil.
// One scan costs a read of every /proc/PID/stat: the first round of the
// leftovers' cleanup shares the scan that looked for postmasters.
func (s *supervisor) sweepScanned(pre *procScan, pms []*postmaster, seen *signalled, sigs ...syscall.Signal) (found []procfs.Stat, ok bool) {
	all := s.pid1 && len(pms) == 0 && (seen == nil || !seen.all)
	if all && seen == nil {
		s.killEveryone(sigs)
	} else if len(pms) == 0 && !s.exited && seen == nil {
		s.signalGroup(s.childPid, sigs) // its id cannot be reused while the child is not reaped
	}
	if pre == nil || seen == nil {
		pre = &procScan{}
		pre.procs, pre.tree, pre.ok = s.scan()
	}
	procs, tree, ok := pre.procs, pre.tree, pre.ok
	spare := spared(tree, pms)
	if all && seen != nil { // scanned first: what was there got the signals
		s.killEveryone(sigs)
		seen.all = true
	}
	switch {
	case all:
		found = targets(tree, spare, seen)
		seen.mark(found)
		return found, ok
	case !ok:
		s.signalChildGroup(seen, sigs)
		return nil, false
	}
	found = targets(tree, spare, seen)
	groups := ownGroups(procs, tree, spare, unix.Getpgrp())
	sent := make(map[int]bool, len(groups))
	for _, g := range groups {
		if seen == nil || !seen.groups[g] {
			s.signalGroup(g, sigs)
			sent[g] = true
		}
	}
	var each []procfs.Stat
	for _, p := range found {
		if !sent[p.Pgrp] {
			each = append(each, p)
		}
	}
	s.signalEach(each, sigs...)
	seen.mark(found)
	seen.markGroups(sent)
	return found, true
}

func (seen *signalled) mark(procs []procfs.Stat) {
	if seen == nil {
		return
	}
	for _, p := range procs {
		seen.procs[pidKey{p.PID, p.Start}] = true
	}
}

func (seen *signalled) markGroups(groups map[int]bool) {
	if seen == nil {
		return
	}
	for g := range groups {
		seen.groups[g] = true
	}
}

// targets keeps the processes of tree that spare does not hold; with
// seen, only the live ones it has not reached. Without seen, zombies stay:
// after a SIGKILL, most of what it reached is one by the time of the scan.
func targets(tree []procfs.Stat, spare map[int]bool, seen *signalled) []procfs.Stat {
	var out []procfs.Stat
	for _, p := range tree {
		if spare[p.PID] || (seen != nil && (p.State == 'Z' || p.State == 'X' || seen.procs[pidKey{p.PID, p.Start}])) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// ownGroups are the process groups of tree, zombies included (a zombie
// keeps its group alive for a member that forked before it exited), whose
// every member in procs is in tree and not spared: signalling one as a
// group reaches no stranger and no spared postmaster. lastcall's own group
// is never one of them.
func ownGroups(procs, tree []procfs.Stat, spare map[int]bool, own int) []int {
	inTree := make(map[int]bool, len(tree))
	candidate := make(map[int]bool)
	for _, p := range tree {
		inTree[p.PID] = true
		if !spare[p.PID] && p.Pgrp > 0 && p.Pgrp != own {
			candidate[p.Pgrp] = true
		}
	}
	for _, q := range procs {
		if candidate[q.Pgrp] && (!inTree[q.PID] || spare[q.PID]) {
			delete(candidate, q.Pgrp)
		}
	}
	out := make([]int, 0, len(candidate))
	for _, p := range tree { // in the tree's order, once each
		if candidate[p.Pgrp] {
			out = append(out, p.Pgrp)
			delete(candidate, p.Pgrp)
		}
	}
	return out
}

func (s *supervisor) killEveryone(sigs []syscall.Signal) {
	for _, sig := range sigs {
		if err := unix.Kill(-1, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			s.log.Warn("signal all processes", zap.String("signal", signals.Name(sig)), zap.Error(err))
		}
	}
}

func (s *supervisor) signalGroup(g int, sigs []syscall.Signal) {
	for _, sig := range sigs {
		if err := unix.Kill(-g, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			s.log.Warn("signal process group", zap.Int("pgid", g), zap.String("signal", signals.Name(sig)), zap.Error(err))
		}
	}
}

// signalChildGroup sends sigs to the child's process group, when /proc
// cannot be read, unless seen says it had them.
func (s *supervisor) signalChildGroup(seen *signalled, sigs []syscall.Signal) {
	if seen != nil && seen.childGroup {
		return
	}
	if s.childGroupAlive() {
		s.signalGroup(s.childPid, sigs)
		if seen != nil {
			seen.childGroup = true
		}
	}
}

// childGroupAlive reports whether a process, zombies included, is still
// in the child's process group.
func (s *supervisor) childGroupAlive() bool {
	return unix.Kill(-s.childPid, 0) == nil
}

// signalEach sends sigs to every live process of procs through a pidfd.
func (s *supervisor) signalEach(procs []procfs.Stat, sigs ...syscall.Signal) {
	for _, p := range procs {
		if p.State == 'Z' || p.State == 'X' {
			continue
		}
		for _, sig := range sigs {
			err := signalProc(p, sig)
			switch {
			case err == nil, errors.Is(err, unix.ESRCH):
			case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE):
				s.procFailed(err)
			default:
				s.log.Warn("signal descendant", zap.Int("pid", p.PID), zap.String("signal", signals.Name(sig)), zap.Error(err))
			}
		}
	}
}

// scan reads the process list and lastcall's descendants in it, zombies
// included; ok is false when /proc cannot be read.
func (s *supervisor) scan() (procs, tree []procfs.Stat, ok bool) {
	if s.procErr != nil {
		return nil, nil, false
	}
	procs, err := procfs.List()
	if err != nil {
		s.procFailed(err)
		return nil, nil, false
	}
	return procs, procfs.DescendantsOf(unix.Getpid(), procs), true
}

// descendants lists lastcall's descendants, zombies included; none when
// /proc cannot be read.
func (s *supervisor) descendants() []procfs.Stat {
	_, tree, _ := s.scan()
	return tree
}

// procFailed logs the first failure to read /proc or to pin a process
// (every descriptor in use, as under a low RLIMIT_NOFILE), once: the
// rounds that look for leftovers would repeat it ten times a second.
func (s *supervisor) procFailed(err error) {
	if s.procWarned {
		return
	}
	s.procWarned = true
	s.log.Warn("cannot read /proc: signalling the child's process group instead (as PID 1, everyone); said once",
		zap.Error(err), zap.String("step", "leftovers"))
}
