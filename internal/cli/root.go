package cli

import (
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"

	"github.com/lastcall-dev/lastcall/healthcheck"
	"github.com/lastcall-dev/lastcall/signals"
	"github.com/lastcall-dev/lastcall/supervisor"
)

// Settings is lastcall's command line resolved: flags, then LASTCALL_*
// variables, then defaults. It feeds the supervisor, the stop plan and the
// database features directly.
type Settings struct {
	// Config is the supervisor's configuration as far as the command line
	// sets it: Args, LeftoverGrace, StopSignals, SecondStopKills, Rewrite,
	// ForwardToGroup, PostgresStop and, with --user, Credential. Run fills
	// in the rest.
	Config supervisor.Config
	// Stop is the stop plan's input as far as the command line sets it:
	// Grace, GraceSet, PreStopDelay, Sequence. Run adds the budget.
	Stop signals.PlanInput
	// StopTimeout is --stop-timeout (0: detect the platform's), and
	// StopTimeoutFrom the flag or variable that gave it.
	StopTimeout     time.Duration
	StopTimeoutFrom string
	Remap           signals.Remap
	LogLevel        zapcore.Level
	LogFormat       string // console or json
	ParentDeath     syscall.Signal
	Home            string // --user's HOME for the child; "" without --user
	DB              healthcheck.DBSettings
}

// The root flags, in the order --help lists them and Resolve reads them.
var rootSpecs = []spec{
	{name: "grace", usage: "wait `DURATION` for the child after the stop signal is forwarded, then SIGKILL the whole tree\n" +
		"(default: what the stop budget leaves, 7s with the default 10s budget)", want: wantDuration, set: setGrace},
	{name: "leftover-grace", def: "2s", want: wantDuration, set: setLeftoverGrace,
		usage: "`DURATION` between SIGTERM and SIGKILL for descendants still alive after the child exits"},
	{name: "stop-signals", def: "TERM,INT,QUIT", want: wantSignals, set: setStopSignals,
		usage: "`LIST` of signals that begin a stop (see --grace, --stop-sequence)"},
	{name: "forward-to", def: "child", want: "child or group", set: setForwardTo,
		usage: "where forwarded signals go: `child|group` (group: the child's whole process group)"},
	{name: "remap-exit", want: "FROM:TO exit codes 0-255 like 143:0", wantEnv: "FROM:TO exit codes 0-255 like 143:0,130:0",
		setAll: setRemap, usage: "rewrite exit code `FROM:TO`, e.g. 143:0 (repeatable; env: comma-separated)"},
	{name: "log-level", def: "info", want: "debug, info, warn or error", set: setLogLevel,
		usage: "log `LEVEL`: debug|info|warn|error"},
	{name: "log-format", def: "console", want: "console or json", set: setLogFormat, usage: "log `FORMAT`: console|json"},
	{name: "stop-timeout", want: wantPositive, set: setStopTimeout,
		usage: "the platform's stop budget: `DURATION` from its stop signal to its SIGKILL\n" +
			"(default: detected, e.g. 10s Docker, 30s Kubernetes, 5s Fly.io; 10s otherwise)"},
	{name: "pre-stop-delay", def: "0s", want: wantDuration, set: setPreStopDelay,
		usage: "on a stop signal, keep serving for `DURATION` before forwarding it (load-balancer drain)"},
	{name: "stop-sequence", want: "signals and waits like TERM,5s,INT,2s,KILL", set: setStopSequence,
		usage: "send these signals on a stop, with waits, instead of the stop signal and --grace: `LIST` like TERM,5s,INT,2s,KILL"},
	{name: "rewrite", want: "FROM:TO signals like INT:TERM (TO 0 drops FROM)", wantEnv: "FROM:TO signals like INT:TERM,HUP:0",
		setAll: setRewrite, usage: "rewrite forwarded signal `FROM:TO`, e.g. INT:TERM; TO 0 drops it (repeatable; env: comma-separated)"},
	{name: "postgres-stop", def: "true", want: wantBool, set: setPostgresStop,
		usage: "stop a PostgreSQL server in the tree as it wants: SIGINT (fast shutdown) for SIGTERM, after the app,\n" +
			"with the rest of the budget; then read its pg_control, and exit 5 if it did not shut down cleanly: `true|false`"},
	{name: "db-check", def: "off", want: healthcheck.WantCheckMode, set: setDBCheck,
		usage: "Postgres drain check at shutdown: `off|local|server|both`"},
	{name: "db-url", want: wantDBURL, set: func(s *Settings, src source) error { s.DB.URL = src.text; return nil },
		usage: "the app's database `URL` (default: DATABASE_URL); prefer the env var: a command line is readable by all"},
	{name: "db-timeout", def: "3s", want: wantPositive, set: setDBTimeout,
		usage: "how long the drain verdict may wait once the tree is down (`DURATION`)"},
	{name: "db-tag", def: "true", want: wantBool, set: setDBTag,
		usage: "tag the app's sessions with a per-instance PGAPPNAME (unless it sets one): `true|false`"},
	{name: "db-strict", def: "false", want: wantBool, set: setDBStrict,
		usage: "exit 3 when the drain check finds a leak or a proven rollback and lastcall would exit 0 (after --remap-exit): `true|false`"},
	{name: "db-show-query", def: "false", want: wantBool, set: setDBShowQuery,
		usage: "log the query text of sessions left behind (it may hold data): `true|false`"},
	{name: "wait-db", def: "0s", want: wantDuration, set: setWaitDB,
		usage: "before starting the app, wait up to `DURATION` for the database to accept connections (0: do not wait)"},
	{name: "parent-death-signal", want: wantSignal, set: setParentDeath,
		usage: "when lastcall's parent dies, act as if it had sent this `SIGNAL` (e.g. TERM: stop the app)"},
	{name: "user", want: wantUser, set: setUser,
		usage: "run the child as `NAME|UID[:GROUP|GID]` with that user's groups and HOME (lastcall must be root)"},
	{name: "second-stop", def: "forward", want: "forward or kill", set: setSecondStop,
		usage: "what a second stop signal does: `forward|kill` (forward it again, or SIGKILL the tree at once)"},
}

