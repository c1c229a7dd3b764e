package main

import (
	"fmt"
	"syscall"
	"time"
)

// rotated returns cs started at index r, so that no contender always runs
// right after the same other one.
func rotated(cs []contender, r int) []contender {
	if len(cs) == 0 {
		return nil
	}
	r %= len(cs)
	return append(append([]contender(nil), cs[r:]...), cs[:r]...)
}

// measureStart times WRAPPER /bin/true from before fork to after wait4, in
// rounds that run every contender once, plainly or (ns) as PID 1 of a new
// PID namespace.
func measureStart(cs []contender, rounds int, ns bool) *metric {
	m := newMetric("start", "start+exit /bin/true", unitTime)
	if ns {
		m = newMetric("start-pidns", "start+exit /bin/true, PID 1 of a new PID ns", unitTime)
	}
	for r := range rounds {
		for _, c := range rotated(cs, r) {
			argv := c.argv("/bin/true")
			if ns {
				argv = append(pidNS(), argv...)
			}
			d, err := startExit(argv)
			if err != nil {
				m.notef("%s: %v", c.name, err)
				continue
			}
			m.add(c.name, float64(d))
		}
	}
	return m
}

func startExit(argv []string) (int64, error) {
	t0 := mono()
	p, err := launch(argv, false)
	if err != nil {
		return 0, err
	}
	e, err := p.waitExit(10 * time.Second)
	if err != nil {
		p.kill()
		return 0, err
	}
	if e.status.ExitStatus() != 0 {
		return 0, fmt.Errorf("exit status %v", e.status)
	}
	return e.at - t0, nil
}

// measureShutdown times SIGTERM to the wrapper until the wrapper has exited,
// with `sleep 1000` as the child (it dies of SIGTERM at once). The clock
// starts only once sleep runs: found in /proc as the wrapper's child.
func measureShutdown(cs []contender, rounds int) *metric {
	m := newMetric("shutdown", "shutdown: SIGTERM to wrapper exit", unitTime)
	for r := range rounds {
		for _, c := range rotated(cs, r) {
			d, err := shutdownOnce(c)
			if err != nil {
				m.notef("%s: %v", c.name, err)
				continue
			}
			m.add(c.name, float64(d))
		}
	}
	return m
}

func shutdownOnce(c contender) (int64, error) {
	p, err := launch(c.argv("/bin/sleep", "1000"), false)
	if err != nil {
		return 0, err
	}
	defer p.kill()
	if c.isBaseline() {
		err = poll(5*time.Second, 100*time.Microsecond, func() bool { return readComm(p.pid) == "sleep" })
	} else {
		var child int
		child, err = findChild(p.pid, "sleep", 5*time.Second)
		p.extra = append(p.extra, child)
	}
	if err != nil {
		return 0, fmt.Errorf("sleep never ran: %w", err)
	}
	t0 := mono()
	if err := syscall.Kill(p.pid, syscall.SIGTERM); err != nil {
		return 0, err
	}
	e, err := p.waitExit(10 * time.Second)
	if err != nil {
		return 0, err
	}
	return e.at - t0, nil
}
