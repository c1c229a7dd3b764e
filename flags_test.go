package main

import (
	"bytes"
	"context"
	"reflect"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"

	"github.com/lastcall-dev/lastcall/signals"
)

// envMap is a lookupEnv over a fixed set of variables.
func envMap(env map[string]string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		v, ok := env[key]
		return v, ok
	}
}

func TestResolveSettings(t *testing.T) {
	defaults := settings{
		args:          []string{"app"},
		leftoverGrace: 2 * time.Second,
		stopSignals:   []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT},
		remap:         signals.Remap{},
		logLevel:      zapcore.InfoLevel,
		logFormat:     "console",
		rewrite:       signals.Rewrite{},
		db:            dbSettings{check: "off", timeout: 3 * time.Second, tag: true},
	}
	with := func(change func(*settings)) settings {
		s := defaults
		change(&s)
		return s
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want settings
	}{
		{"defaults", []string{"app"}, nil, defaults},
		{"flags", []string{"--grace", "1m30s", "--leftover-grace=500ms", "--stop-signals", "INT,SIGUSR1", "--forward-to", "group",
			"--remap-exit", "143:0", "--remap-exit", "130:0,2:3", "--log-level", "debug", "--log-format", "json", "app"}, nil,
			with(func(s *settings) {
				s.grace, s.graceSet, s.leftoverGrace = 90*time.Second, true, 500*time.Millisecond
				s.stopSignals = []syscall.Signal{syscall.SIGINT, syscall.SIGUSR1}
				s.forwardToGroup = true
				s.remap = signals.Remap{143: 0, 130: 0, 2: 3}
				s.logLevel, s.logFormat = zapcore.DebugLevel, "json"
			})},
		{"env", []string{"app"}, map[string]string{"LASTCALL_GRACE": "0s", "LASTCALL_LEFTOVER_GRACE": "1s",
			"LASTCALL_STOP_SIGNALS": "15", "LASTCALL_FORWARD_TO": "group", "LASTCALL_REMAP_EXIT": "143:0,130:0",
			"LASTCALL_LOG_LEVEL": "warn", "LASTCALL_LOG_FORMAT": "json"},
			with(func(s *settings) {
				s.grace, s.graceSet, s.leftoverGrace = 0, true, time.Second
				s.stopSignals = []syscall.Signal{syscall.SIGTERM}
				s.forwardToGroup = true
				s.remap = signals.Remap{143: 0, 130: 0}
				s.logLevel, s.logFormat = zapcore.WarnLevel, "json"
			})},
		{"flag beats env", []string{"--grace", "3s", "--remap-exit", "1:0", "--log-level", "error", "app"},
			map[string]string{"LASTCALL_GRACE": "bad", "LASTCALL_REMAP_EXIT": "bad", "LASTCALL_LOG_LEVEL": "debug"},
			with(func(s *settings) {
				s.grace, s.graceSet = 3*time.Second, true
				s.remap = signals.Remap{1: 0}
				s.logLevel = zapcore.ErrorLevel
			})},
		{"empty env is unset", []string{"app"}, map[string]string{"LASTCALL_GRACE": "", "LASTCALL_REMAP_EXIT": ""}, defaults},
		{"flags stop at COMMAND", []string{"--grace", "1s", "app", "--grace", "-w", "4"}, nil,
			with(func(s *settings) {
				s.grace, s.graceSet, s.args = time.Second, true, []string{"app", "--grace", "-w", "4"}
			})},
		{"stop flags", []string{"--stop-timeout", "20s", "--pre-stop-delay", "5s", "--stop-sequence", "TERM,2s,INT,1s",
			"--rewrite", "INT:TERM", "--rewrite", "HUP:0", "--second-stop", "kill", "app"}, nil,
			with(func(s *settings) {
				s.stopTimeout, s.stopTimeoutFrom, s.preStopDelay = 20*time.Second, "--stop-timeout", 5*time.Second
				s.stopSequence = []signals.SequenceStep{{Signal: syscall.SIGTERM, Wait: 2 * time.Second}, {Signal: syscall.SIGINT, Wait: time.Second}}
				s.rewrite = signals.Rewrite{syscall.SIGINT: syscall.SIGTERM, syscall.SIGHUP: 0}
				s.secondStopKills = true
			})},
		{"db flags", []string{"--db-check", "both", "--db-url", "postgres://a@h/db", "--db-timeout", "2s", "--db-tag=false",
			"--db-strict", "true", "--db-show-query", "1", "--wait-db", "30s", "app"}, map[string]string{"DATABASE_URL": "postgres://other"},
			with(func(s *settings) {
				s.db = dbSettings{check: "both", url: "postgres://a@h/db", timeout: 2 * time.Second, strict: true, showQuery: true,
					waitDB: 30 * time.Second}
			})},
		{"db env and DATABASE_URL", []string{"app"}, map[string]string{"LASTCALL_DB_CHECK": "local", "DATABASE_URL": "postgres://x@h/db",
			"LASTCALL_WAIT_DB": "5s"},
			with(func(s *settings) {
				s.db.check, s.db.url, s.db.waitDB = "local", "postgres://x@h/db", 5*time.Second
			})},
		{"stop env", []string{"app"}, map[string]string{"LASTCALL_STOP_TIMEOUT": "1m", "LASTCALL_PRE_STOP_DELAY": "1s",
			"LASTCALL_REWRITE": "TERM:QUIT,INT:TERM", "LASTCALL_SECOND_STOP": "forward", "LASTCALL_STOP_SEQUENCE": "QUIT,3s,KILL"},
			with(func(s *settings) {
				s.stopTimeout, s.stopTimeoutFrom, s.preStopDelay = time.Minute, "LASTCALL_STOP_TIMEOUT", time.Second
				s.stopSequence = []signals.SequenceStep{{Signal: syscall.SIGQUIT, Wait: 3 * time.Second}}
				s.rewrite = signals.Rewrite{syscall.SIGTERM: syscall.SIGQUIT, syscall.SIGINT: syscall.SIGTERM}
			})},
		{"double dash", []string{"--", "--grace"}, nil, with(func(s *settings) { s.args = []string{"--grace"} })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("lastcall", pflag.ContinueOnError)
			fs.SetInterspersed(false)
			addFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			got, err := resolveSettings(fs, fs.Args(), envMap(tc.env))
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("resolveSettings(%q, %v) =\n%+v, %v\nwant\n%+v", tc.args, tc.env, got, err, tc.want)
			}
		})
	}
}

