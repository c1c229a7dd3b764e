package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/lastcall-dev/lastcall/signals"
)

// cleanupMargin is the time lastcall keeps after its own SIGKILL, beyond
// --leftover-grace, to reap the tree and exit before the platform's SIGKILL.
const cleanupMargin = time.Second

// resolveStop reads the flags that shape a stop: --grace, --stop-timeout,
// --pre-stop-delay, --stop-sequence, --rewrite and --second-stop.
func resolveStop(s *settings, get func(string) source, many func(string) []source) error {
	var err error
	if src := get(flagGrace); src.text != "" {
		if s.grace, err = parseGrace(src); err != nil {
			return err
		}
		s.graceSet = true
	}
	if src := get(flagStopTimeout); src.text != "" {
		d, err := time.ParseDuration(strings.TrimSpace(src.text))
		if err != nil || d <= 0 {
			return src.invalid(wantPositive)
		}
		s.stopTimeout, s.stopTimeoutFrom = d, "--"+flagStopTimeout
		if src.env != "" {
			s.stopTimeoutFrom = src.env
		}
	}
	if s.preStopDelay, err = parseGrace(get(flagPreStopDelay)); err != nil {
		return err
	}
	if src := get(flagStopSequence); src.text != "" {
		if s.stopSequence, err = signals.ParseStopSequence(src.text); err != nil {
			return src.invalid(fmt.Sprintf("%s (%v)", wantSequence, err))
		}
		if s.graceSet {
			return usagef("--%s and --%s both set how long a stop waits: give one", flagGrace, flagStopSequence)
		}
	}
	if s.rewrite, err = parseRewrite(many(flagRewrite)); err != nil {
		return err
	}
	switch src := get(flagSecondStop); strings.ToLower(strings.TrimSpace(src.text)) {
	case "forward":
	case "kill":
		s.secondStopKills = true
	default:
		return src.invalid(wantSecondStop)
	}
	return nil
}

func parseRewrite(items []source) (signals.Rewrite, error) {
	rw := signals.Rewrite{}
	for _, src := range items {
		if err := rw.Add(src.text); err != nil {
			want := wantRewrite
			if src.env != "" {
				want = wantRewriteEnv
			}
			return nil, src.invalid(fmt.Sprintf("%s (%v)", want, err))
		}
	}
	return rw, nil
}

// stopPlan makes the stop plan from the settings and the platform, which is
// detected from the environment; --stop-timeout, when given, is the budget.
// It also says where the budget came from. A plan that cannot fit the
// budget comes with a warning to log.
func stopPlan(s settings, getenv func(string) string) (signals.StopPlan, signals.Platform, string, error) {
	_, err := os.Stat("/.dockerenv")
	platform := signals.DetectPlatform(getenv, err == nil)
	budgetFrom := "platform default"
	if s.stopTimeout > 0 {
		platform.StopTimeout, budgetFrom = s.stopTimeout, s.stopTimeoutFrom
	}
	plan, err := signals.PlanStop(signals.PlanInput{
		Budget:       platform.StopTimeout,
		Reserve:      s.leftoverGrace + cleanupMargin + s.dbReserve(),
		PreStopDelay: s.preStopDelay,
		Grace:        s.grace,
		GraceSet:     s.graceSet,
		Sequence:     s.stopSequence,
	})
	return plan, platform, budgetFrom, err
}

// dbReserve is the time the drain verdict may take after the tree is down,
// which the plan keeps inside the budget too.
func (s settings) dbReserve() time.Duration {
	if s.db.check == "off" {
		return 0
	}
	return s.db.timeout
}
