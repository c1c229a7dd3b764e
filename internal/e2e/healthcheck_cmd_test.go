package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
)

// healthcheckServer serves /ok (200), /fail (500), /moved (301) and /slow
// (blocks until the test ends) on loopback.
func healthcheckServer(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusMovedPermanently) })
	mux.HandleFunc("/slow", func(http.ResponseWriter, *http.Request) { <-release })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: let /slow return
	return srv.URL
}

// listen returns a loopback HOST:PORT that accepts connections (and never
// answers), and one where nothing listens.
func listen(t *testing.T) (open, closed string) {
	t.Helper()
	port, err := pgtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return pgtest.SilentPeer(t), net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// checkOneLine fails t unless the run exited with code and printed exactly
// one line holding want: on stdout for 0, on stderr otherwise.
func checkOneLine(t *testing.T, got result, code int, want string) {
	t.Helper()
	out, quiet, prefix := got.stderr, got.stdout, "unhealthy: "
	switch code {
	case 0:
		out, quiet, prefix = got.stdout, got.stderr, "healthy: "
	case exitUsage:
		prefix = "lastcall: "
	}
	if got.code != code || quiet != "" || strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") ||
		!strings.HasPrefix(out, prefix) || !strings.Contains(out, want) {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and one line %q... holding %q",
			got.code, got.stdout, got.stderr, code, prefix, want)
	}
}

func TestHealthcheckUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"no probe", nil, []string{"DATABASE_URL="}, "needs a probe"},
		{"two probes", []string{"--http", "http://127.0.0.1:1/", "--tcp", "127.0.0.1:1"}, nil, "--http and --tcp"},
		{"two probes from env", nil, []string{"LASTCALL_HTTP=http://127.0.0.1:1/", "LASTCALL_TCP=127.0.0.1:1"}, "LASTCALL_HTTP and LASTCALL_TCP"},
		{"bad http URL", []string{"--http", "127.0.0.1:8080/healthz"}, nil, "--http"},
		{"http URL password hidden", []string{"--http", "ftp://u:hunter2hunter2@h/"}, nil, "u:xxxxx@h"},
		{"bad tcp address", []string{"--tcp", "127.0.0.1"}, nil, "--tcp"},
		{"bad tcp port", []string{"--tcp", "127.0.0.1:http"}, nil, "--tcp"},
		{"bad env tcp", nil, []string{"LASTCALL_TCP=nowhere"}, "LASTCALL_TCP"},
		{"zero timeout", []string{"--tcp", "127.0.0.1:1", "--timeout", "0s"}, nil, "--timeout"},
		{"bad timeout", []string{"--tcp", "127.0.0.1:1", "--timeout", "3"}, nil, "--timeout"},
		{"bad env timeout", []string{"--tcp", "127.0.0.1:1"}, []string{"LASTCALL_TIMEOUT=soon"}, "LASTCALL_TIMEOUT"},
		{"timeout without value", []string{"--tcp", "127.0.0.1:1", "--timeout"}, nil, "--timeout needs a value"},
		{"unknown flag", []string{"--udp", "127.0.0.1:1"}, nil, "--udp"},
		{"db URL after a space", []string{"--db", "postgres://app:hunter2hunter2@127.0.0.1:1/app"}, nil, "--db=URL"},
		{"db without any URL", []string{"--db"}, []string{"DATABASE_URL="}, "DATABASE_URL"},
		{"db empty", []string{"--db="}, nil, "--db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runLastcall(t, t.TempDir(), tc.env, append([]string{"healthcheck"}, tc.args...)...)
			checkOneLine(t, got, exitUsage, tc.want)
			if strings.Contains(got.stderr, "hunter2") {
				t.Errorf("the usage error shows a password: %q", got.stderr)
			}
		})
	}
}

