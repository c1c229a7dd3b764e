package cli

import (
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"

	"github.com/lastcall-dev/lastcall/healthcheck"
	"github.com/lastcall-dev/lastcall/signals"
	"github.com/lastcall-dev/lastcall/supervisor"
)

// envMap is a lookupEnv over a fixed set of variables.
func envMap(env map[string]string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		v, ok := env[key]
		return v, ok
	}
}

func TestResolveSettings(t *testing.T) {
	defaults := Settings{
		Config: supervisor.Config{
			Args:          []string{"app"},
			LeftoverGrace: 2 * time.Second,
			StopSignals:   []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT},
			Rewrite:       signals.Rewrite{},
			PostgresStop:  true,
		},
		Remap:     signals.Remap{},
		LogLevel:  zapcore.InfoLevel,
		LogFormat: "console",
		DB:        healthcheck.DBSettings{Check: healthcheck.CheckOff, Timeout: 3 * time.Second, Tag: true},
	}
	with := func(change func(*Settings)) Settings {
		s := defaults
		change(&s)
		return s
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want Settings
	}{
		{"defaults", []string{"app"}, nil, defaults},
		{"flags", []string{"--grace", "1m30s", "--leftover-grace=500ms", "--stop-signals", "INT,SIGUSR1", "--forward-to", "group",
			"--remap-exit", "143:0", "--remap-exit", "130:0,2:3", "--log-level", "debug", "--log-format", "json", "app"}, nil,
			with(func(s *Settings) {
				s.Stop.Grace, s.Stop.GraceSet, s.Config.LeftoverGrace = 90*time.Second, true, 500*time.Millisecond
				s.Config.StopSignals = []syscall.Signal{syscall.SIGINT, syscall.SIGUSR1}
				s.Config.ForwardToGroup = true
				s.Remap = signals.Remap{143: 0, 130: 0, 2: 3}
				s.LogLevel, s.LogFormat = zapcore.DebugLevel, "json"
			})},
		{"env", []string{"app"}, map[string]string{"LASTCALL_GRACE": "0s", "LASTCALL_LEFTOVER_GRACE": "1s",
			"LASTCALL_STOP_SIGNALS": "15", "LASTCALL_FORWARD_TO": "group", "LASTCALL_REMAP_EXIT": "143:0,130:0",
			"LASTCALL_LOG_LEVEL": "warn", "LASTCALL_LOG_FORMAT": "json"},
			with(func(s *Settings) {
				s.Stop.Grace, s.Stop.GraceSet, s.Config.LeftoverGrace = 0, true, time.Second
				s.Config.StopSignals = []syscall.Signal{syscall.SIGTERM}
				s.Config.ForwardToGroup = true
				s.Remap = signals.Remap{143: 0, 130: 0}
				s.LogLevel, s.LogFormat = zapcore.WarnLevel, "json"
			})},
		{"flag beats env", []string{"--grace", "3s", "--remap-exit", "1:0", "--log-level", "error", "app"},
			map[string]string{"LASTCALL_GRACE": "bad", "LASTCALL_REMAP_EXIT": "bad", "LASTCALL_LOG_LEVEL": "debug"},
			with(func(s *Settings) {
				s.Stop.Grace, s.Stop.GraceSet = 3*time.Second, true
				s.Remap = signals.Remap{1: 0}
				s.LogLevel = zapcore.ErrorLevel
			})},
		{"empty env is unset", []string{"app"}, map[string]string{"LASTCALL_GRACE": "", "LASTCALL_REMAP_EXIT": ""}, defaults},
		{"flags stop at COMMAND", []string{"--grace", "1s", "app", "--grace", "-w", "4"}, nil,
			with(func(s *Settings) {
				s.Stop.Grace, s.Stop.GraceSet, s.Config.Args = time.Second, true, []string{"app", "--grace", "-w", "4"}
			})},
		{"stop flags", []string{"--stop-timeout", "20s", "--pre-stop-delay", "5s", "--stop-sequence", "TERM,2s,INT,1s",
			"--rewrite", "INT:TERM", "--rewrite", "HUP:0", "--second-stop", "kill", "app"}, nil,
			with(func(s *Settings) {
				s.StopTimeout, s.StopTimeoutFrom, s.Stop.PreStopDelay = 20*time.Second, "--stop-timeout", 5*time.Second
				s.Stop.Sequence = []signals.SequenceStep{{Signal: syscall.SIGTERM, Wait: 2 * time.Second}, {Signal: syscall.SIGINT, Wait: time.Second}}
				s.Config.Rewrite = signals.Rewrite{syscall.SIGINT: syscall.SIGTERM, syscall.SIGHUP: 0}
				s.Config.SecondStopKills = true
			})},
		{"postgres stop off", []string{"--postgres-stop=false", "app"}, nil,
			with(func(s *Settings) { s.Config.PostgresStop = false })},
		{"postgres stop env", []string{"app"}, map[string]string{"LASTCALL_POSTGRES_STOP": "0"},
			with(func(s *Settings) { s.Config.PostgresStop = false })},
		{"db flags", []string{"--db-check", "both", "--db-url", "postgres://a@h/db", "--db-timeout", "2s", "--db-tag=false",
			"--db-strict", "true", "--db-show-query", "1", "--wait-db", "30s", "app"}, map[string]string{"DATABASE_URL": "postgres://other"},
			with(func(s *Settings) {
				s.DB = healthcheck.DBSettings{Check: healthcheck.CheckBoth, URL: "postgres://a@h/db", Timeout: 2 * time.Second,
					Strict: true, ShowQuery: true, WaitDB: 30 * time.Second}
			})},
		{"db env and DATABASE_URL", []string{"app"}, map[string]string{"LASTCALL_DB_CHECK": "local", "DATABASE_URL": "postgres://x@h/db",
			"LASTCALL_WAIT_DB": "5s"},
			with(func(s *Settings) {
				s.DB.Check, s.DB.URL, s.DB.WaitDB = healthcheck.CheckLocal, "postgres://x@h/db", 5*time.Second
			})},
		{"stop env", []string{"app"}, map[string]string{"LASTCALL_STOP_TIMEOUT": "1m", "LASTCALL_PRE_STOP_DELAY": "1s",
			"LASTCALL_REWRITE": "TERM:QUIT,INT:TERM", "LASTCALL_SECOND_STOP": "forward", "LASTCALL_STOP_SEQUENCE": "QUIT,3s,KILL"},
			with(func(s *Settings) {
				s.StopTimeout, s.StopTimeoutFrom, s.Stop.PreStopDelay = time.Minute, "LASTCALL_STOP_TIMEOUT", time.Second
				s.Stop.Sequence = []signals.SequenceStep{{Signal: syscall.SIGQUIT, Wait: 3 * time.Second}}
				s.Config.Rewrite = signals.Rewrite{syscall.SIGTERM: syscall.SIGQUIT, syscall.SIGINT: syscall.SIGTERM}
			})},
		{"double dash", []string{"--", "--grace"}, nil, with(func(s *Settings) { s.Config.Args = []string{"--grace"} })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("lastcall", pflag.ContinueOnError)
			fs.SetInterspersed(false)
			RegisterFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			got, err := Resolve(fs, fs.Args(), envMap(tc.env))
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Resolve(%q, %v) =\n%+v, %v\nwant\n%+v", tc.args, tc.env, got, err, tc.want)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct{ flag, want string }{
		{"grace", "LASTCALL_GRACE"},
		{"leftover-grace", "LASTCALL_LEFTOVER_GRACE"},
		{"stop-signals", "LASTCALL_STOP_SIGNALS"},
		{"forward-to", "LASTCALL_FORWARD_TO"},
		{"remap-exit", "LASTCALL_REMAP_EXIT"},
		{"log-level", "LASTCALL_LOG_LEVEL"},
		{"log-format", "LASTCALL_LOG_FORMAT"},
	}
	for _, tc := range tests {
		if got := envName(tc.flag); got != tc.want {
			t.Errorf("envName(%q) = %q, want %q", tc.flag, got, tc.want)
		}
	}
}

func TestAsyncPreemptOff(t *testing.T) {
	tests := []struct {
		godebug string
		want    bool
	}{
		{"", false},
		{"asyncpreemptoff=1", true},
		{"asyncpreemptoff=0", false},
		{"asyncpreemptoff=2", true},
		{"gctrace=1,asyncpreemptoff=1", true},
		{"asyncpreemptoff=1,gctrace=1", true},
		{"asyncpreemptoff=1,asyncpreemptoff=0", false},
		{"asyncpreemptoff=0,asyncpreemptoff=1", true},
		{"asyncpreemptoff=1,asyncpreemptoff=x", true},
		{"asyncpreemptoff=", false},
		{"asyncpreemptoff", false},
		{"xasyncpreemptoff=1", false},
		{" asyncpreemptoff=1", false},
		{"asyncpreemptoff=true", false},
	}
	for _, tc := range tests {
		if got := AsyncPreemptOff(tc.godebug); got != tc.want {
			t.Errorf("AsyncPreemptOff(%q) = %v, want %v", tc.godebug, got, tc.want)
		}
	}
}
