package logsink

import (
	"bytes"
	"errors"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

func TestLevelOrStep(t *testing.T) {
	important := LevelOrStep(zapcore.WarnLevel, "stop", "exit")
	tests := []struct {
		name   string
		level  zapcore.Level
		fields []zapcore.Field
		want   bool
	}{
		{"info", zapcore.InfoLevel, nil, false},
		{"warn", zapcore.WarnLevel, nil, true},
		{"error", zapcore.ErrorLevel, nil, true},
		{"debug with a listed step", zapcore.DebugLevel, []zapcore.Field{zap.Int("child_pid", 1), zap.String("step", "exit")}, true},
		{"info with another step", zapcore.InfoLevel, []zapcore.Field{zap.String("step", "forward")}, false},
		{"a listed step under another key", zapcore.InfoLevel, []zapcore.Field{zap.String("signal", "stop")}, false},
		{"step that is not a string", zapcore.InfoLevel, []zapcore.Field{zap.Strings("step", []string{"stop"})}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := important(zapcore.Entry{Level: tt.level}, tt.fields); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// The core writes what zap's own core would: enabled levels only, with the
// fields of With, in the encoder's format; Sync returns at once.
func TestCore(t *testing.T) {
	p := newPipe(t)
	out := p.drain()
	s := startSink(t, p.w, Options{})
	core := NewCore(s, testEncoder(), zapcore.InfoLevel, nil)
	logger := zap.New(core).Named("lastcall").With(zap.String("k", "v"))
	logger.Debug("hidden")
	logger.Info("shown", zap.Int("i", 7))
	if err := logger.Sync(); err != nil {
		t.Errorf("Sync: %v", err)
	}
	if got := zapcore.LevelOf(core); got != zapcore.InfoLevel {
		t.Errorf("level %v, want info", got)
	}
	s.Close(hangBound)
	waitDone(t, s)
	p.closeWrite()
	lines := parseLines(t, <-out)
	want := line{Level: "INFO", Logger: "lastcall", Msg: "shown", I: 7, K: "v"}
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("lines %+v, want [%+v]", lines, want)
	}
}

// failingEncoder fails to encode every entry.
type failingEncoder struct{ zapcore.Encoder }

func (failingEncoder) EncodeEntry(zapcore.Entry, []zapcore.Field) (*buffer.Buffer, error) {
	return nil, errors.New("cannot encode")
}

// A line the encoder fails on is counted and reported like any other drop,
// and the log call does not fail.
func TestCoreEncoderFails(t *testing.T) {
	p := newPipe(t)
	out := p.drain()
	s := startSink(t, p.w, Options{})
	var errOut bytes.Buffer
	logger := zap.New(NewCore(s, failingEncoder{testEncoder()}, zapcore.InfoLevel, nil), zap.ErrorOutput(zapcore.AddSync(&errOut)))
	logger.Info("lost")
	if n := s.Flush(hangBound); n != 0 {
		t.Errorf("Flush: %d unwritten", n)
	}
	s.Close(hangBound)
	waitDone(t, s)
	p.closeWrite()
	if got, want := string(<-out), "lastcall: 1 log lines dropped\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if st := s.Stats(); st.Dropped != 1 || st.Written != 0 || errOut.Len() != 0 {
		t.Errorf("stats %+v, zap's error output %q; want 1 dropped and no error output", st, errOut.String())
	}
}