// RegisterFlags declares the root flags on fs.
func RegisterFlags(fs *pflag.FlagSet) { register(fs, rootSpecs) }

// Resolve builds the Settings from the parsed root flags, the environment
// and the positional arguments (COMMAND [ARG...]). Every error it returns
// is a *UsageError.
func Resolve(fs *pflag.FlagSet, args []string, lookupEnv func(string) (string, bool)) (Settings, error) {
	lookupEnv, err := withSecretFiles(lookupEnv)
	if err != nil {
		return Settings{}, err
	}
	s := Settings{Remap: signals.Remap{}}
	s.Config.Args = args
	s.Config.Rewrite = signals.Rewrite{}
	if err := apply(&s, fs, rootSpecs, lookupEnv); err != nil {
		return s, err
	}
	if s.DB.URL == "" {
		s.DB.URL, _ = lookupEnv("DATABASE_URL")
	}
	if err := s.check(); err != nil {
		return s, err
	}
	if len(args) == 0 {
		return s, Usagef("missing COMMAND: usage: lastcall [flags] [--] COMMAND [ARG...] (see lastcall --help)")
	}
	return s, nil
}

// check holds the rules between flags.
func (s *Settings) check() error {
	if s.Stop.GraceSet && s.Stop.Sequence != nil {
		return Usagef("--grace and --stop-sequence both set how long a stop waits: give one")
	}
	if (s.DB.Check.On() || s.DB.WaitDB > 0) && strings.TrimSpace(s.DB.URL) == "" {
		return Usagef("--db-check and --wait-db need the database URL: want %s in %s", wantDBURL, wantDBSource)
	}
	return nil
}
