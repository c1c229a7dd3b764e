package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/lastcall-dev/lastcall/healthcheck"
	"github.com/lastcall-dev/lastcall/signals"
)

// The accepted forms that several flags share, said in usage errors.
const (
	wantDuration    = "a duration like 7s or 500ms"
	wantNonNegative = "a duration >= 0 like 7s or 500ms"
	wantPositive    = "a duration > 0 like 30s"
	wantSignals     = "signal names or numbers like TERM,INT,QUIT"
	wantSignal      = "a signal name or number like TERM that lastcall receives"
	wantBool        = "true or false"
	wantDBURL       = "a PostgreSQL URL like postgres://app@127.0.0.1:5432/app (or key=value text)"
	wantDBSource    = "--db-url, LASTCALL_DB_URL or DATABASE_URL"
)

// maxDuration is the longest duration lastcall takes, ten years: the plan
// adds several durations, and Go's time.Duration ends at about 292 years.
const maxDuration = 10 * 365 * 24 * time.Hour

// parseDuration reads a duration >= 0 (> 0 when positive) of at most
// maxDuration.
func parseDuration(src source, positive bool) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(src.text))
	switch {
	case err != nil:
		return 0, src.invalid(src.spec.want)
	case positive && d <= 0:
		return 0, src.invalid(src.spec.want) // the "> 0" form
	case d < 0:
		return 0, src.invalid(wantNonNegative)
	case d > maxDuration:
		return 0, src.invalid(src.spec.want + ", at most 87600h")
	}
	return d, nil
}

func parseBool(src source) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(src.text))
	if err != nil {
		return false, src.invalid(wantBool)
	}
	return b, nil
}

// parseSignal reads one signal that lastcall can receive.
func parseSignal(src source) (syscall.Signal, error) {
	sig, err := signals.Parse(src.text)
	if err != nil || !slices.Contains(signals.Forwardable(true), sig) {
		return 0, src.invalid(wantSignal)
	}
	return sig, nil
}

func setGrace(s *Settings, src source) (err error) {
	s.Stop.Grace, err = parseDuration(src, false)
	s.Stop.GraceSet = err == nil
	return err
}

func setLeftoverGrace(s *Settings, src source) (err error) {
	s.Config.LeftoverGrace, err = parseDuration(src, false)
	return err
}

func setPreStopDelay(s *Settings, src source) (err error) {
	s.Stop.PreStopDelay, err = parseDuration(src, false)
	return err
}

func setStopTimeout(s *Settings, src source) (err error) {
	s.StopTimeout, err = parseDuration(src, true)
	s.StopTimeoutFrom = src.name()
	return err
}

func setDBTimeout(s *Settings, src source) (err error) {
	s.DB.Timeout, err = parseDuration(src, true)
	return err
}

func setWaitDB(s *Settings, src source) (err error) {
	s.DB.WaitDB, err = parseDuration(src, false)
	return err
}

func setDBTag(s *Settings, src source) (err error) {
	s.DB.Tag, err = parseBool(src)
	return err
}

func setDBStrict(s *Settings, src source) (err error) {
	s.DB.Strict, err = parseBool(src)
	return err
}

func setDBShowQuery(s *Settings, src source) (err error) {
	s.DB.ShowQuery, err = parseBool(src)
	return err
}

func setPostgresStop(s *Settings, src source) (err error) {
	s.Config.PostgresStop, err = parseBool(src)
	return err
}

func setDBCheck(s *Settings, src source) (err error) {
	if s.DB.Check, err = healthcheck.ParseCheckMode(src.text); err != nil {
		return src.invalid(src.spec.want)
	}
	return nil
}

func setStopSignals(s *Settings, src source) error {
	sigs, err := signals.ParseList(src.text)
	if err != nil {
		return src.invalidBecause(err)
	}
	for _, sig := range sigs {
		if !slices.Contains(signals.Forwardable(true), sig) {
			why := signals.NotForwarded()[sig]
			return src.invalid(fmt.Sprintf("%s; lastcall never receives %s: %s", wantSignals, signals.Name(sig), why))
		}
	}
	s.Config.StopSignals = sigs
	return nil
}

func setParentDeath(s *Settings, src source) (err error) {
	s.ParentDeath, err = parseSignal(src)
	return err
}

func setForwardTo(s *Settings, src source) error {
	switch strings.ToLower(strings.TrimSpace(src.text)) {
	case "child":
		s.Config.ForwardToGroup = false
	case "group":
		s.Config.ForwardToGroup = true
	default:
		return src.invalid(src.spec.want)
	}
	return nil
}

func setSecondStop(s *Settings, src source) error {
	switch strings.ToLower(strings.TrimSpace(src.text)) {
	case "forward":
		s.Config.SecondStopKills = false
	case "kill":
		s.Config.SecondStopKills = true
	default:
		return src.invalid(src.spec.want)
	}
	return nil
}

var logLevels = map[string]zapcore.Level{
	"debug": zapcore.DebugLevel,
	"info":  zapcore.InfoLevel,
	"warn":  zapcore.WarnLevel,
	"error": zapcore.ErrorLevel,
}

func setLogLevel(s *Settings, src source) error {
	level, ok := logLevels[strings.ToLower(strings.TrimSpace(src.text))]
	if !ok {
		return src.invalid(src.spec.want)
	}
	s.LogLevel = level
	return nil
}

func setLogFormat(s *Settings, src source) error {
	format := strings.ToLower(strings.TrimSpace(src.text))
	if format != "console" && format != "json" {
		return src.invalid(src.spec.want)
	}
	s.LogFormat = format
	return nil
}

func setStopSequence(s *Settings, src source) error {
	seq, err := signals.ParseStopSequence(src.text)
	if err != nil {
		return src.invalidBecause(err)
	}
	var total time.Duration
	for _, step := range seq {
		if step.Wait > maxDuration || total > maxDuration-step.Wait {
			return src.invalid(src.spec.want + ", waits of at most 87600h in all")
		}
		total += step.Wait
	}
	s.Stop.Sequence = seq
	return nil
}

// setRemap reads every --remap-exit, or else LASTCALL_REMAP_EXIT.
func setRemap(s *Settings, items []source) error { return addEach(items, s.Remap.Add) }

// setRewrite reads every --rewrite, or else LASTCALL_REWRITE.
func setRewrite(s *Settings, items []source) error { return addEach(items, s.Config.Rewrite.Add) }

// addEach adds every item of a repeatable flag with add.
func addEach(items []source, add func(string) error) error {
	for _, src := range items {
		if err := add(src.text); err != nil {
			return src.invalidBecause(err)
		}
	}
	return nil
}
