package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errTimeout is a condition the bench waited for that never came.
var errTimeout = errors.New("timed out")

// exitInfo is how a launched process ended and when the bench saw it.
type exitInfo struct {
	at     int64 // mono() right after wait4 returned
	status syscall.WaitStatus
	err    error
}

// proc is one launched process: a wrapper (or unshare, or a bare child)
// with, when asked for, a pipe on its stdin and a line reader on its stdout.
type proc struct {
	pid    int
	stdin  *os.File      // write end; closing it ends the child program
	lines  chan string   // stdout, one line at a time; closed at EOF
	exited chan exitInfo // receives once
	extra  []int         // more pids to kill on cleanup
}

// launch starts argv in its own process group. With pipes, the process
// gets a stdin pipe and its stdout is read line by line; otherwise all
// three are /dev/null.
func launch(argv []string, pipes bool) (*proc, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	files := []*os.File{null, null, null}
	var inR, inW, outR, outW *os.File
	if pipes {
		if inR, inW, err = os.Pipe(); err != nil {
			return nil, err
		}
		if outR, outW, err = os.Pipe(); err != nil {
			inR.Close()
			inW.Close()
			return nil, err
		}
		files[0], files[1] = inR, outW
	}
	p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{
		Files: files,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if pipes {
		inR.Close()
		outW.Close()
	}
	if err != nil {
		if pipes {
			inW.Close()
			outR.Close()
		}
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	pr := &proc{pid: p.Pid, stdin: inW, exited: make(chan exitInfo, 1)}
	_ = p.Release() // the bench waits with wait4 itself, to time the exit
	go pr.wait()
	if pipes {
		pr.lines = make(chan string, 1024)
		go readLines(outR, pr.lines)
	}
	return pr, nil
}

func (p *proc) wait() {
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(p.pid, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		p.exited <- exitInfo{at: mono(), status: ws, err: err}
		return
	}
}

func readLines(r *os.File, out chan<- string) {
	defer close(out)
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		out <- sc.Text()
	}
}

// line returns the next line of the child's stdout that starts with prefix
// (other lines are skipped), without the prefix.
func (p *proc) line(prefix string, within time.Duration) (string, error) {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return "", fmt.Errorf("waiting for %q: stdout closed", prefix)
			}
			if rest, found := strings.CutPrefix(l, prefix); found {
				return strings.TrimSpace(rest), nil
			}
		case <-deadline.C:
			return "", fmt.Errorf("waiting for %q: %w", prefix, errTimeout)
		}
	}
}

// waitExit waits for the process to exit, at most within.
func (p *proc) waitExit(within time.Duration) (exitInfo, error) {
	select {
	case e := <-p.exited:
		p.exited <- e // keep it for cleanup and later callers
		return e, e.err
	case <-time.After(within):
		return exitInfo{}, fmt.Errorf("waiting for pid %d to exit: %w", p.pid, errTimeout)
	}
}

// finish closes the child's stdin, so that it exits and its wrapper with
// it, and waits for that; whatever is still alive after within is killed.
func (p *proc) finish(within time.Duration) (exitInfo, error) {
	if p.stdin != nil {
		p.stdin.Close()
		p.stdin = nil
	}
	e, err := p.waitExit(within)
	if err != nil {
		p.kill()
	}
	return e, err
}

// kill ends the process and its group, unless it has been reaped already
// (its pid may then be reused), and every pid it was told about that is
// still alive, and waits (boundedly) for the process itself.
func (p *proc) kill() {
	select {
	case e := <-p.exited:
		p.exited <- e
	default:
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	for _, pid := range p.extra {
		if pid > 0 && alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if p.stdin != nil {
		p.stdin.Close()
		p.stdin = nil
	}
	_, _ = p.waitExit(5 * time.Second)
}

// poll calls cond every interval until it returns true or within is over.
func poll(within, interval time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return errTimeout
		}
		pause(interval)
	}
}

// pause sleeps for d. The Go runtime's timers round short sleeps up to
// about a millisecond, so sleeps under one go straight to nanosleep(2),
// blocking only this thread.
func pause(d time.Duration) {
	if d >= time.Millisecond {
		time.Sleep(d)
		return
	}
	ts := unix.NsecToTimespec(d.Nanoseconds())
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}

// findChild waits for a child of pid whose command name is comm (that is,
// one that has run its exec) and returns its pid. An empty comm takes the
// first child.
func findChild(pid int, comm string, within time.Duration) (int, error) {
	var found int
	err := poll(within, 100*time.Microsecond, func() bool {
		for _, c := range childrenOf(pid) {
			if comm == "" || readComm(c) == comm {
				found = c
				return true
			}
		}
		return false
	})
	if err != nil {
		return 0, fmt.Errorf("child %q of pid %d: %w", comm, pid, err)
	}
	return found, nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	st, err := readStat(pid)
	return err == nil && st.state != 'Z' && st.state != 'X'
}
