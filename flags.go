package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"

	"github.com/lastcall-dev/lastcall/healthcheck"
	"github.com/lastcall-dev/lastcall/signals"
)

// The root flags. Each one is also read from LASTCALL_<FLAG> (see envName)
// when it was not given on the command line; the flag wins.
const (
	flagGrace         = "grace"
	flagLeftoverGrace = "leftover-grace"
	flagStopSignals   = "stop-signals"
	flagForwardTo     = "forward-to"
	flagRemapExit     = "remap-exit"
	flagLogLevel      = "log-level"
	flagLogFormat     = "log-format"
	flagStopTimeout   = "stop-timeout"
	flagPreStopDelay  = "pre-stop-delay"
	flagStopSequence  = "stop-sequence"
	flagRewrite       = "rewrite"
	flagSecondStop    = "second-stop"
	flagUser          = "user"
	flagParentDeath   = "parent-death-signal"
	flagDBCheck       = "db-check"
	flagDBTimeout     = "db-timeout"
	flagDBTag         = "db-tag"
	flagDBStrict      = "db-strict"
	flagDBShowQuery   = "db-show-query"
	flagWaitDB        = "wait-db"
)

// The accepted forms, said in usage errors.
const (
	wantDuration    = "a duration like 7s or 500ms"
	wantNonNegative = "a duration >= 0 like 7s or 500ms"
	wantSignals     = "signal names or numbers like TERM,INT,QUIT"
	wantSignal      = "a signal name or number like TERM that lastcall receives"
	wantForwardTo   = "child or group"
	wantRemap       = "FROM:TO exit codes 0-255 like 143:0"
	wantRemapEnv    = "FROM:TO exit codes 0-255 like 143:0,130:0"
	wantLogLevel    = "debug, info, warn or error"
	wantLogFormat   = "console or json"
	wantSequence    = "signals and waits like TERM,5s,INT,2s,KILL"
	wantRewrite     = "FROM:TO signals like INT:TERM (TO 0 drops FROM)"
	wantRewriteEnv  = "FROM:TO signals like INT:TERM,HUP:0"
	wantSecondStop  = "forward or kill"
	wantPositive    = "a duration > 0 like 30s"
)

// settings is the command line resolved: flags, then LASTCALL_* env, then defaults.
type settings struct {
	args           []string
	grace          time.Duration
	leftoverGrace  time.Duration
	stopSignals    []syscall.Signal
	forwardToGroup bool
	remap          signals.Remap
	logLevel       zapcore.Level
	logFormat      string

	graceSet        bool          // --grace given: it wins over the plan
	stopTimeout     time.Duration // 0: detect the platform's
	stopTimeoutFrom string        // the flag or env var that gave it
	preStopDelay    time.Duration
	stopSequence    []signals.SequenceStep
	rewrite         signals.Rewrite
	secondStopKills bool
	user            runAs          // zero: the child runs as lastcall does
	parentDeath     syscall.Signal // 0: none
	db              dbSettings
}

// usageError is a bad command line; lastcall prints it as one line and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// addFlags declares the root flags on fs. All are strings so that flag and
// env values go through the same parsers and the same error messages.
func addFlags(fs *pflag.FlagSet) {
	fs.String(flagGrace, "", "wait `DURATION` for the child after the stop signal is forwarded, then SIGKILL the whole tree\n(default: what the stop budget leaves, 7s with the default 10s budget)")
	fs.String(flagLeftoverGrace, "2s", "`DURATION` between SIGTERM and SIGKILL for descendants still alive after the child exits")
	fs.String(flagStopSignals, "TERM,INT,QUIT", "`LIST` of signals that begin a stop (see --grace, --stop-sequence)")
	fs.String(flagForwardTo, "child", "where forwarded signals go: `child|group` (group: the child's whole process group)")
	fs.StringArray(flagRemapExit, nil, "rewrite exit code `FROM:TO`, e.g. 143:0 (repeatable; env: comma-separated)")
	fs.String(flagLogLevel, "info", "log `LEVEL`: debug|info|warn|error")
	fs.String(flagLogFormat, "console", "log `FORMAT`: console|json")
	fs.String(flagStopTimeout, "", "the platform's stop budget: `DURATION` from its stop signal to its SIGKILL\n(default: detected, e.g. 10s Docker, 30s Kubernetes, 5s Fly.io; 10s otherwise)")
	fs.String(flagPreStopDelay, "0s", "on a stop signal, keep serving for `DURATION` before forwarding it (load-balancer drain)")
	fs.String(flagStopSequence, "", "send these signals on a stop, with waits, instead of the stop signal and --grace: `LIST` like TERM,5s,INT,2s,KILL")
	fs.StringArray(flagRewrite, nil, "rewrite forwarded signal `FROM:TO`, e.g. INT:TERM; TO 0 drops it (repeatable; env: comma-separated)")
	addDBFlags(fs)
	fs.String(flagParentDeath, "", "when lastcall's parent dies, act as if it had sent this `SIGNAL` (e.g. TERM: stop the app)")
	fs.String(flagUser, "", "run the child as `NAME|UID[:GROUP|GID]` with that user's groups and HOME (lastcall must be root)")
	fs.String(flagSecondStop, "forward", "what a second stop signal does: `forward|kill` (forward it again, or SIGKILL the tree at once)")
}

