package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/signals"
	"github.com/lastcall-dev/lastcall/supervisor"
)

func TestStopPlanFromPlatformAndFlags(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		env      map[string]string
		set      Settings
		platform string
		plan     string
		tooLong  bool
	}{
		{"kubernetes", map[string]string{"KUBERNETES_SERVICE_HOST": "x"}, Settings{Config: supervisor.Config{LeftoverGrace: 2 * s}},
			"kubernetes", "0s the stop signal, 27s KILL", false},
		{"fly", map[string]string{"FLY_APP_NAME": "x"}, Settings{Config: supervisor.Config{LeftoverGrace: 2 * s}},
			"fly.io", "0s the stop signal, 2s KILL", false},
		{"--stop-timeout wins", map[string]string{"KUBERNETES_SERVICE_HOST": "x"}, Settings{Config: supervisor.Config{LeftoverGrace: 2 * s}, StopTimeout: 60 * s},
			"kubernetes", "0s the stop signal, 57s KILL", false},
		{"--grace wins", map[string]string{"DYNO": "web.1"}, Settings{Config: supervisor.Config{LeftoverGrace: 2 * s}, Stop: signals.PlanInput{Grace: 5 * s, GraceSet: true}},
			"heroku", "0s the stop signal, 5s KILL", false},
		{"--grace too long for fly", map[string]string{"FLY_APP_NAME": "x"}, Settings{Config: supervisor.Config{LeftoverGrace: 2 * s}, Stop: signals.PlanInput{Grace: 10 * s, GraceSet: true}},
			"fly.io", "0s the stop signal, 10s KILL", true},
		{"pre-stop delay", map[string]string{"RENDER": "true"}, Settings{Config: supervisor.Config{LeftoverGrace: time.Second}, Stop: signals.PlanInput{PreStopDelay: 10 * s}},
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

// An unclean PostgreSQL server turns exit 0 into 5, whatever remapped it
// to 0; a non-zero code stays, and a clean or unread server changes nothing.
func TestPostgresExit(t *testing.T) {
	clean := supervisor.PostgresOutcome{State: "shut down", Clean: true}
	unclean := supervisor.PostgresOutcome{State: "in production"}
	killedClean := supervisor.PostgresOutcome{State: "shut down", Clean: true, Killed: true}
	unread := supervisor.PostgresOutcome{Err: errors.New("data directory unknown")}
	tests := []struct {
		code    int
		servers []supervisor.PostgresOutcome
		want    int
	}{
		{0, nil, 0},
		{0, []supervisor.PostgresOutcome{clean}, 0},
		{0, []supervisor.PostgresOutcome{clean, unclean}, ExitPostgresUnclean},
		{0, []supervisor.PostgresOutcome{killedClean}, ExitPostgresUnclean},
		{0, []supervisor.PostgresOutcome{unread}, 0},
		{137, []supervisor.PostgresOutcome{unclean}, 137},
		{3, []supervisor.PostgresOutcome{unclean}, 3},
	}
	for _, tt := range tests {
		if got := postgresExit(tt.code, tt.servers); got != tt.want {
			t.Errorf("postgresExit(%d, %+v) = %d, want %d", tt.code, tt.servers, got, tt.want)
		}
	}
}
