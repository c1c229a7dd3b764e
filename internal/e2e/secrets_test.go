package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
)

// canary is the password of every database URL below: it must never show
// in anything lastcall prints, whatever fails, at any level, in any format.
const canary = "Canary-pw-7f3a9"

// secretCase is one way a database URL can reach lastcall and fail.
type secretCase struct {
	name string
	env  []string // besides the URL's
	args []string
}

// canaryURLs are database URLs with the canary password, each failing its
// own way: malformed, refused, unknown host, frozen server, bad options, as
// URL and as key=value text.
func canaryURLs(t *testing.T) map[string]string {
	t.Helper()
	closed := closedPort(t)
	silent := pgtest.SilentPeer(t)
	encoded := url.UserPassword("app", canary+"@/:").String() // the password needs escaping in a URL
	return map[string]string{
		"url refused":       "postgres://app:" + canary + "@127.0.0.1:" + closed + "/app?sslmode=disable",
		"url escaped":       "postgres://" + encoded + "@127.0.0.1:" + closed + "/app?sslmode=disable",
		"url bad port":      "postgres://app:" + canary + "@127.0.0.1:port/app",
		"url bad escape":    "postgres://app:" + canary + "%zz@127.0.0.1:" + closed + "/app",
		"url unknown host":  "postgres://app:" + canary + "@no-such-host.invalid/app?sslmode=disable",
		"url bad sslmode":   "postgres://app:" + canary + "@127.0.0.1:" + closed + "/app?sslmode=bogus",
		"url frozen server": "postgres://app:" + canary + "@" + silent + "/app?sslmode=disable",
		"url bad option":    "postgres://app:" + canary + "@127.0.0.1:" + closed + "/app?sslmode=disable&gssencmode=bogus",
		"kv refused":        "host=127.0.0.1 port=" + closed + " user=app password=" + canary + " dbname=app sslmode=disable",
		"kv quoted":         "host=127.0.0.1 port=" + closed + " user=app password='" + canary + " x' sslmode=disable",
		"kv unterminated":   "host=127.0.0.1 port=" + closed + " password='" + canary,
		"kv frozen server":  "host=" + strings.Replace(silent, ":", " port=", 1) + " user=app password=" + canary + " sslmode=disable",
	}
}

// secretCases are the error paths a database URL can take: lastcall's and
// lastcall healthcheck's, and the URL given where it does not belong.
// An argument "{url}" stands for the URL itself.
var secretCases = []secretCase{
	{"wait-db", nil, []string{"--wait-db", "300ms", "--db-timeout", "300ms", "--", "true"}},
	{"drain check both", nil, []string{"--db-check", "both", "--db-timeout", "300ms", "--", "true"}},
	{"drain check server", nil, []string{"--db-check", "server", "--db-timeout", "300ms", "--db-show-query", "true", "--", "true"}},
	{"drain check, PQGO_DEBUG", []string{"PQGO_DEBUG=1"}, []string{"--db-check", "server", "--", "true"}},
	{"usage error beside the URL", nil, []string{"--db-check", "both", "--db-timeout", "soon", "--", "true"}},
	{"bad --db-check beside the URL", nil, []string{"--db-check", "maybe", "--", "true"}},
	{"healthcheck", nil, []string{"healthcheck", "--db", "--timeout", "300ms"}},
	{"healthcheck, PQGO_DEBUG", []string{"PQGO_DEBUG=1"}, []string{"healthcheck", "--db", "--timeout", "300ms"}},
	{"healthcheck, URL as an argument", nil, []string{"healthcheck", "--db", "{url}"}},
	{"healthcheck, URL as --http", nil, []string{"healthcheck", "--http", "{url}"}},
	{"healthcheck, URL as --tcp", nil, []string{"healthcheck", "--tcp", "{url}", "--timeout", "300ms"}},
	{"URL as the command", nil, []string{"--", "{url}"}},
	{"URL as --stop-sequence", nil, []string{"--stop-sequence", "{url}", "--", "true"}},
	{"URL as --stop-signals", nil, []string{"--stop-signals", "{url}", "--", "true"}},
	{"URL as --rewrite", nil, []string{"--rewrite", "{url}", "--", "true"}},
	{"URL as --remap-exit", nil, []string{"--remap-exit", "{url}", "--", "true"}},
	{"URL as --user", nil, []string{"--user", "{url}", "--", "true"}},
	{"URL as LASTCALL_STOP_SEQUENCE", []string{"LASTCALL_STOP_SEQUENCE={url}"}, []string{"--", "true"}},
}

