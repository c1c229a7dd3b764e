package logsink

import (
	"os"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// BenchmarkLog measures one log call on the caller's goroutine: encode and
// hand over (the sink), or encode and write(2) (zap's own core, today's
// path), with the fields of a typical lifecycle line.
//
//   - sink/flowing: the writer drains to /dev/null; a line the writer
//     cannot keep up with is dropped and counted (dropped/op).
//   - sink/stalled: the output is a full pipe whose reader is stopped:
//     the queue is full and every line is dropped.
//   - ioCore/devnull: zapcore.NewCore on /dev/null, one write(2) per line.
func BenchmarkLog(b *testing.B) {
	b.Run("sink/flowing", func(b *testing.B) {
		devNull := openDevNull(b)
		s := startSink(b, int(devNull.Fd()), Options{})
		benchLogger(b, zap.New(NewCore(s, testEncoder(), zapcore.InfoLevel, LevelOrStep(zapcore.WarnLevel, "stop"))))
		b.ReportMetric(float64(s.Stats().Dropped)/float64(b.N), "dropped/op")
		s.Close(hangBound)
		waitDone(b, s)
	})
	b.Run("sink/stalled", func(b *testing.B) {
		p := newPipe(b)
		p.fill(b)
		s := startSink(b, p.w, Options{})
		benchLogger(b, zap.New(NewCore(s, testEncoder(), zapcore.InfoLevel, LevelOrStep(zapcore.WarnLevel, "stop"))))
		b.ReportMetric(float64(s.Stats().Dropped)/float64(b.N), "dropped/op")
		out := p.drain()
		s.Close(hangBound)
		waitDone(b, s)
		p.closeWrite()
		<-out
	})
	b.Run("ioCore/devnull", func(b *testing.B) {
		devNull := openDevNull(b)
		benchLogger(b, zap.New(zapcore.NewCore(testEncoder(), zapcore.AddSync(devNull), zapcore.InfoLevel)))
	})
}

func benchLogger(b *testing.B, logger *zap.Logger) {
	b.ReportAllocs()
	for b.Loop() {
		logger.Info("forward", zap.String("signal", "SIGTERM"), zap.Int("child_pid", 4242), zap.String("step", "forward"))
	}
}

func openDevNull(b *testing.B) *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Close() })
	return f
}
