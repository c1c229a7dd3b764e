package main

import (
	"strings"
	"testing"
	"time"
)

func TestStopPlanFromPlatformAndFlags(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		env      map[string]string
		set      settings
		platform string
		plan     string
		tooLong  bool
	}{
		{"kubernetes", map[string]string{"KUBERNETES_SERVICE_HOST": "x"}, settings{leftoverGrace: 2 * s},
			"kubernetes", "0s the stop signal, 27s KILL", false},
		{"fly", map[string]string{"FLY_APP_NAME": "x"}, settings{leftoverGrace: 2 * s},
			"fly.io", "0s the stop signal, 2s KILL", false},
		{"--stop-timeout wins", map[string]string{"KUBERNETES_SERVICE_HOST": "x"}, settings{leftoverGrace: 2 * s, stopTimeout: 60 * s},
			"kubernetes", "0s the stop signal, 57s KILL", false},
		{"--grace wins", map[string]string{"DYNO": "web.1"}, settings{leftoverGrace: 2 * s, grace: 5 * s, graceSet: true},
			"heroku", "0s the stop signal, 5s KILL", false},
		{"--grace too long for fly", map[string]string{"FLY_APP_NAME": "x"}, settings{leftoverGrace: 2 * s, grace: 10 * s, graceSet: true},
			"fly.io", "0s the stop signal, 10s KILL", true},
		{"pre-stop delay", map[string]string{"RENDER": "true"}, settings{leftoverGrace: time.Second, preStopDelay: 10 * s},
			"render", "0s wait, 10s the stop signal, 28s KILL", false},
	}
	for _, tt := range tests {
		plan, platform, _, err := stopPlan(tt.set, func(k string) string { return tt.env[k] })
		if plan.String() != tt.plan || (err != nil) != tt.tooLong || !strings.HasPrefix(platform.Name, tt.platform) {
			t.Errorf("%s: plan %q, platform %q, err %v; want %q, %q, too long %v",
				tt.name, plan, platform.Name, err, tt.plan, tt.platform, tt.tooLong)
		}
	}
}

// A plan that cannot fit the budget is a warning at start, not an error.
func TestPlanTooLongWarns(t *testing.T) {
	got := runLastcall(t, t.TempDir(), []string{"FLY_APP_NAME=x"}, "--grace", "10s", "--", "true")
	if got.code != 0 || !strings.Contains(got.stderr, "the stop plan ends after the platform's SIGKILL") ||
		!strings.Contains(got.stderr, "fly.io") {
		t.Errorf("exit %d, stderr %q; want 0 and a warning naming fly.io", got.code, got.stderr)
	}
}
