package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lastcall-dev/lastcall/healthcheck"
)

// The healthcheck flags; each also reads LASTCALL_<FLAG> (see envName).
const (
	flagHTTP    = "http"
	flagTCP     = "tcp"
	flagDB      = "db"
	flagDBURL   = "db-url"
	flagTimeout = "timeout"
)

// dbFromEnv is --db's value when it is given without one: the URL then comes
// from --db-url, LASTCALL_DB_URL, then DATABASE_URL.
const dbFromEnv = "env"

const exitUnhealthy = 1

const (
	wantHTTPURL  = "an http:// or https:// URL like http://127.0.0.1:8080/healthz"
	wantHostPort = "HOST:PORT like 127.0.0.1:5432"
	wantTimeout  = "a duration > 0 like 3s or 500ms"
	wantDBURL    = "a PostgreSQL URL like postgres://app@127.0.0.1:5432/app (or key=value text)"
)

// probeFlags are the probes, one of which a healthcheck runs.
var probeFlags = []string{flagHTTP, flagTCP, flagDB}

// healthcheckSettings is the healthcheck command line resolved.
type healthcheckSettings struct {
	probe   string // flagHTTP, flagTCP or flagDB
	target  string // the URL, HOST:PORT or database URL
	timeout time.Duration
}

func newHealthcheckCommand(lookupEnv func(string) (string, bool), stdout, stderr io.Writer, code *int) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "healthcheck (--http URL | --tcp HOST:PORT | --db[=URL]) [--timeout DURATION]",
		Short: "Probe once, for Docker HEALTHCHECK and exec probes: exit 0 healthy, 1 unhealthy",
		Long: "healthcheck runs one probe, all of it within --timeout, and exits 0 when healthy\n" +
			"(one line on stdout: \"healthy: ...\"), 1 when not (one line on stderr: \"unhealthy: ...\"),\n" +
			"2 on a usage error. It needs no shell, curl or /etc files: it works in FROM scratch images.\n" +
			"Give the database URL in LASTCALL_DB_URL or DATABASE_URL rather than on the command line,\n" +
			"where every process can read it. Every flag also reads LASTCALL_<FLAG>; the flag wins.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q: healthcheck takes flags only; to give --db a URL write --db=URL "+
					"(better: put it in LASTCALL_DB_URL or DATABASE_URL)", healthcheck.Redact(args[0]))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if earlySignals != nil {
				earlySignals.Release() // a probe runs no child: signals act as usual
			}
			s, err := resolveHealthcheck(cmd.Flags(), lookupEnv)
			if err != nil {
				return err
			}
			*code = runHealthcheck(cmd.Context(), s, stdout, stderr)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.String(flagHTTP, "", "probe: GET `URL`; healthy on a 2xx status (redirects are not followed)")
	fs.String(flagTCP, "", "probe: connect to `HOST:PORT`; healthy when the connection opens")
	fs.String(flagDB, "", "probe: connect to PostgreSQL at `URL` and run SELECT 1; --db alone takes the URL from --db-url, LASTCALL_DB_URL, then DATABASE_URL")
	fs.Lookup(flagDB).NoOptDefVal = dbFromEnv
	fs.String(flagDBURL, "", "PostgreSQL `URL` for --db without a value (fallback: DATABASE_URL)")
	fs.String(flagTimeout, "3s", "`DURATION` of the whole probe")
	cmd.SetFlagErrorFunc(healthcheckFlagError)
	return cmd
}

// runHealthcheck runs the probe and prints its one line.
func runHealthcheck(ctx context.Context, s healthcheckSettings, stdout, stderr io.Writer) int {
	var r healthcheck.Result
	switch s.probe {
	case flagHTTP:
		r = healthcheck.HTTP(ctx, s.target, s.timeout)
	case flagTCP:
		r = healthcheck.TCP(ctx, s.target, s.timeout)
	default:
		r = healthcheck.DB(ctx, s.target, s.timeout)
	}
	if r.Healthy {
		fmt.Fprintf(stdout, "healthy: %s\n", r.Reason)
		return 0
	}
	fmt.Fprintf(stderr, "unhealthy: %s\n", r.Reason)
	return exitUnhealthy
}

