package cli

import (
	"io"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lastcall-dev/lastcall/internal/logsink"
)

// importantSteps are the lines a stalled output keeps when it must drop
// some: with every warning and error, how a stop went and how the run ended.
var importantSteps = []string{"stop", "escalate", "leftovers", "exit", "drain", "postgres"}

// newLogger is lastcall's one logger. It writes to w (stderr: stdout belongs
// to the app), with ISO8601 times, no sampling and no stack traces at error
// level or below, so every event stays one line. When w is a *logsink.Sink
// (lastcall's stderr), a log call never waits for the output: see
// internal/logsink.
func newLogger(w io.Writer, level zapcore.Level, format string) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = utcISO8601
	enc.EncodeDuration = zapcore.StringDurationEncoder
	var encoder zapcore.Encoder
	if format == "json" {
		encoder = zapcore.NewJSONEncoder(enc)
	} else {
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	}
	if sink, ok := w.(*logsink.Sink); ok {
		sink.SetDroppedLine(logsink.DroppedLine(encoder, "lastcall"))
		core := logsink.NewCore(sink, encoder, level, logsink.LevelOrStep(zapcore.WarnLevel, importantSteps...))
		return zap.New(core, zap.AddStacktrace(zapcore.DPanicLevel), zap.ErrorOutput(sink)).Named("lastcall")
	}
	// Each entry is one write(2); there is nothing to sync, and fsync on a
	// pipe or terminal only fails.
	core := zapcore.NewCore(encoder, zapcore.Lock(noSync{w}), level)
	return zap.New(core, zap.AddStacktrace(zapcore.DPanicLevel)).Named("lastcall")
}

// AsyncPreemptOff reports whether a GODEBUG value turns the Go runtime's
// asynchronous preemption off. Only then does the runtime stop sending itself
// SIGURG, and only then may lastcall forward SIGURG to the child.
//
// It reads GODEBUG the way the runtime does at startup: a comma-separated list
// of key=value, left to right, the last valid setting of a key wins, a value
// that is not a 32-bit integer is ignored, and any non-zero value means off.
func AsyncPreemptOff(godebug string) bool {
	off := false
	for setting := range strings.SplitSeq(godebug, ",") {
		key, value, ok := strings.Cut(setting, "=")
		if !ok || key != "asyncpreemptoff" {
			continue
		}
		if n, err := strconv.ParseInt(value, 10, 32); err == nil {
			off = n != 0
		}
	}
	return off
}

// utcISO8601 writes times in UTC, as containers and log collectors expect,
// without loading the local time zone from /etc/localtime at the first line.
func utcISO8601(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
	enc.AppendString(t.UTC().Format("2006-01-02T15:04:05.000Z"))
}

// noSync is a WriteSyncer whose Sync does nothing.
type noSync struct{ io.Writer }

func (noSync) Sync() error { return nil }
