package signals

import (
	"strings"
	"syscall"
	"time"
)

// Platform is where lastcall runs, as far as its environment tells, with
// the platform's documented stop: the window from its stop signal to its
// SIGKILL, and the signal it stops with.
type Platform struct {
	Name        string
	StopTimeout time.Duration
	StopSignal  syscall.Signal
}

// DefaultPlatform is used when no marker matches.
var DefaultPlatform = Platform{Name: "unknown", StopTimeout: 10 * time.Second, StopSignal: syscall.SIGTERM}

// platformMarker is an environment variable that only a platform sets.
type platformMarker struct {
	env      string
	prefix   string // when not empty, the value must start with it
	platform Platform
}

// platformMarkers are checked in order: the more specific platforms first,
// since some run on others (Cloud Run on Knative, Fly and Render on their
// own orchestrators, ECS tasks inside Docker).
var platformMarkers = []platformMarker{
	{"FLY_APP_NAME", "", Platform{"fly.io", 5 * time.Second, syscall.SIGINT}},
	{"RENDER_SERVICE_ID", "", Platform{"render", 30 * time.Second, syscall.SIGTERM}},
	{"RENDER", "true", Platform{"render", 30 * time.Second, syscall.SIGTERM}},
	{"DYNO", "", Platform{"heroku", 30 * time.Second, syscall.SIGTERM}},
	{"K_SERVICE", "", Platform{"cloud-run", 10 * time.Second, syscall.SIGTERM}},
	{"ECS_CONTAINER_METADATA_URI_V4", "", Platform{"aws-ecs", 30 * time.Second, syscall.SIGTERM}},
	{"ECS_CONTAINER_METADATA_URI", "", Platform{"aws-ecs", 30 * time.Second, syscall.SIGTERM}},
	{"AWS_EXECUTION_ENV", "AWS_ECS", Platform{"aws-ecs", 30 * time.Second, syscall.SIGTERM}},
	{"NOMAD_ALLOC_ID", "", Platform{"nomad", 5 * time.Second, syscall.SIGINT}},
	{"KUBERNETES_SERVICE_HOST", "", Platform{"kubernetes", 30 * time.Second, syscall.SIGTERM}},
}

// dockerPlatform is Docker and Compose: `docker stop` waits 10s by default.
var dockerPlatform = Platform{"docker", 10 * time.Second, syscall.SIGTERM}

// DetectPlatform tells the platform from its environment markers (getenv
// returns "" for an unset variable) and, for Docker, from whether
// /.dockerenv exists, which the caller checks.
func DetectPlatform(getenv func(string) string, dockerenv bool) Platform {
	for _, m := range platformMarkers {
		if v := getenv(m.env); v != "" && strings.HasPrefix(v, m.prefix) {
			return m.platform
		}
	}
	if dockerenv {
		return dockerPlatform
	}
	return DefaultPlatform
}
