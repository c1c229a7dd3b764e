package cli

import (
	"context"
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

// dbFromEnv is --db's value when it is given without one: the URL then comes
// from --db-url, LASTCALL_DB_URL, then DATABASE_URL.
const dbFromEnv = "env"

// ExitUnhealthy is the exit code of a probe that found the target unhealthy.
const ExitUnhealthy = 1

// Probe is the healthcheck command line resolved.
type Probe struct {
	kind    string // http, tcp or db
	target  string // the URL, HOST:PORT or database URL
	timeout time.Duration
}

// The healthcheck flags. The probes' set funcs only check the target;
// chooseProbe picks which one runs.
var probeSpecs = []spec{
	{name: "http", want: "an http:// or https:// URL like http://127.0.0.1:8080/healthz", set: checkHTTPURL,
		usage: "probe: GET `URL`; healthy on a 2xx status (redirects are not followed)"},
	{name: "tcp", want: "HOST:PORT like 127.0.0.1:5432", set: checkHostPort,
		usage: "probe: connect to `HOST:PORT`; healthy when the connection opens"},
	{name: "db", want: wantDBURL, noOptDef: dbFromEnv, set: func(*Settings, source) error { return nil },
		usage: "probe: connect to PostgreSQL at `URL` and run SELECT 1; --db alone takes the URL from --db-url, LASTCALL_DB_URL, then DATABASE_URL"},
	{name: "db-url", want: wantDBURL, set: func(*Settings, source) error { return nil },
		usage: "PostgreSQL `URL` for --db without a value (fallback: DATABASE_URL)"},
	{name: "timeout", def: "3s", want: "a duration > 0 like 3s or 500ms", set: func(*Settings, source) error { return nil },
		usage: "`DURATION` of the whole probe"},
}

// RegisterProbeFlags declares the healthcheck flags on fs.
func RegisterProbeFlags(fs *pflag.FlagSet) { register(fs, probeSpecs) }

// FlagErrors is the root command's flag error func.
func FlagErrors(cmd *cobra.Command, err error) error { return flagErrorFunc(rootSpecs)(cmd, err) }

// ProbeFlagErrors is the healthcheck command's flag error func.
func ProbeFlagErrors(cmd *cobra.Command, err error) error { return flagErrorFunc(probeSpecs)(cmd, err) }

// ResolveProbe picks the probe and checks its target. The probe comes from
// the command line when one is given there (LASTCALL_HTTP, _TCP and _DB
// are then ignored), else from those variables; exactly one is allowed.
// Every error it returns is a *UsageError, and none shows a password.
func ResolveProbe(fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) (Probe, error) {
	var p Probe
	lookupEnv, err := withSecretFiles(lookupEnv)
	if err != nil {
		return p, err
	}
	src, err := lookupSource(fs, find(probeSpecs, "timeout"), lookupEnv)
	if err == nil {
		p.timeout, err = parseDuration(src, true)
	}
	if err != nil {
		return p, err
	}
	if src, err = chooseProbe(fs, lookupEnv); err != nil {
		return p, err
	}
	p.kind, p.target = src.spec.name, src.text
	if p.kind == "db" {
		p.target, err = databaseURL(src, fs, lookupEnv)
		return p, err
	}
	return p, src.spec.set(nil, src)
}

// RunProbe runs the probe and prints its one line; it returns the exit
// code.
func RunProbe(ctx context.Context, p Probe, stdout, stderr io.Writer) int {
	var r healthcheck.Result
	switch p.kind {
	case "http":
		r = healthcheck.HTTP(ctx, p.target, p.timeout)
	case "tcp":
		r = healthcheck.TCP(ctx, p.target, p.timeout)
	default:
		r = healthcheck.DB(ctx, p.target, p.timeout)
	}
	if r.Healthy {
		fmt.Fprintf(stdout, "healthy: %s\n", r.Reason)
		return 0
	}
	fmt.Fprintf(stderr, "unhealthy: %s\n", r.Reason)
	return ExitUnhealthy
}

// chooseProbe is the source of the one probe asked for.
func chooseProbe(fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) (source, error) {
	kinds := probeSpecs[:3]
	onCommandLine := false
	for _, sp := range kinds {
		onCommandLine = onCommandLine || fs.Lookup(sp.name).Changed
	}
	var chosen []source
	for i := range kinds {
		if onCommandLine != fs.Lookup(kinds[i].name).Changed {
			continue
		}
		src, err := lookupSource(fs, &kinds[i], lookupEnv)
		if err != nil {
			return source{}, err
		}
		if src.text != "" {
			chosen = append(chosen, src)
		}
	}
	switch len(chosen) {
	case 0:
		return source{}, Usagef("healthcheck needs a probe: --http URL, --tcp HOST:PORT or --db[=URL] (see lastcall healthcheck --help)")
	case 1:
		return chosen[0], nil
	}
	return source{}, Usagef("healthcheck runs one probe, got %s and %s", chosen[0].name(), chosen[1].name())
}

func checkHTTPURL(_ *Settings, src source) error {
	u, err := url.Parse(src.text)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return src.invalid(src.spec.want)
	}
	return nil
}

func checkHostPort(_ *Settings, src source) error {
	_, port, err := net.SplitHostPort(src.text)
	if err != nil {
		return src.invalid(src.spec.want)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return src.invalid(src.spec.want)
	}
	return nil
}

// databaseURL is --db's URL; --db alone (or LASTCALL_DB=env) takes it from
// --db-url or LASTCALL_DB_URL, then DATABASE_URL.
func databaseURL(src source, fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) (string, error) {
	text := strings.TrimSpace(src.text)
	if text != dbFromEnv {
		if text == "" {
			return "", src.invalid(src.spec.want)
		}
		return src.text, nil
	}
	dbURL, err := lookupSource(fs, find(probeSpecs, "db-url"), lookupEnv)
	if err != nil {
		return "", err
	}
	if dbURL.text != "" {
		return dbURL.text, nil
	}
	if v, ok := lookupEnv("DATABASE_URL"); ok && v != "" {
		return v, nil
	}
	return "", Usagef("%s without a URL needs --db-url, %s or DATABASE_URL: want %s",
		src.name(), envName("db-url"), wantDBURL)
}