// TestUsageErrorText runs lastcall in process with bad command lines (which
// never reach the supervisor) and checks the whole line.
func TestUsageErrorText(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad grace", []string{"--grace", "abc", "app"}, nil,
			`lastcall: invalid value "abc" for --grace: want a duration like 7s or 500ms` + "\n"},
		{"negative grace", []string{"--grace=-1s", "app"}, nil,
			`lastcall: invalid value "-1s" for --grace: want a duration >= 0 like 7s or 500ms` + "\n"},
		{"bad env grace", []string{"app"}, map[string]string{"LASTCALL_GRACE": "abc"},
			`lastcall: invalid LASTCALL_GRACE "abc": want a duration like 7s or 500ms` + "\n"},
		{"bad forward-to", []string{"--forward-to", "all", "app"}, nil,
			`lastcall: invalid value "all" for --forward-to: want child or group` + "\n"},
		{"bad log level", []string{"--log-level", "trace", "app"}, nil,
			`lastcall: invalid value "trace" for --log-level: want debug, info, warn or error` + "\n"},
		{"bad env log format", []string{"app"}, map[string]string{"LASTCALL_LOG_FORMAT": "text"},
			`lastcall: invalid LASTCALL_LOG_FORMAT "text": want console or json` + "\n"},
		{"flag without value", []string{"--leftover-grace"}, nil,
			`lastcall: --leftover-grace needs a value: want a duration like 7s or 500ms` + "\n"},
		{"unknown flag", []string{"--nope", "app"}, nil,
			`lastcall: unknown flag --nope: see lastcall --help; to run a command, put it after the flags (lastcall [flags] [--] COMMAND [ARG...])` + "\n"},
		{"missing command", nil, nil,
			`lastcall: missing COMMAND: usage: lastcall [flags] [--] COMMAND [ARG...] (see lastcall --help)` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := execute(context.Background(), tc.args, envMap(tc.env), &stdout, &stderr)
			if code != exitUsage || stderr.String() != tc.want || stdout.Len() != 0 {
				t.Errorf("execute(%q): code %d, stdout %q, stderr\n%q\nwant %d and\n%q", tc.args, code, stdout.String(), stderr.String(), exitUsage, tc.want)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct{ flag, want string }{
		{flagGrace, "LASTCALL_GRACE"},
		{flagLeftoverGrace, "LASTCALL_LEFTOVER_GRACE"},
		{flagStopSignals, "LASTCALL_STOP_SIGNALS"},
		{flagForwardTo, "LASTCALL_FORWARD_TO"},
		{flagRemapExit, "LASTCALL_REMAP_EXIT"},
		{flagLogLevel, "LASTCALL_LOG_LEVEL"},
		{flagLogFormat, "LASTCALL_LOG_FORMAT"},
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
		if got := asyncPreemptOff(tc.godebug); got != tc.want {
			t.Errorf("asyncPreemptOff(%q) = %v, want %v", tc.godebug, got, tc.want)
		}
	}
}

func TestVersionLine(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "v1.2.3"
	want := regexp.MustCompile(`^lastcall v1\.2\.3 \(commit \S+, go \S+\)$`)
	if got := versionLine(); !want.MatchString(got) {
		t.Errorf("versionLine() = %q, want match %s", got, want)
	}
}
