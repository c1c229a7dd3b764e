package logsink

import (
	"errors"
	"math"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// A full pipe whose reader is stopped: 10,000 log calls return although
// nothing can be written, every important line survives, and once the
// reader drains, the output holds the kept lines in order and one report
// of exactly the lines lost, in the place of the first one lost: after it
// come important lines only, and at most one other (the one that took the
// slot freed when the writer took its first line, if it did so after the
// queue had filled).
func TestStalledPipe(t *testing.T) {
	const total, queueLen, every = 10000, 256, 100
	p := newPipe(t)
	filled := p.fill(t)
	enc := testEncoder()
	s := startSink(t, p.w, Options{QueueLen: queueLen, DroppedLine: DroppedLine(enc, "lastcall")})
	logger := zap.New(NewCore(s, enc, zapcore.DebugLevel, LevelOrStep(zapcore.WarnLevel)))

	logged := make(chan struct{})
	go func() {
		defer close(logged)
		for i := range total {
			level := zapcore.InfoLevel
			if i%every == 0 {
				level = zapcore.WarnLevel
			}
			logger.Log(level, "entry", zap.Int("i", i))
		}
	}()
	select {
	case <-logged:
	case <-time.After(hangBound):
		t.Fatal("logging blocked on a stalled pipe")
	}
	if st := s.Stats(); st.Written != 0 || st.Dropped < total-queueLen-1 {
		t.Errorf("while stalled: %+v, want nothing written and at least %d dropped", st, total-queueLen-1)
	}

	out := p.drain()
	if n := s.Close(hangBound); n != 0 {
		t.Errorf("Close: %d lines unwritten after the reader drained", n)
	}
	waitDone(t, s)
	p.closeWrite()
	lines := parseLines(t, (<-out)[filled:])
	checkStalledOutput(t, lines, s.Stats(), total, every)
}

func checkStalledOutput(t *testing.T, lines []line, st Stats, total, every int) {
	t.Helper()
	var entries, warns, lateUnimportant int
	reportAt, last := -1, -1
	for n, l := range lines {
		switch {
		case l.Msg == "log lines dropped":
			if reportAt >= 0 || l.Dropped != st.Dropped || l.Level != "WARN" || l.Logger != "lastcall" || l.Step != "log" {
				t.Errorf("report %+v at line %d (another at %d), want one WARN with dropped=%d", l, n, reportAt, st.Dropped)
			}
			reportAt = n
		case l.I <= last:
			t.Errorf("line %d: entry %d after entry %d", n, l.I, last)
		case reportAt >= 0 && l.I%every != 0:
			lateUnimportant++
		}
		if l.Msg == "entry" {
			entries, last = entries+1, l.I
		}
		if l.Msg == "entry" && l.Level == "WARN" {
			warns++
		}
	}
	if reportAt < 0 {
		t.Error("no report of the dropped lines")
	}
	if lateUnimportant > 1 {
		t.Errorf("%d unimportant entries after the report, want at most 1", lateUnimportant)
	}
	if warns != total/every {
		t.Errorf("%d important entries written, want all %d", warns, total/every)
	}
	if uint64(entries) != st.Written || st.Written+st.Dropped != uint64(total) || st.Broken || st.Err != nil {
		t.Errorf("%d entries in the output, stats %+v, want written+dropped = %d", entries, st, total)
	}
}

// Write errors: every line is dropped and counted; EPIPE and EBADF break
// the output after one write, other errors leave it tried line by line
// (and the report of the drops once, not before every line).
func TestWriteErrors(t *testing.T) {
	const lines = 50
	tests := []struct {
		name       string
		open       func(t *testing.T) int
		want       Stats
		wantWrites uint64
	}{
		{"/dev/full", openDevFull, Stats{Dropped: lines, Err: unix.ENOSPC}, lines + 1},
		{"pipe without reader", pipeWithoutReader, Stats{Dropped: lines, Broken: true, Err: unix.EPIPE}, 1},
		{"closed descriptor", func(*testing.T) int { return math.MaxInt32 }, Stats{Dropped: lines, Broken: true, Err: unix.EBADF}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSink(t, tt.open(t), Options{})
			for range lines {
				_, _ = s.Write([]byte("line\n"))
			}
			if n := s.Close(hangBound); n != 0 {
				t.Errorf("Close: %d unwritten", n)
			}
			waitDone(t, s)
			st := s.Stats()
			if st.Written != tt.want.Written || st.Dropped != tt.want.Dropped || st.Broken != tt.want.Broken || !errors.Is(st.Err, tt.want.Err) {
				t.Errorf("stats %+v, want %+v", st, tt.want)
			}
			if s.writes != tt.wantWrites {
				t.Errorf("%d writes, want %d", s.writes, tt.wantWrites)
			}
		})
	}
}

func openDevFull(t *testing.T) int {
	fd, err := unix.Open("/dev/full", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	return fd
}

func pipeWithoutReader(t *testing.T) int {
	p := newPipe(t)
	p.closeRead()
	return p.w
}

// Flush and Close return within their bound while the writer is stuck in
// write(2), and report every line as unwritten; the writer goes on when
// the reader comes back.
func TestFlushStalled(t *testing.T) {
	const lines = 5
	p := newPipe(t)
	p.fill(t)
	s := startSink(t, p.w, Options{})
	for range lines {
		_, _ = s.Write([]byte("line\n"))
	}
	if n := s.Flush(10 * time.Millisecond); n != lines {
		t.Errorf("Flush: %d unwritten, want %d", n, lines)
	}
	if n := s.Close(10 * time.Millisecond); n != lines {
		t.Errorf("Close: %d unwritten, want %d", n, lines)
	}
	out := p.drain()
	waitDone(t, s)
	p.closeWrite()
	<-out
	if st := s.Stats(); st.Written != lines || st.Dropped != 0 {
		t.Errorf("after the reader came back: %+v, want %d written", st, lines)
	}
}

// On a flowing output Flush waits for every line.
func TestFlushFlowing(t *testing.T) {
	const lines = 1000
	p := newPipe(t)
	out := p.drain()
	s := startSink(t, p.w, Options{})
	if n := s.Flush(hangBound); n != 0 {
		t.Errorf("Flush on an empty sink: %d unwritten", n)
	}
	for range lines {
		_, _ = s.Write([]byte("line\n"))
	}
	if n := s.Flush(hangBound); n != 0 {
		t.Errorf("Flush: %d unwritten", n)
	}
	if st := s.Stats(); st.Written+st.Dropped != lines {
		t.Errorf("after Flush: %+v, want %d lines accounted for", st, lines)
	}
	s.Close(hangBound)
	waitDone(t, s)
	p.closeWrite()
	<-out
}

// Lines after Close are dropped and counted, and never written.
func TestWriteAfterClose(t *testing.T) {
	p := newPipe(t)
	out := p.drain()
	s := startSink(t, p.w, Options{})
	_, _ = s.Write([]byte("before\n"))
	s.Close(hangBound)
	waitDone(t, s)
	_, _ = s.Write([]byte("after\n"))
	p.closeWrite()
	if got := string(<-out); got != "before\n" {
		t.Errorf("output %q, want only the line before Close", got)
	}
	if st := s.Stats(); st.Written != 1 || st.Dropped != 1 {
		t.Errorf("stats %+v, want 1 written, 1 dropped", st)
	}
}
