package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/testutil"
)

// requireDocker skips the test when no Docker engine answers, unless
// LASTCALL_REQUIRE_DOCKER=1 (set by .ci/run when `docker info` works), which
// turns the skip into a failure.
func requireDocker(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("no Docker engine (docker info: %v): %s", err, lastLine(string(out)))
	if os.Getenv("LASTCALL_REQUIRE_DOCKER") == "1" {
		t.Fatalf("LASTCALL_REQUIRE_DOCKER=1 but %s", msg)
	}
	t.Skip(msg)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// docker runs the docker CLI and returns its trimmed stdout.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0") // the legacy builder needs no buildx plugin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// dockerLogs is a container's stdout and stderr together.
func dockerLogs(t *testing.T, id string) string {
	t.Helper()
	out, err := exec.Command("docker", "logs", id).CombinedOutput()
	if err != nil {
		t.Fatalf("docker logs %s: %v\n%s", id, err, out)
	}
	return string(out)
}

// buildLastcallImage builds the repository's Dockerfile, the image that
// holds lastcall alone, from the static lastcall and the repository's
// .dockerignore, and removes it when the test ends. It checks that the
// image holds nothing but the binary.
func buildLastcallImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testutil.CopyFile(t, lastcallBinary(t), filepath.Join(dir, "lastcall"))
	for _, name := range []string{"Dockerfile", ".dockerignore"} {
		testutil.CopyFile(t, filepath.Join(repoRoot, name), filepath.Join(dir, name))
	}
	tag := fmt.Sprintf("lastcall-e2e-bin:%d-%d", os.Getpid(), time.Now().UnixNano())
	docker(t, "build", "-q", "-t", tag, dir)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	st, err := os.Stat(filepath.Join(dir, "lastcall"))
	if err != nil {
		t.Fatal(err)
	}
	if size := docker(t, "image", "inspect", "-f", "{{.Size}}", tag); size != fmt.Sprint(st.Size()) {
		t.Errorf("the lastcall image holds %s bytes, the binary alone %d", size, st.Size())
	}
	return tag
}

// buildImage builds a FROM scratch image holding lastcall, copied from the
// repository's own image (buildLastcallImage) as a user's Dockerfile
// would, and the test app from testdata/app; it is removed when the test
// ends.
func buildImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := goBuild(filepath.Join(dir, "app"), "./testdata/app"); err != nil {
		t.Fatal(err)
	}
	dockerfile := fmt.Sprintf(`FROM scratch
COPY --from=%s /lastcall /lastcall
COPY app /app
ENTRYPOINT ["/lastcall", "--"]
CMD ["/app", "trap"]
`, buildLastcallImage(t))
	writeFile(t, filepath.Join(dir, "Dockerfile"), dockerfile)
	tag := fmt.Sprintf("lastcall-e2e:%d-%d", os.Getpid(), time.Now().UnixNano())
	docker(t, "build", "-q", "-t", tag, dir)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// waitForLog polls the container's logs until they contain want.
func waitForLog(t *testing.T, id, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(dockerLogs(t, id), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the logs of %s after %v:\n%s", want, id, timeout, dockerLogs(t, id))
		}
		time.Sleep(50 * time.Millisecond) // poll interval, not synchronisation
	}
}

// TestDockerStop runs lastcall as PID 1 of a scratch container and stops it
// with `docker stop -t 5`, as a platform would.
func TestDockerStop(t *testing.T) {
	requireDocker(t)
	image := buildImage(t)
	tests := []struct {
		name       string
		run        []string // after `docker run -d`
		wantCode   string
		wantLog    string // lower case
		minElapsed time.Duration
		maxElapsed time.Duration // well under docker's 5s: lastcall ended it, not docker
	}{
		{"app exits on SIGTERM", []string{image}, "0", "got sigterm", 0, 4 * time.Second},
		{"app ignores SIGTERM, lastcall escalates", []string{"--entrypoint", "/lastcall", image, "--grace", "1s", "--", "/app", "ignore-term"},
			"137", "escalat", time.Second, 4 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := docker(t, append([]string{"run", "-d"}, tc.run...)...)
			t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
			waitForLog(t, id, "ready", 30*time.Second)

			start := time.Now()
			docker(t, "stop", "-t", "5", id)
			elapsed := time.Since(start)

			code := docker(t, "inspect", "-f", "{{.State.ExitCode}}", id)
			logs := dockerLogs(t, id)
			if code != tc.wantCode || !strings.Contains(strings.ToLower(logs), tc.wantLog) {
				t.Errorf("exit code %s, want %s; logs should contain %q:\n%s", code, tc.wantCode, tc.wantLog, logs)
			}
			if elapsed < tc.minElapsed || elapsed >= tc.maxElapsed {
				t.Errorf("docker stop took %v, want [%v, %v)", elapsed, tc.minElapsed, tc.maxElapsed)
			}
		})
	}
}
