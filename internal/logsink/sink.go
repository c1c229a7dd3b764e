package logsink

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap/buffer"
)

// DefaultQueueLen is the queue's length when Options.QueueLen is zero.
// lastcall logs a few lines per lifecycle step, and at most one per leftover
// process or leaked database session; 1024 lines of about 200 bytes hold
// every line of a large shutdown in about 200 KiB, and only while the output
// is stalled.
const DefaultQueueLen = 1024

// Options configure a Sink.
type Options struct {
	// QueueLen is the most lines that wait to be written; 0 means
	// DefaultQueueLen.
	QueueLen int
	// DroppedLine returns the line, ending in a newline, that reports n
	// dropped lines. It runs on the writer goroutine. nil means a plain
	// "lastcall: N log lines dropped" line; see DroppedLine for one in the
	// format of the other lines.
	DroppedLine func(n uint64) []byte
}

// Stats are a Sink's counts so far.
type Stats struct {
	Written uint64 // lines written in full (drop reports not included)
	Dropped uint64 // lines lost: queue full, write failed, output broken, or written after Close
	Broken  bool   // a write failed with EPIPE or EBADF: nothing more is written
	Err     error  // the last write error, nil if none
}

// Sink writes lines to a file descriptor from its own goroutine; see the
// package documentation. Its methods are safe for concurrent use.
type Sink struct {
	fd       int
	dropLine atomic.Pointer[func(n uint64) []byte]
	pool     buffer.Pool   // buffers for Write's copies
	wake     chan struct{} // one slot: "there is something for the writer"
	done     chan struct{} // closed when the writer goroutine returns

	mu           sync.Mutex
	q            queue
	seq          uint64 // seq of the next line offered
	busy         bool   // the writer is writing a line or a report
	busyLine     bool   // the writer is writing a line taken from q
	closed       bool
	stats        Stats
	unreported   uint64        // drops not yet reported in the output
	reportAt     uint64        // the report goes before the first line with seq >= reportAt
	reportFailed bool          // the last report failed: wait for a line to get through
	idle         chan struct{} // closed when the writer runs out of work; nil when nobody waits
	writes       uint64        // write attempts (lines and reports), for tests
}

// New starts a Sink that writes to fd and its writer goroutine. The sink
// does not own fd: it never closes it and never changes its flags. New
// fails only if the writer's thread cannot block SIGPIPE.
func New(fd int, opts Options) (*Sink, error) {
	if opts.QueueLen <= 0 {
		opts.QueueLen = DefaultQueueLen
	}
	if opts.DroppedLine == nil {
		opts.DroppedLine = plainDroppedLine
	}
	s := &Sink{
		fd:   fd,
		pool: buffer.NewPool(),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
		q:    newQueue(opts.QueueLen),
	}
	s.dropLine.Store(&opts.DroppedLine)
	ready := make(chan error, 1)
	go s.run(ready)
	if err := <-ready; err != nil {
		<-s.done
		return nil, err
	}
	return s, nil
}

// SetDroppedLine replaces Options.DroppedLine: the logger's format is known
// only once the command line is read, after the first lines may have been
// written.
func (s *Sink) SetDroppedLine(f func(n uint64) []byte) { s.dropLine.Store(&f) }

func plainDroppedLine(n uint64) []byte {
	return fmt.Appendf(nil, "lastcall: %d log lines dropped\n", n)
}

// Write queues a copy of p as one unimportant line and returns at once,
// with len(p) and no error even when the line is dropped: a Sink never
// makes its caller wait or fail. It makes the Sink a zapcore.WriteSyncer,
// fit for zap.ErrorOutput.
func (s *Sink) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	buf := s.pool.Get()
	_, _ = buf.Write(p)
	s.push(buf, false)
	return len(p), nil
}

// Sync does nothing and returns nil: it never waits for the writer. Use
// Flush or Close to wait, with a bound.
func (s *Sink) Sync() error { return nil }

// Stats returns the counts so far.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Flush waits until every line queued so far has been written or dropped,
// at most timeout, and returns how many are still unwritten: 0, or the
// lines queued and the one in write(2) when the output is stalled.
func (s *Sink) Flush(timeout time.Duration) (unwritten int) {
	s.mu.Lock()
	if !s.busy && s.q.len() == 0 && !s.reportDue() {
		s.mu.Unlock()
		return 0
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
	return s.unwritten()
}

// Close stops taking lines (later ones are dropped and counted), gives the
// writer at most timeout to write what is queued and the drop report, and
// returns how many lines are left unwritten. When the writer is stuck in
// write(2), Close returns after timeout and leaves it stuck: the writer
// goroutine and its thread end when the write does, or with the process.
// Close may be called more than once.
func (s *Sink) Close(timeout time.Duration) (unwritten int) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
	}
	return s.unwritten()
}

func (s *Sink) unwritten() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.q.len()
	if s.busyLine {
		n++
	}
	return n
}

// push queues buf, or drops it, and wakes the writer. It never blocks
// for longer than the writer holds mu.
func (s *Sink) push(buf *buffer.Buffer, important bool) {
	s.mu.Lock()
	e := entry{seq: s.seq, buf: buf, important: important}
	s.seq++
	if s.closed || s.stats.Broken {
		// Counted, not reported: nothing more is written.
		s.stats.Dropped++
		buf.Free()
		s.mu.Unlock()
		return
	}
	if lost, dropped := s.q.offer(e); dropped {
		s.drop(lost)
	}
	s.mu.Unlock()
	s.signal()
}

// dropped counts a line that the encoder failed to encode.
func (s *Sink) dropped() {
	s.mu.Lock()
	if s.closed || s.stats.Broken {
		s.stats.Dropped++
	} else {
		s.drop(entry{seq: s.seq})
	}
	s.seq++
	s.mu.Unlock()
	s.signal() // to report it
}

// drop counts e as lost and frees its buffer. The caller holds mu.
func (s *Sink) drop(e entry) {
	if s.unreported == 0 || e.seq < s.reportAt {
		s.reportAt = e.seq
	}
	s.unreported++
	s.stats.Dropped++
	if e.buf != nil {
		e.buf.Free()
	}
}

// signal wakes the writer without waiting.
func (s *Sink) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
