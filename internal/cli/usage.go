package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lastcall-dev/lastcall/internal/redact"
)

// Exit codes of lastcall itself; see the main package for the whole list.
const (
	ExitFailed = 1 // lastcall itself failed
	ExitUsage  = 2 // a bad command line; the child never started
	// ExitPostgresUnclean: a PostgreSQL server of the tree did not shut
	// down cleanly (lastcall killed it, or its pg_control says so) and
	// lastcall would otherwise exit 0, after --remap-exit and --db-strict.
	ExitPostgresUnclean = 5
)

// UsageError is a bad command line: lastcall prints it as one line and
// exits ExitUsage. Its text never holds a password.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Usagef makes a *UsageError.
func Usagef(format string, a ...any) error { return &UsageError{msg: fmt.Sprintf(format, a...)} }

// ExitError ends a command with an exit code after its own output (a run
// of the child, a probe): nothing more is printed.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit %d", e.Code) }

// ExitCode is the exit code for err, the error a command returned: 0 for
// nil, ExitError's code, ExitUsage for a usage error, else ExitFailed.
// print says whether err is a line lastcall still has to print.
func ExitCode(err error) (code int, print bool) {
	var exit *ExitError
	var usage *UsageError
	switch {
	case err == nil:
		return 0, false
	case errors.As(err, &exit):
		return exit.Code, false
	case errors.As(err, &usage):
		return ExitUsage, true
	}
	return ExitFailed, true
}

// invalid is the usage error for a text that is not what want says, with
// any password in the text masked, also where want quotes what a parser
// made of the text.
func (s source) invalid(want string) error {
	text := redact.Redact(s.text)
	msg := fmt.Sprintf("invalid value %q for --%s: want %s", text, s.spec.name, want)
	if s.env != "" {
		msg = fmt.Sprintf("invalid %s %q: want %s", s.env, text, want)
	}
	return &UsageError{msg: redact.Scrub(msg, s.text)}
}

// wantHere is the accepted form where the text came from.
func (s source) wantHere() string {
	if s.env != "" && s.spec.wantEnv != "" {
		return s.spec.wantEnv
	}
	return s.spec.want
}

// invalidBecause is invalid with the parser's reason after the form.
func (s source) invalidBecause(err error) error {
	return s.invalid(fmt.Sprintf("%s (%v)", s.wantHere(), err))
}

func emptyValue(sp *spec) error {
	return Usagef("--%s needs a value: want %s", sp.name, sp.want)
}

// flagErrorFunc turns pflag's errors (unknown flag, missing value) into one
// line that names the flag and the accepted form, read from specs.
func flagErrorFunc(specs []spec) func(*cobra.Command, error) error {
	return func(cmd *cobra.Command, err error) error {
		var notExist *pflag.NotExistError
		var needsValue *pflag.ValueRequiredError
		switch {
		case errors.As(err, &notExist) && cmd.HasParent():
			return Usagef("unknown flag %s for %s: see %s --help", flagName(notExist), cmd.CommandPath(), cmd.CommandPath())
		case errors.As(err, &notExist):
			return Usagef("unknown flag %s: see lastcall --help; to run a command, put it after the flags "+
				"(lastcall [flags] [--] COMMAND [ARG...])", flagName(notExist))
		case errors.As(err, &needsValue) && needsValue.GetFlag() != nil:
			if sp := find(specs, needsValue.GetFlag().Name); sp != nil {
				return emptyValue(sp)
			}
		}
		return Usagef("%s (see lastcall --help)", redact.Redact(err.Error()))
	}
}

// flagName is the unknown flag as the user spelled it: --name or -x, with
// any password in it masked (a URL given as a flag name).
func flagName(err *pflag.NotExistError) string {
	name := err.GetSpecifiedName()
	if err.GetSpecifiedShortnames() != "" {
		return "-" + redact.Redact(name)
	}
	return "--" + redact.Redact(name)
}
