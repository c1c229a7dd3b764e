package main

import (
	"fmt"
	"os"
	"time"
)

// idleResult is what the idle measurement reports per contender.
type idleResult struct {
	ticks, ctxSwitches, threads, rss, hwm *metric
}

// measureIdle starts every wrapper with a child that blocks on stdin, waits
// until each has settled (its counters stop moving for 200 ms, or 2 s have
// passed), then reads each wrapper's CPU ticks and context switches (summed
// over its threads) at the start and the end of the same window, and its
// memory and threads at the end.
func measureIdle(cs []contender, childBin string, window time.Duration) idleResult {
	w := fmt.Sprint(window)
	res := idleResult{
		ticks:       newMetric("idle-ticks", "idle "+w+": CPU ticks (utime+stime)", unitCount),
		ctxSwitches: newMetric("idle-ctxsw", "idle "+w+": context switches", unitCount),
		threads:     newMetric("idle-threads", "idle: threads", unitCount),
		rss:         newMetric("idle-rss", "idle: VmRSS", unitBytes),
		hwm:         newMetric("idle-hwm", "idle: VmHWM", unitBytes),
	}
	var rs []*running
	for _, c := range cs {
		if c.isBaseline() {
			continue
		}
		r, err := startReady(c, childBin, "ignore-usr1")
		if err != nil {
			res.ticks.notef("%s: %v", c.name, err)
			continue
		}
		defer r.p.kill()
		rs = append(rs, r)
	}
	for _, r := range rs {
		settle(r.target)
	}
	start := make([]usage, len(rs))
	for i, r := range rs {
		start[i], _ = readUsage(r.target)
	}
	time.Sleep(window) // the measurement window itself, not a synchronisation
	for i, r := range rs {
		end, err := readUsage(r.target)
		if err != nil {
			res.ticks.notef("%s: %v", r.c.name, err)
			continue
		}
		res.ticks.add(r.c.name, float64(end.ticks-start[i].ticks))
		res.ctxSwitches.add(r.c.name, float64(end.ctxSwitches-start[i].ctxSwitches))
		res.threads.add(r.c.name, float64(end.threads))
		res.rss.add(r.c.name, float64(end.vmRSS))
		res.hwm.add(r.c.name, float64(end.vmHWM))
	}
	for _, r := range rs {
		if _, err := r.p.finish(5 * time.Second); err != nil {
			res.ticks.notef("%s: exit: %v", r.c.name, err)
		}
	}
	return res
}

// settle waits until pid's context switches and run time stop moving for
// 200 ms, at most 2 s (tini wakes every second and never settles).
func settle(pid int) {
	var prev usage
	stable := 0
	_ = poll(2*time.Second, 20*time.Millisecond, func() bool {
		u, err := readUsage(pid)
		if err != nil {
			return true
		}
		if u.ctxSwitches == prev.ctxSwitches && u.runNs == prev.runNs {
			stable++
		} else {
			stable = 0
		}
		prev = u
		return stable >= 10
	})
}

// measureSize reads each wrapper's binary size.
func measureSize(cs []contender) *metric {
	m := newMetric("size", "binary size", unitBytes)
	for _, c := range cs {
		if c.isBaseline() {
			continue
		}
		st, err := os.Stat(c.binary)
		if err != nil {
			m.notef("%s: %v", c.name, err)
			continue
		}
		m.add(c.name, float64(st.Size()))
	}
	return m
}