// envName is the environment variable that backs a flag: grace -> LASTCALL_GRACE.
func envName(flag string) string {
	return "LASTCALL_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// source is where one setting's text came from, for error messages.
type source struct {
	text string
	env  string // the env var's name, or "" for the flag or its default
	flag string
}

// invalid is the usage error for a text that is not what want says, with
// any password in the text masked.
func (s source) invalid(want string) error {
	// A database URL given to the wrong flag keeps its password out, also
	// where want quotes what a parser made of the text.
	text := healthcheck.Redact(s.text)
	msg := fmt.Sprintf("invalid value %q for --%s: want %s", text, s.flag, want)
	if s.env != "" {
		msg = fmt.Sprintf("invalid %s %q: want %s", s.env, text, want)
	}
	return &usageError{msg: healthcheck.Scrub(msg, s.text)}
}

// lookup returns a flag's text: the flag if given, else its env var if set
// and not empty, else the flag's default.
func lookup(fs *pflag.FlagSet, name string, lookupEnv func(string) (string, bool)) source {
	f := fs.Lookup(name)
	if !f.Changed {
		if v, ok := lookupEnv(envName(name)); ok && v != "" {
			return source{text: v, env: envName(name), flag: name}
		}
	}
	return source{text: f.Value.String(), flag: name}
}

// resolveSettings builds settings from the parsed flags, the environment and
// the positional arguments. Every error it returns is a *usageError.
func resolveSettings(fs *pflag.FlagSet, args []string, lookupEnv func(string) (string, bool)) (settings, error) {
	s := settings{args: args}
	var err error
	get := func(name string) source { return lookup(fs, name, lookupEnv) }
	if err = resolveStop(&s, get, func(name string) []source { return repeated(fs, name, lookupEnv) }); err != nil {
		return s, err
	}
	if s.leftoverGrace, err = parseGrace(get(flagLeftoverGrace)); err != nil {
		return s, err
	}
	if s.stopSignals, err = parseStopSignals(get(flagStopSignals)); err != nil {
		return s, err
	}
	if s.forwardToGroup, err = parseForwardTo(get(flagForwardTo)); err != nil {
		return s, err
	}
	if s.remap, err = parseRemap(repeated(fs, flagRemapExit, lookupEnv)); err != nil {
		return s, err
	}
	if s.logLevel, err = parseLogLevel(get(flagLogLevel)); err != nil {
		return s, err
	}
	if s.logFormat, err = parseLogFormat(get(flagLogFormat)); err != nil {
		return s, err
	}
	if s.db, err = resolveDB(get, lookupEnv); err != nil {
		return s, err
	}
	if src := get(flagParentDeath); src.text != "" {
		if s.parentDeath, err = parseStopSignal(src); err != nil {
			return s, err
		}
	}
	if src := get(flagUser); src.text != "" {
		if s.user, err = resolveUser(src); err != nil {
			return s, err
		}
	}
	if len(args) == 0 {
		return s, usagef("missing COMMAND: usage: lastcall [flags] [--] COMMAND [ARG...] (see lastcall --help)")
	}
	return s, nil
}

func parseGrace(src source) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(src.text))
	if err != nil {
		return 0, src.invalid(wantDuration)
	}
	if d < 0 {
		return 0, src.invalid(wantNonNegative)
	}
	return d, nil
}

func parseStopSignals(src source) ([]syscall.Signal, error) {
	sigs, err := signals.ParseList(src.text)
	if err != nil {
		return nil, src.invalid(fmt.Sprintf("%s (%v)", wantSignals, err))
	}
	for _, sig := range sigs {
		if !slices.Contains(signals.Forwardable(true), sig) {
			why := signals.NotForwarded()[sig]
			return nil, src.invalid(fmt.Sprintf("%s; lastcall never receives %s: %s", wantSignals, signals.Name(sig), why))
		}
	}
	return sigs, nil
}

