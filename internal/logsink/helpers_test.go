package logsink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// hangBound bounds waits that only guard against a hang: a correct sink
// finishes in microseconds, and a test that reaches the bound has failed,
// whatever the machine's speed.
const hangBound = 30 * time.Second

// pipe is a pair of raw, blocking pipe descriptors (os.Pipe would make
// them non-blocking for the runtime's poller).
type pipe struct{ r, w int }

// newPipe makes a pipe; the test's cleanup closes what is still open,
// the read end first, so that a writer stuck on it fails with EPIPE.
func newPipe(t testing.TB) *pipe {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	p := &pipe{r: fds[0], w: fds[1]}
	t.Cleanup(func() {
		p.closeRead()
		p.closeWrite()
	})
	return p
}

func (p *pipe) closeRead() {
	if p.r >= 0 {
		_ = unix.Close(p.r)
		p.r = -1
	}
}

func (p *pipe) closeWrite() {
	if p.w >= 0 {
		_ = unix.Close(p.w)
		p.w = -1
	}
}

// fill writes the pipe full through a second, non-blocking file
// description of its write end (opened via /proc/self/fd, so that the
// shared one stays blocking), and returns how many bytes it holds: its
// whole capacity (F_GETPIPE_SZ), in page-sized writes that leave no room
// for even a byte more.
func (p *pipe) fill(t testing.TB) int {
	t.Helper()
	size, err := unix.FcntlInt(uintptr(p.w), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", p.w), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(nb)
	page := bytes.Repeat([]byte{'.'}, unix.Getpagesize())
	filled := 0
	for {
		n, err := unix.Write(nb, page)
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		filled += n
	}
	if filled != size {
		t.Fatalf("filled %d bytes, the pipe holds %d", filled, size)
	}
	return filled
}

// drain reads the pipe until every writer is gone and then sends what
// it read.
func (p *pipe) drain() <-chan []byte {
	out := make(chan []byte, 1)
	go func(fd int) {
		var all []byte
		buf := make([]byte, 64<<10)
		for {
			n, err := unix.Read(fd, buf)
			if n <= 0 || err != nil {
				out <- all
				return
			}
			all = append(all, buf[:n]...)
		}
	}(p.r)
	return out
}

// startSink starts a Sink on fd; the test's cleanup closes it without
// waiting (the pipe's cleanup unblocks a stuck writer).
func startSink(t testing.TB, fd int, opts Options) *Sink {
	t.Helper()
	s, err := New(fd, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(0) })
	return s
}

// waitDone waits for the writer goroutine to end, at most hangBound.
func waitDone(t testing.TB, s *Sink) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(hangBound):
		t.Fatal("the writer goroutine did not end")
	}
}

// testEncoder is a JSON encoder with the keys that line reads.
func testEncoder() zapcore.Encoder {
	return zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		MessageKey:  "msg",
		LevelKey:    "level",
		NameKey:     "logger",
		EncodeLevel: zapcore.CapitalLevelEncoder,
		LineEnding:  "\n",
	})
}

// line is one JSON line written by testEncoder.
type line struct {
	Level   string
	Logger  string
	Msg     string
	I       int
	Dropped uint64
	Step    string
	K       string
}

func parseLines(t testing.TB, data []byte) []line {
	t.Helper()
	var lines []line
	for raw := range bytes.Lines(data) {
		var l line
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("line %q: %v", raw, err)
		}
		lines = append(lines, l)
	}
	return lines
}
