package healthcheck

import (
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
)

// logReport writes the drain verdict as one line (machine-readable: verdict,
// reason, counts), then one line per session the exit rolled back, per
// process that held the app's connections, and per session left behind.
func logReport(log *zap.Logger, r DrainReport) {
	level := zapcore.InfoLevel
	if r.Verdict != Drained {
		level = zapcore.WarnLevel
	}
	log.Log(level, "drain verdict", zap.String("verdict", string(r.Verdict)), zap.String("reason", r.Reason),
		zap.Int("sessions_seen", r.Counts.Seen), zap.Int("rolled_back", r.Counts.RolledBack),
		zap.Int("holders", r.Counts.Holders), zap.Int("left", r.Counts.Left),
		zap.Bool("advisory", r.Advisory), zap.Duration("waited", r.Waited), zap.String("step", "drain"))
	for _, s := range r.RolledBack {
		log.Warn("session was in the middle of work when the app exited: rolled back", sessionFields(s)...)
	}
	for _, h := range r.Holders {
		log.Warn("a process held the app's database connection after the app exited",
			zap.Int("holder_pid", h.PID), zap.String("holder_cmd", h.Cmd), zap.String("network", h.Network),
			zap.String("local", h.Local), zap.String("remote", h.Remote), zap.String("state", h.State),
			zap.String("step", "drain"))
	}
	for _, s := range r.Leaked {
		log.Warn("session still open on the server", sessionFields(s)...)
	}
}

func sessionFields(s pgconn.Session) []zap.Field {
	now := time.Now()
	f := []zap.Field{zap.Int("backend_pid", s.BackendPID), zap.String("application_name", s.ApplicationName),
		zap.String("client_addr", s.ClientAddr), zap.Int("client_port", s.ClientPort), zap.String("state", s.State)}
	if !s.BackendStart.IsZero() {
		f = append(f, zap.Duration("backend_age", now.Sub(s.BackendStart).Round(time.Millisecond)))
	}
	if !s.XactStart.IsZero() {
		f = append(f, zap.Duration("xact_age", now.Sub(s.XactStart).Round(time.Millisecond)))
	}
	if s.Query != "" {
		f = append(f, zap.String("query", s.Query))
	}
	return append(f, zap.String("step", "drain"))
}
