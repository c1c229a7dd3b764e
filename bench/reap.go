package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// reaper is a wrapper started as PID 1 of a new PID namespace with the
// child program in a reaping mode, seen from the bench's /proc.
type reaper struct {
	p       *proc // unshare
	wrapper int   // the wrapper's pid in the bench's namespace
	child   int   // the child program's pid, idem
}

func startReaper(c contender, childBin, mode string, n int) (*reaper, error) {
	argv := append(pidNS(), c.argv(childBin, mode, strconv.Itoa(n))...)
	p, err := launch(argv, true)
	if err != nil {
		return nil, err
	}
	r := &reaper{p: p}
	if r.wrapper, err = findChild(p.pid, "", 5*time.Second); err != nil {
		p.kill()
		return nil, err
	}
	p.extra = append(p.extra, r.wrapper)
	if _, err := p.line("ready", 10*time.Second); err != nil {
		p.kill()
		return nil, err
	}
	if r.child, err = findChild(r.wrapper, childComm, 5*time.Second); err != nil {
		p.kill()
		return nil, err
	}
	return r, nil
}

// done returns the stamp of the child's "done NS" line if it has come.
func (r *reaper) done() (int64, bool, error) {
	select {
	case l, ok := <-r.p.lines:
		if !ok {
			return 0, false, fmt.Errorf("child's stdout closed early")
		}
		rest, found := strings.CutPrefix(l, "done ")
		if !found {
			return 0, false, nil
		}
		ns, err := strconv.ParseInt(rest, 10, 64)
		return ns, err == nil, err
	default:
		return 0, false, nil
	}
}

// orphans counts the wrapper's children other than the child program:
// zombies, and the rest (alive, about to exit).
func (r *reaper) orphans() (zombies, others int) {
	for _, pid := range childrenOf(r.wrapper) {
		if pid == r.child {
			continue
		}
		st, err := readStat(pid)
		switch {
		case err != nil: // reaped while we looked
		case st.state == 'Z':
			zombies++
		default:
			others++
		}
	}
	return zombies, others
}

// anyOrphan reports whether the wrapper has a child other than the child
// program. It reads only the start of each thread's children file: the
// full list of 10,000 zombies is long, and reading it holds the kernel's
// tasklist lock, which the reaper needs too.
func (r *reaper) anyOrphan() bool {
	buf := make([]byte, 64)
	for _, tid := range tasks(r.wrapper) {
		f, err := os.Open(procPath(r.wrapper, "task", strconv.Itoa(tid), "children"))
		if err != nil {
			continue
		}
		n, _ := f.Read(buf)
		f.Close()
		for _, pid := range parsePids(buf[:n], nil) {
			if pid != r.child {
				return true
			}
		}
		if n == len(buf) { // cut off: more than fit, so more than the child
			return true
		}
	}
	return false
}

// measureStream runs a child that makes n orphans one after another under
// each reaping wrapper as PID 1, and samples the wrapper's zombies: the
// peak seen, and the lag from the last orphan until none is left.
func measureStream(cs []contender, childBin string, n, rounds int) (peak, lag *metric) {
	peak = newMetric("reap-peak", fmt.Sprintf("reap %d streamed orphans: peak zombies", n), unitCount)
	lag = newMetric("reap-lag", "reap streamed: lag after the last orphan", unitTime)
	for i := range rounds {
		for _, c := range rotated(cs, i) {
			if !c.reaps {
				continue
			}
			pk, lg, err := streamOnce(c, childBin, n)
			if err != nil {
				peak.notef("%s: %v", c.name, err)
				continue
			}
			peak.add(c.name, float64(pk))
			lag.add(c.name, float64(lg))
		}
	}
	return peak, lag
}

func streamOnce(c contender, childBin string, n int) (peak int, lag int64, err error) {
	r, err := startReaper(c, childBin, "stream", n)
	if err != nil {
		return 0, 0, err
	}
	defer r.p.kill()
	deadline := time.Now().Add(60*time.Second + time.Duration(n)*time.Millisecond)
	doneAt := int64(-1)
	for {
		if doneAt < 0 {
			ns, ok, err := r.done()
			if err != nil {
				return 0, 0, err
			}
			if ok {
				doneAt = ns
			}
		}
		z, others := r.orphans()
		peak = max(peak, z)
		if doneAt >= 0 && z == 0 && others == 0 {
			lag = mono() - doneAt
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("done %v, %d zombies, %d orphans left (%s): %w",
				doneAt >= 0, z, others, r.describeOrphans(), errTimeout)
		}
		pause(200 * time.Microsecond) // sampling period
	}
	if _, err := r.p.finish(10 * time.Second); err != nil {
		return 0, 0, err
	}
	return peak, lag, nil
}

// measureBurst runs a child whose middle process leaves n zombies that are
// orphaned at once, and times from the middle process's death until the
// wrapper has reaped them all.
func measureBurst(cs []contender, childBin string, n, rounds int) *metric {
	m := newMetric("burst", fmt.Sprintf("reap a burst of %d zombies", n), unitTime)
	for i := range rounds {
		for _, c := range rotated(cs, i) {
			if !c.reaps {
				continue
			}
			d, err := burstOnce(c, childBin, n)
			if err != nil {
				m.notef("%s: %v", c.name, err)
				continue
			}
			m.add(c.name, float64(d))
		}
	}
	return m
}

func burstOnce(c contender, childBin string, n int) (int64, error) {
	r, err := startReaper(c, childBin, "burst", n)
	if err != nil {
		return 0, err
	}
	defer r.p.kill()
	deadline := time.Now().Add(60 * time.Second)
	doneAt := int64(-1)
	for {
		if doneAt < 0 {
			ns, ok, err := r.done()
			if err != nil {
				return 0, err
			}
			if ok {
				doneAt = ns
			}
		}
		if doneAt >= 0 && !r.anyOrphan() {
			d := mono() - doneAt
			if _, err := r.p.finish(10 * time.Second); err != nil {
				return 0, err
			}
			return d, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("zombies left: %w", errTimeout)
		}
		pause(200 * time.Microsecond) // sampling period
	}
}

// describeOrphans says, for a timeout message, what the wrapper's children
// other than the child program are: pid, state and command name.
func (r *reaper) describeOrphans() string {
	var out []string
	for _, pid := range childrenOf(r.wrapper) {
		if pid == r.child {
			continue
		}
		st, err := readStat(pid)
		if err != nil {
			continue
		}
		out = append(out, fmt.Sprintf("%d %c %s", pid, st.state, readComm(pid)))
		if len(out) == 5 {
			out = append(out, "...")
			break
		}
	}
	return strings.Join(out, ", ")
}
