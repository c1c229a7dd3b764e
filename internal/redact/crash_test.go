package redact

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const crashCanary = "crash-canary-pw"

func init() {
	helpers["panic-main"] = func() int {
		defer ScrubPanics(os.Getenv("CRASH_DSN"))
		panic(errors.New("connect " + os.Getenv("CRASH_DSN") + ": the server said " + os.Getenv("PGPASSWORD")))
	}
	helpers["panic-goroutine"] = func() int {
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer ScrubPanics(os.Getenv("CRASH_DSN"))
			dsn := os.Getenv("CRASH_DSN")
			_ = dsn[len(dsn)+len(os.Args)] // out of range: a runtime error, not a value of ours
		}()
		<-done
		return 0
	}
}

// A panic on a guarded goroutine reports the panic and the stack, exits 2,
// and shows no password in any spelling, whatever GOTRACEBACK says.
func TestScrubPanics(t *testing.T) {
	tests := []struct {
		helper, dsn, want string
	}{
		{"panic-main", "postgres://app:" + crashCanary + "@db/app", "panic: connect postgres://app:xxxxx@db/app: the server said xxxxx"},
		{"panic-main", "host=db password='" + crashCanary + " x'", "panic: connect host=db password='xxxxx': the server said xxxxx"},
		{"panic-main", "postgres://app:" + crashCanary + "%40x@db/app", "panic: connect postgres://app:xxxxx@db/app"},
		{"panic-goroutine", "postgres://app:" + crashCanary + "@db/app", "panic: runtime error: index out of range"},
	}
	for _, tt := range tests {
		for _, traceback := range []string{"single", "all", "crash"} {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "LASTCALL_TEST_HELPER="+tt.helper, "CRASH_DSN="+tt.dsn,
				"PGPASSWORD=pgpass-"+crashCanary, "GOTRACEBACK="+traceback)
			out, err := cmd.CombinedOutput()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitPanic {
				t.Errorf("%s (%s): %v, want exit code %d:\n%s", tt.helper, traceback, err, exitPanic, out)
			}
			if !strings.Contains(string(out), tt.want) || !strings.Contains(string(out), "goroutine ") {
				t.Errorf("%s (%s): want %q and a stack:\n%s", tt.helper, traceback, tt.want, out)
			}
			if strings.Contains(string(out), crashCanary) {
				t.Errorf("%s (%s): the password is in the report:\n%s", tt.helper, traceback, out)
			}
		}
	}
}
