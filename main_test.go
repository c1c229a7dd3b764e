package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"go.uber.org/goleak"

	"github.com/lastcall-dev/lastcall/internal/cli"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// envMap is a lookupEnv over a fixed set of variables.
func envMap(env map[string]string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		v, ok := env[key]
		return v, ok
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
		{"empty grace", []string{"--grace=", "app"}, nil,
			`lastcall: --grace needs a value: want a duration like 7s or 500ms` + "\n"},
		{"empty user", []string{"--user=", "app"}, nil,
			`lastcall: --user needs a value: want a user name or UID, with an optional :GROUP or :GID, like app or 1000:1000` + "\n"},
		{"empty repeatable", []string{"--remap-exit", "143:0", "--remap-exit=", "app"}, nil,
			`lastcall: --remap-exit needs a value: want FROM:TO exit codes 0-255 like 143:0` + "\n"},
		{"empty db url", []string{"--db-url=", "--db-check=local", "app"}, nil,
			`lastcall: --db-url needs a value: want a PostgreSQL URL like postgres://app@127.0.0.1:5432/app (or key=value text)` + "\n"},
		{"grace that would overflow", []string{"--grace=9223372036854775807ns", "--pre-stop-delay=1ns", "app"}, nil,
			`lastcall: invalid value "9223372036854775807ns" for --grace: want a duration like 7s or 500ms, at most 87600h` + "\n"},
		{"waits that would overflow", []string{"--stop-sequence=TERM,87000h,INT,87000h,KILL", "app"}, nil,
			`lastcall: invalid value "TERM,87000h,INT,87000h,KILL" for --stop-sequence: want signals and waits like TERM,5s,INT,2s,KILL, waits of at most 87600h in all` + "\n"},
		{"missing command", nil, nil,
			`lastcall: missing COMMAND: usage: lastcall [flags] [--] COMMAND [ARG...] (see lastcall --help)` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := execute(context.Background(), tc.args, cli.Env{LookupEnv: envMap(tc.env), Stdout: &stdout, Stderr: &stderr})
			if code != cli.ExitUsage || stderr.String() != tc.want || stdout.Len() != 0 {
				t.Errorf("execute(%q): code %d, stdout %q, stderr\n%q\nwant %d and\n%q", tc.args, code, stdout.String(), stderr.String(), cli.ExitUsage, tc.want)
			}
		})
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