// TestNoPasswordInAnyOutput runs lastcall and `lastcall healthcheck` on
// every error path a database URL can take (malformed, refused, unknown
// host, frozen server, lib/pq refusing an option, PQGO_DEBUG, usage
// errors next to a URL), given by flag, LASTCALL_DB_URL or DATABASE_URL,
// as URL and as key=value text, at debug level in both log formats, and
// greps stdout and stderr for the password in every spelling.
func TestNoPasswordInAnyOutput(t *testing.T) {
	urls := canaryURLs(t)
	// How the URL reaches lastcall: each turns a case into a command line
	// and an environment.
	via := map[string]func(c secretCase, dsn string) (args, env []string){
		"DATABASE_URL": func(c secretCase, dsn string) ([]string, []string) {
			return c.args, append([]string{"DATABASE_URL=" + dsn}, c.env...)
		},
		"LASTCALL_DB_URL": func(c secretCase, dsn string) ([]string, []string) {
			return c.args, append([]string{"LASTCALL_DB_URL=" + dsn}, c.env...)
		},
		"--db-url": func(c secretCase, dsn string) ([]string, []string) {
			return append([]string{c.args[0], "--db-url", dsn}, c.args[1:]...), c.env
		},
	}
	spellings := []string{canary, url.QueryEscape(canary), url.PathEscape(canary)}
	bin := lastcallBinary(t)
	type run struct {
		what      string
		args, env []string
	}
	var runs []run
	for urlName, dsn := range urls {
		for _, c := range secretCases {
			for viaName, build := range via {
				for _, format := range []string{"console", "json"} {
					args, env := build(c, dsn)
					args, env = withURL(args, dsn), withURL(env, dsn)
					env = append(env, "LASTCALL_LOG_LEVEL=debug", "LASTCALL_LOG_FORMAT="+format)
					runs = append(runs, run{urlName + ", " + c.name + ", via " + viaName + ", " + format + " logs", args, env})
				}
			}
		}
	}
	// Most runs wait out a timeout: run several at once.
	outs := make([]string, len(runs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				outs[i] = runCombined(bin, runs[i].env, runs[i].args...)
			}
		}()
	}
	for i := range runs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, out := range outs {
		for _, s := range spellings {
			if strings.Contains(out, s) {
				t.Errorf("%s: the password is in the output:\n%s", runs[i].what, out)
			}
		}
	}
	t.Logf("%d runs, %d cases, %d URLs", len(runs), len(secretCases), len(urls))
}

// runCombined runs lastcall with env (besides baseEnv) and returns its
// stdout and stderr together, and what went wrong running it. Its exit
// code does not matter here.
func runCombined(bin string, env []string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(baseEnv(), env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return fmt.Sprintf("%s\n(run: %v)", out, err)
	}
	return string(out)
}

// withURL is args with "{url}" replaced by dsn.
func withURL(args []string, dsn string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "{url}", dsn)
	}
	return out
}

// closedPort is a loopback port where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return strconv.Itoa(port)
}

// TestShortPasswordsInUsageErrors: passwords of 1 to 3 bytes, too short to
// search for as strings, are masked by the structure around them in every
// usage error, parsers' nested messages and flag names included.
func TestShortPasswordsInUsageErrors(t *testing.T) {
	bin := lastcallBinary(t)
	for _, pw := range []string{"q", "z9", "ab1"} {
		dsn := "postgres://u:" + pw + "@h/db"
		kv := "host=h user=u password=" + pw
		cases := []struct {
			args, env []string
		}{
			{[]string{"--stop-signals=" + dsn, "--", "true"}, nil},
			{[]string{"--rewrite", dsn, "--", "true"}, nil},
			{[]string{"--remap-exit", dsn, "--", "true"}, nil},
			{[]string{"--stop-sequence", dsn, "--", "true"}, nil},
			{[]string{"--user", "root:" + dsn, "--", "true"}, nil},
			{[]string{"--user", dsn, "--", "true"}, nil},
			{[]string{"--", "true"}, []string{"LASTCALL_REMAP_EXIT=" + dsn}},
			{[]string{"--" + dsn, "true"}, nil},
			{[]string{"--stop-signals", kv, "--", "true"}, nil},
			{[]string{"--db-check", "both", "--db-timeout", "x", "--db-url", dsn, "--", "true"}, nil},
			{[]string{"healthcheck", "--tcp", dsn}, nil},
			{[]string{"healthcheck", dsn}, nil},
		}
		for _, c := range cases {
			out := runCombined(bin, c.env, c.args...)
			if strings.Contains(out, ":"+pw+"@") || strings.Contains(out, "password="+pw) || !strings.Contains(out, "lastcall: ") {
				t.Errorf("lastcall %q (env %q) shows the password %q:\n%s", c.args, c.env, pw, out)
			}
		}
	}
}
