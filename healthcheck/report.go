package healthcheck

import (
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
)

// logReport writes the drain verdict as one line (machine-readable: verdict,
// reason, counts), then one line per transaction the server rolled back,
// per pooled session, per process that held the app's connections, and per
// session left behind; the samples' cost at debug level.
func logReport(log *zap.Logger, r DrainReport) {
	level := zapcore.InfoLevel
	if r.Verdict != Drained {
		level = zapcore.WarnLevel
	}
	log.Log(level, "drain verdict", zap.String("verdict", string(r.Verdict)), zap.String("reason", r.Reason),
		zap.Int("sessions_seen", r.Counts.Seen), zap.Int("rolled_back", r.Counts.RolledBack),
		zap.Int("pooled", r.Counts.Pooled), zap.Int("holders", r.Counts.Holders), zap.Int("left", r.Counts.Left),
		zap.Bool("advisory", r.Advisory), zap.Duration("waited", r.Waited), zap.String("step", "drain"))
	for _, rb := range r.RolledBack {
		f := []zap.Field{zap.Int("backend_pid", rb.Session.BackendPID), zap.String("state", rb.Session.State),
			zap.Uint32("xid", rb.Session.BackendXID), zap.Duration("xact_age", rb.XactAge().Round(time.Millisecond)),
			zap.Duration("ended_within", rb.GoneBy.Sub(rb.LastSeen).Round(time.Millisecond)),
			zap.String("client_addr", rb.Session.ClientAddr), zap.Int("client_port", rb.Session.ClientPort)}
		if rb.Session.Query != "" {
			f = append(f, zap.String("query", rb.Session.Query))
		}
		log.Warn("the server rolled back a transaction of the app's", append(f, zap.String("step", "drain"))...)
	}
	for _, p := range r.Pooled {
		f := append(sessionFields(p.Session), zap.String("rule", p.Rule))
		if len(p.Holders) > 0 {
			f = append(f, zap.Int("pooler_pid", p.Holders[0].PID), zap.String("pooler_cmd", p.Holders[0].Cmd))
		}
		log.Info("session held by a process outside lastcall's tree (pooled, not the app's)", f...)
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
	if c := r.Sampling; c.Samples > 0 {
		log.Debug("drain check samples", zap.Int("samples", c.Samples), zap.Duration("sample_avg", c.Avg),
			zap.Duration("sample_max", c.Max), zap.Duration("server_max", c.ServerMax), zap.String("step", "drain"))
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
