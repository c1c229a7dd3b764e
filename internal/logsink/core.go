package logsink

import (
	"bytes"
	"slices"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Importance reports whether a log entry is important: kept in a full
// queue at the expense of an unimportant line. fields are the fields of
// the call, not those added with Logger.With. It runs on the logging
// goroutine and must be quick.
type Importance func(ent zapcore.Entry, fields []zapcore.Field) bool

// LevelOrStep is the Importance of entries at level min or above, and of
// entries with a string field "step" whose value is one of steps.
func LevelOrStep(min zapcore.Level, steps ...string) Importance {
	steps = slices.Clone(steps)
	return func(ent zapcore.Entry, fields []zapcore.Field) bool {
		if ent.Level >= min {
			return true
		}
		for _, f := range fields {
			if f.Key == "step" && f.Type == zapcore.StringType && slices.Contains(steps, f.String) {
				return true
			}
		}
		return false
	}
}

// NewCore returns a zapcore.Core that encodes entries enabled by enab with
// enc, on the caller's goroutine, and hands each line to sink without
// waiting; important (nil: nothing is important) ranks the lines for a full
// queue. Its Write never fails (a line lost is counted in the sink's
// Stats) and its Sync does nothing.
func NewCore(sink *Sink, enc zapcore.Encoder, enab zapcore.LevelEnabler, important Importance) zapcore.Core {
	if important == nil {
		important = func(zapcore.Entry, []zapcore.Field) bool { return false }
	}
	return &core{LevelEnabler: enab, enc: enc, sink: sink, important: important}
}

type core struct {
	zapcore.LevelEnabler
	enc       zapcore.Encoder
	sink      *Sink
	important Importance
}

// Level lets zap tell the core's minimum level (zapcore.LevelOf).
func (c *core) Level() zapcore.Level { return zapcore.LevelOf(c.LevelEnabler) }

func (c *core) With(fields []zapcore.Field) zapcore.Core {
	clone := *c
	clone.enc = c.enc.Clone()
	for _, f := range fields {
		f.AddTo(clone.enc)
	}
	return &clone
}

func (c *core) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

// Write encodes the entry and queues the line. It returns nil even when
// the line is lost: an error would make zap write to its ErrorOutput.
func (c *core) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	buf, err := c.enc.EncodeEntry(ent, fields)
	if err != nil {
		c.sink.dropped()
		return nil
	}
	c.sink.push(buf, c.important(ent, fields))
	return nil
}

func (c *core) Sync() error { return nil }

// DroppedLine returns an Options.DroppedLine that encodes the report with
// enc, like the other lines: a WARN entry of the logger named name, with
// the message "log lines dropped" and the fields dropped (the count) and
// step ("log"). enc must be the encoder given to NewCore, before any With.
func DroppedLine(enc zapcore.Encoder, name string) func(n uint64) []byte {
	return func(n uint64) []byte {
		ent := zapcore.Entry{Level: zapcore.WarnLevel, Time: time.Now(), LoggerName: name, Message: "log lines dropped"}
		buf, err := enc.EncodeEntry(ent, []zapcore.Field{zap.Uint64("dropped", n), zap.String("step", "log")})
		if err != nil {
			return plainDroppedLine(n)
		}
		defer buf.Free()
		return bytes.Clone(buf.Bytes())
	}
}
