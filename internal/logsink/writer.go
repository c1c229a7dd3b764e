package logsink

import (
	"errors"
	"io"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// run is the writer goroutine. It locks itself to its thread for good and
// blocks SIGPIPE there before it reports ready, then writes until the Sink
// is closed and nothing is left. Returning while locked ends the thread,
// and with it any SIGPIPE left pending on it.
func (s *Sink) run(ready chan<- error) {
	runtime.LockOSThread() // never unlocked: see above
	defer close(s.done)
	if err := blockSIGPIPE(); err != nil {
		ready <- err
		return
	}
	close(ready)
	for {
		e, report, more := s.next()
		switch {
		case report > 0:
			s.reported(report, writeAll(s.fd, (*s.dropLine.Load())(report)))
		case e.buf != nil:
			s.written(e, writeAll(s.fd, e.buf.Bytes()))
		case !more:
			return
		default:
			<-s.wake
		}
	}
}

// blockSIGPIPE blocks SIGPIPE in the calling thread's signal mask.
func blockSIGPIPE() error {
	var set unix.Sigset_t
	width := uint(unsafe.Sizeof(set.Val[0]) * 8)
	sig := uint(unix.SIGPIPE) - 1
	set.Val[sig/width] |= 1 << (sig % width)
	return unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
}

// next takes the writer's next job: a drop report of report lines, or a
// line e. With neither, more says whether to wait for work (true) or to
// return (the Sink is closed and nothing is left).
func (s *Sink) next() (e entry, report uint64, more bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reportDue() {
		if first, ok := s.q.peek(); !ok || first.seq >= s.reportAt {
			report, s.unreported = s.unreported, 0
			s.busy = true
			return entry{}, report, true
		}
	}
	if e, ok := s.q.pop(); ok {
		s.busy, s.busyLine = true, true
		return e, 0, true
	}
	if s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	return entry{}, 0, !s.closed
}

// reportDue says whether a drop report should be written before more
// lines. The caller holds mu.
func (s *Sink) reportDue() bool {
	return s.unreported > 0 && !s.stats.Broken && !s.reportFailed
}

// written records the outcome of writing e and frees e's buffer.
func (s *Sink) written(e entry, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy, s.busyLine = false, false
	s.writes++
	if err != nil {
		s.drop(e)
		s.failed(err)
		return
	}
	e.buf.Free()
	s.stats.Written++
	s.reportFailed = false
}

// reported records the outcome of writing a report of n drops. A report
// that failed is written after the next line that gets through.
func (s *Sink) reported(n uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy = false
	s.writes++
	if err != nil {
		s.unreported += n
		s.reportAt = 0
		s.reportFailed = true
		s.failed(err)
	}
}

// failed records a write error; EPIPE and EBADF break the output and drop
// every queued line. The caller holds mu.
func (s *Sink) failed(err error) {
	s.stats.Err = err
	if !errors.Is(err, unix.EPIPE) && !errors.Is(err, unix.EBADF) {
		return
	}
	s.stats.Broken = true
	for {
		e, ok := s.q.pop()
		if !ok {
			return
		}
		s.drop(e)
	}
}

// writeAll writes p to fd with write(2), retrying after EINTR, a short
// write (a signal during a large write to a pipe), and EAGAIN (someone
// else made the file description non-blocking: wait in poll(2)).
func writeAll(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(fd, p)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			if err := waitWritable(fd); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		case n <= 0:
			return io.ErrShortWrite
		}
		p = p[n:]
	}
	return nil
}

// waitWritable blocks until fd is writable, or has an error to report.
func waitWritable(fd int) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		_, err := unix.Poll(fds, -1)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