// parseStopSignal reads one signal that lastcall can receive.
func parseStopSignal(src source) (syscall.Signal, error) {
	sig, err := signals.Parse(src.text)
	if err != nil || !slices.Contains(signals.Forwardable(true), sig) {
		return 0, src.invalid(wantSignal)
	}
	return sig, nil
}

func parseForwardTo(src source) (toGroup bool, err error) {
	switch strings.ToLower(strings.TrimSpace(src.text)) {
	case "child":
		return false, nil
	case "group":
		return true, nil
	}
	return false, src.invalid(wantForwardTo)
}

// repeated returns the items of a repeatable flag, or else its env var as
// one comma-separated item.
func repeated(fs *pflag.FlagSet, name string, lookupEnv func(string) (string, bool)) []source {
	var out []source
	if fs.Lookup(name).Changed {
		items, _ := fs.GetStringArray(name)
		for _, item := range items {
			out = append(out, source{text: item, flag: name})
		}
		return out
	}
	if v, ok := lookupEnv(envName(name)); ok && v != "" {
		out = append(out, source{text: v, env: envName(name), flag: name})
	}
	return out
}

// parseRemap reads every --remap-exit, or else LASTCALL_REMAP_EXIT as a
// comma-separated list.
func parseRemap(items []source) (signals.Remap, error) {
	remap := signals.Remap{}
	for _, src := range items {
		if err := remap.Add(src.text); err != nil {
			want := wantRemap
			if src.env != "" {
				want = wantRemapEnv
			}
			return nil, src.invalid(fmt.Sprintf("%s (%v)", want, err))
		}
	}
	return remap, nil
}

var logLevels = map[string]zapcore.Level{
	"debug": zapcore.DebugLevel,
	"info":  zapcore.InfoLevel,
	"warn":  zapcore.WarnLevel,
	"error": zapcore.ErrorLevel,
}

func parseLogLevel(src source) (zapcore.Level, error) {
	level, ok := logLevels[strings.ToLower(strings.TrimSpace(src.text))]
	if !ok {
		return 0, src.invalid(wantLogLevel)
	}
	return level, nil
}

func parseLogFormat(src source) (string, error) {
	format := strings.ToLower(strings.TrimSpace(src.text))
	if format != "console" && format != "json" {
		return "", src.invalid(wantLogFormat)
	}
	return format, nil
}

// flagError turns pflag's errors (unknown flag, missing value) into one line
// that names the flag and the accepted form.
func flagError(cmd *cobra.Command, err error) error {
	var notExist *pflag.NotExistError
	var needsValue *pflag.ValueRequiredError
	switch {
	case errors.As(err, &notExist) && cmd.HasParent():
		return usagef("unknown flag %s for %s: see %s --help", flagName(notExist), cmd.CommandPath(), cmd.CommandPath())
	case errors.As(err, &notExist):
		return usagef("unknown flag %s: see lastcall --help; to run a command, put it after the flags (lastcall [flags] [--] COMMAND [ARG...])", flagName(notExist))
	case errors.As(err, &needsValue) && needsValue.GetFlag() != nil:
		name := needsValue.GetFlag().Name
		return usagef("--%s needs a value: want %s", name, wantFor(name))
	}
	return usagef("%v (see lastcall --help)", err)
}

// flagName is the unknown flag as the user spelled it: --name or -x.
func flagName(err *pflag.NotExistError) string {
	if err.GetSpecifiedShortnames() != "" {
		return "-" + err.GetSpecifiedName()
	}
	return "--" + err.GetSpecifiedName()
}

// wantFor is the accepted form of a flag's value.
func wantFor(flag string) string {
	switch flag {
	case flagGrace, flagLeftoverGrace:
		return wantDuration
	case flagStopSignals:
		return wantSignals
	case flagForwardTo:
		return wantForwardTo
	case flagRemapExit:
		return wantRemap
	case flagLogLevel:
		return wantLogLevel
	case flagLogFormat:
		return wantLogFormat
	case flagStopTimeout:
		return wantPositive
	case flagPreStopDelay:
		return wantDuration
	case flagStopSequence:
		return wantSequence
	case flagRewrite:
		return wantRewrite
	case flagSecondStop:
		return wantSecondStop
	case flagUser:
		return wantUser
	case flagParentDeath:
		return wantSignal
	case flagDBCheck:
		return wantDBCheck
	case flagDBTimeout, flagWaitDB:
		return wantPositive
	case flagDBTag, flagDBStrict, flagDBShowQuery:
		return wantBool
	}
	return "a value"
}