// resolveHealthcheck picks the probe and checks its target. The probe comes
// from the command line when one is given there (LASTCALL_HTTP, _TCP and _DB
// are then ignored), else from those variables; exactly one is allowed.
// Every error it returns is a *usageError, and none shows a password.
func resolveHealthcheck(fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) (healthcheckSettings, error) {
	var s healthcheckSettings
	timeout, err := parseTimeout(lookup(fs, flagTimeout, lookupEnv))
	if err != nil {
		return s, err
	}
	s.timeout = timeout
	src, err := chooseProbe(fs, lookupEnv)
	if err != nil {
		return s, err
	}
	s.probe = src.flag
	switch src.flag {
	case flagHTTP:
		s.target, err = parseHTTPURL(src)
	case flagTCP:
		s.target, err = parseHostPort(src)
	default:
		s.target, err = databaseURL(src, fs, lookupEnv)
	}
	return s, err
}

// chooseProbe is the source of the one probe asked for.
func chooseProbe(fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) (source, error) {
	onCommandLine := false
	for _, name := range probeFlags {
		onCommandLine = onCommandLine || fs.Lookup(name).Changed
	}
	var chosen []source
	for _, name := range probeFlags {
		if onCommandLine != fs.Lookup(name).Changed {
			continue
		}
		if src := lookup(fs, name, lookupEnv); fs.Lookup(name).Changed || src.text != "" {
			chosen = append(chosen, src)
		}
	}
	switch len(chosen) {
	case 0:
		return source{}, usagef("healthcheck needs a probe: --http URL, --tcp HOST:PORT or --db[=URL] (see lastcall healthcheck --help)")
	case 1:
		return chosen[0], nil
	}
	return source{}, usagef("healthcheck runs one probe, got %s and %s", sourceName(chosen[0]), sourceName(chosen[1]))
}

// sourceName is how a usage error names where a setting came from.
func sourceName(s source) string {
	if s.env != "" {
		return s.env
	}
	return "--" + s.flag
}

func parseTimeout(src source) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(src.text))
	if err != nil || d <= 0 {
		return 0, src.invalid(wantTimeout)
	}
	return d, nil
}

func parseHTTPURL(src source) (string, error) {
	u, err := url.Parse(src.text)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", src.invalid(wantHTTPURL)
	}
	return src.text, nil
}

func parseHostPort(src source) (string, error) {
	_, port, err := net.SplitHostPort(src.text)
	if err != nil {
		return "", src.invalid(wantHostPort)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", src.invalid(wantHostPort)
	}
	return src.text, nil
}

// databaseURL is --db's URL; --db alone (or LASTCALL_DB=env) takes it from
// --db-url or LASTCALL_DB_URL, then DATABASE_URL.
func databaseURL(src source, fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) (string, error) {
	text := strings.TrimSpace(src.text)
	if text != dbFromEnv {
		if text == "" {
			return "", src.invalid(wantDBURL)
		}
		return src.text, nil
	}
	if dbURL := lookup(fs, flagDBURL, lookupEnv); dbURL.text != "" {
		return dbURL.text, nil
	}
	if v, ok := lookupEnv("DATABASE_URL"); ok && v != "" {
		return v, nil
	}
	return "", usagef("%s without a URL needs --db-url, %s or DATABASE_URL: want %s",
		sourceName(src), envName(flagDBURL), wantDBURL)
}

// healthcheckFlagError is flagError, with the accepted forms of the
// healthcheck's own flags.
func healthcheckFlagError(cmd *cobra.Command, err error) error {
	var needsValue *pflag.ValueRequiredError
	if errors.As(err, &needsValue) && needsValue.GetFlag() != nil {
		name := needsValue.GetFlag().Name
		switch name {
		case flagHTTP:
			return usagef("--%s needs a value: want %s", name, wantHTTPURL)
		case flagTCP:
			return usagef("--%s needs a value: want %s", name, wantHostPort)
		case flagDBURL:
			return usagef("--%s needs a value: want %s", name, wantDBURL)
		case flagTimeout:
			return usagef("--%s needs a value: want %s", name, wantTimeout)
		}
	}
	return flagError(cmd, err)
}