func TestHealthcheckHTTPAndTCP(t *testing.T) {
	srv := healthcheckServer(t)
	open, closed := listen(t)
	tests := []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		{"http 200", []string{"--http", srv + "/ok"}, nil, 0, "200 OK"},
		{"http from env", nil, []string{"LASTCALL_HTTP=" + srv + "/ok"}, 0, "200 OK"},
		{"flag beats env probe", []string{"--http", srv + "/ok"}, []string{"LASTCALL_TCP=" + closed}, 0, "200 OK"},
		{"http 500", []string{"--http", srv + "/fail"}, nil, exitUnhealthy, "500 Internal Server Error"},
		{"http 301 not followed", []string{"--http", srv + "/moved"}, nil, exitUnhealthy, "301 Moved Permanently, redirect to \"/ok\" not followed"},
		{"http slow", []string{"--http", srv + "/slow", "--timeout", "300ms"}, nil, exitUnhealthy, "timeout after 300ms"},
		{"http timeout from env", []string{"--http", srv + "/slow"}, []string{"LASTCALL_TIMEOUT=200ms"}, exitUnhealthy, "timeout after 200ms"},
		{"http refused", []string{"--http", "http://" + closed + "/"}, nil, exitUnhealthy, "connection refused"},
		{"tcp open", []string{"--tcp", open}, nil, 0, "connected to " + open},
		{"tcp refused", []string{"--tcp", closed}, nil, exitUnhealthy, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runLastcall(t, t.TempDir(), tc.env, append([]string{"healthcheck"}, tc.args...)...)
			checkOneLine(t, got, tc.code, tc.want)
		})
	}
}

func TestHealthcheckDB(t *testing.T) {
	c := pgtest.Start(t)
	silent, _ := listen(t)
	wrongURL := c.URL(c.User, "wrong-"+c.Password, c.Database, "")
	goodURL := c.URL(c.User, c.Password, c.Database, "") // no sslmode: lastcall uses prefer
	tests := []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		{"db=URL", []string{"--db=" + goodURL}, nil, 0, "SELECT 1 ok"},
		{"db from DATABASE_URL", []string{"--db"}, []string{"DATABASE_URL=" + goodURL}, 0, "SELECT 1 ok"},
		{"db from LASTCALL_DB_URL before DATABASE_URL", []string{"--db"}, []string{"LASTCALL_DB_URL=" + goodURL, "DATABASE_URL=" + wrongURL}, 0, "SELECT 1 ok"},
		{"db from --db-url", []string{"--db", "--db-url=" + goodURL}, []string{"DATABASE_URL=" + wrongURL}, 0, "SELECT 1 ok"},
		{"db chosen by LASTCALL_DB=env", nil, []string{"LASTCALL_DB=env", "DATABASE_URL=" + goodURL}, 0, "SELECT 1 ok"},
		{"db URL in LASTCALL_DB", nil, []string{"LASTCALL_DB=" + goodURL}, 0, "SELECT 1 ok"},
		{"wrong password", []string{"--db"}, []string{"DATABASE_URL=" + wrongURL}, exitUnhealthy, "password authentication failed"},
		{"missing database", []string{"--db"}, []string{"DATABASE_URL=" + c.URL(c.User, c.Password, "nope", "")}, exitUnhealthy, `database "nope" does not exist`},
		{"silent server", []string{"--db", "--timeout", "500ms"}, []string{"DATABASE_URL=postgres://app:" + c.Password + "@" + silent + "/app"}, exitUnhealthy, "timeout after 500ms"},
		{"bad URL", []string{"--db"}, []string{"DATABASE_URL=postgres://app:" + c.Password + "@db:port/app"}, exitUnhealthy, "invalid port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got := runLastcall(t, t.TempDir(), tc.env, append([]string{"healthcheck"}, tc.args...)...)
			checkOneLine(t, got, tc.code, tc.want)
			if strings.Contains(got.stdout+got.stderr, c.Password) {
				t.Errorf("the output shows a password: stdout %q, stderr %q", got.stdout, got.stderr)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("lastcall healthcheck took %s", took)
			}
		})
	}
}

// TestHealthcheckDocker runs the healthcheck in a FROM scratch image (no
// shell, no CA certificates, nothing but what Docker mounts in /etc), on the
// host's network so that it reaches the test's servers on loopback.
func TestHealthcheckDocker(t *testing.T) {
	requireDocker(t)
	srv := healthcheckServer(t)
	c := pgtest.Start(t)
	image := buildImage(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"http", []string{"--http", srv + "/ok"}, 0, "200 OK"},
		{"http 500", []string{"--http", srv + "/fail"}, exitUnhealthy, "500"},
		{"tcp via localhost", []string{"--tcp", fmt.Sprintf("localhost:%d", c.Port)}, 0, "connected"},
		{"db", []string{"--db"}, 0, "SELECT 1 ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--rm", "--network", "host", "-e", "DATABASE_URL=" + c.URL(c.User, c.Password, c.Database, ""),
				"--entrypoint", "/lastcall", image, "healthcheck"}, tc.args...)
			cmd := exec.Command("docker", args...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			checkOneLine(t, result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}, tc.code, tc.want)
		})
	}
}
