package main

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// running is one contender started with the child program, ready.
type running struct {
	c      contender
	p      *proc
	target int // who the bench signals: the wrapper, or the child itself
	child  int
}

// startReady launches c with the child program in mode and waits until
// the child has said "ready".
func startReady(c contender, childBin string, mode ...string) (*running, error) {
	p, err := launch(c.argv(append([]string{childBin}, mode...)...), true)
	if err != nil {
		return nil, err
	}
	if _, err := p.line("ready", 10*time.Second); err != nil {
		p.kill()
		return nil, err
	}
	r := &running{c: c, p: p, target: p.pid, child: p.pid}
	if !c.isBaseline() {
		child, err := findChild(p.pid, childComm, 5*time.Second)
		if err != nil {
			p.kill()
			return nil, err
		}
		r.child = child
		p.extra = append(p.extra, child)
	}
	return r, nil
}

// measureForward times kill(wrapper, SIGUSR1) until the child has the
// signal, by the child's own CLOCK_MONOTONIC stamp. Every contender runs
// for the whole measurement; each round sends one signal to each.
func measureForward(cs []contender, childBin string, rounds int) *metric {
	m := newMetric("forward", "forward SIGUSR1 to the child", unitTime)
	var rs []*running
	for _, c := range cs {
		r, err := startReady(c, childBin, "usr1")
		if err != nil {
			m.notef("%s: %v", c.name, err)
			continue
		}
		defer r.p.kill()
		rs = append(rs, r)
		if _, err := forwardOnce(r); err != nil { // warm-up, not counted
			m.notef("%s: warm-up: %v", c.name, err)
		}
	}
	for i := range rounds {
		for j := range rs {
			r := rs[(i+j)%len(rs)]
			d, err := forwardOnce(r)
			if err != nil {
				m.notef("%s: %v", r.c.name, err)
				continue
			}
			m.add(r.c.name, float64(d))
		}
	}
	for _, r := range rs {
		if _, err := r.p.finish(5 * time.Second); err != nil {
			m.notef("%s: exit: %v", r.c.name, err)
		}
	}
	return m
}

func forwardOnce(r *running) (int64, error) {
	t0 := mono()
	if err := syscall.Kill(r.target, syscall.SIGUSR1); err != nil {
		return 0, err
	}
	l, err := r.p.line("usr1 ", 2*time.Second)
	if err != nil {
		return 0, err
	}
	seen, err := strconv.ParseInt(l, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad stamp %q", l)
	}
	return seen - t0, nil
}

// measureStorm sends n SIGUSR1 to each wrapper as fast as one thread can,
// while the child ignores them, and measures the wrapper's CPU time from
// before the storm until it has settled. The wrapper and the child must
// both survive it and the wrapper must then exit 0 with the child.
func measureStorm(cs []contender, childBin string, n, rounds int) (cpu, survived *metric) {
	cpu = newMetric("storm-cpu", fmt.Sprintf("storm of %d SIGUSR1: wrapper CPU", n), unitTime)
	survived = newMetric("storm-survived", "storm: rounds survived (1 = yes)", unitCount)
	for r := range rounds {
		for _, c := range rotated(cs, r) {
			if c.isBaseline() {
				continue
			}
			ns, err := stormOnce(c, childBin, n)
			if err != nil {
				cpu.notef("%s: %v", c.name, err)
				survived.add(c.name, 0)
				continue
			}
			cpu.add(c.name, float64(ns))
			survived.add(c.name, 1)
		}
	}
	return cpu, survived
}

func stormOnce(c contender, childBin string, n int) (int64, error) {
	r, err := startReady(c, childBin, "ignore-usr1")
	if err != nil {
		return 0, err
	}
	defer r.p.kill()
	before, err := settledRunNs(r.target)
	if err != nil {
		return 0, err
	}
	if err := sendStorm(r.target, n); err != nil {
		return 0, err
	}
	after, err := settledRunNs(r.target)
	if err != nil {
		return 0, fmt.Errorf("after the storm: %w", err)
	}
	if !alive(r.target) || !alive(r.child) {
		return 0, errors.New("wrapper or child died in the storm")
	}
	e, err := r.p.finish(5 * time.Second)
	if err != nil {
		return 0, err
	}
	if code := e.status.ExitStatus(); code != 0 {
		return 0, fmt.Errorf("exit status %v after the storm", e.status)
	}
	return after - before, nil
}

// sendStorm sends n SIGUSR1 to pid from one locked thread.
func sendStorm(pid, n int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for range n {
		if err := unix.Kill(pid, unix.SIGUSR1); err != nil {
			return fmt.Errorf("kill: %w", err)
		}
	}
	return nil
}

// settledRunNs waits until pid's CPU time stops growing (two reads 10 ms
// apart agree) and returns it.
func settledRunNs(pid int) (int64, error) {
	prev := int64(-1)
	var last int64
	err := poll(5*time.Second, 10*time.Millisecond, func() bool {
		u, err := readUsage(pid)
		if err != nil {
			return false
		}
		last = u.runNs
		same := last == prev
		prev = last
		return same
	})
	return last, err
}

// measureEscalation runs lastcall with --grace 200ms and a child that
// ignores SIGTERM, and measures how late after the deadline the child dies:
// its death (its pidfd turns readable) minus the SIGTERM minus the grace.
func measureEscalation(b binaries, childBin string, rounds int) *metric {
	const grace = 200 * time.Millisecond
	m := newMetric("escalation", "escalation: SIGKILL lateness after --grace 200ms", unitTime)
	c := contender{name: nameLastcall, binary: b.lastcall, prefix: []string{b.lastcall, "--grace", grace.String(), "--"}}
	for range rounds {
		d, err := escalationOnce(c, childBin, grace)
		if err != nil {
			m.notef("%v", err)
			continue
		}
		m.add(c.name, float64(d))
	}
	return m
}

func escalationOnce(c contender, childBin string, grace time.Duration) (int64, error) {
	r, err := startReady(c, childBin, "ignore-term")
	if err != nil {
		return 0, err
	}
	defer r.p.kill()
	fd, err := unix.PidfdOpen(r.child, 0)
	if err != nil {
		return 0, fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(fd)
	t0 := mono()
	if err := syscall.Kill(r.target, syscall.SIGTERM); err != nil {
		return 0, err
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int((grace + 5*time.Second).Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("poll pidfd: %w", err)
		}
		if n == 0 {
			return 0, fmt.Errorf("child still alive: %w", errTimeout)
		}
		break
	}
	died := mono()
	e, err := r.p.finish(5 * time.Second)
	if err != nil {
		return 0, err
	}
	if e.status.ExitStatus() != 137 {
		return 0, fmt.Errorf("lastcall exited %v, want 137", e.status)
	}
	return died - t0 - grace.Nanoseconds(), nil
}
