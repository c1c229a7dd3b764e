package logsink

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A process that subscribes to SIGPIPE, as lastcall does, writes to its
// stderr, a pipe whose reader is gone. Through the sink, the write fails
// with EPIPE and no SIGPIPE reaches the subscription: the process goes on.
// The same write made directly from a goroutine (the control) delivers
// SIGPIPE to the subscription, so the test can tell the two apart.
//
// The helper learns what came first from a marker: after the EPIPE it
// sends itself SIGALRM. A SIGPIPE raised by the write is handled before
// write(2) returns, so it reaches the runtime before the marker; the
// runtime hands signals to os/signal in that order, and SIGPIPE (13)
// before SIGALRM (14) when both wait at once. So "first signal: alarm
// clock" means no SIGPIPE was delivered.
func TestNoSIGPIPE(t *testing.T) {
	tests := []struct {
		mode string
		want string
	}{
		{"sink", "first signal: alarm clock\n"},
		{"raw", "first signal: broken pipe\n"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			p := newPipe(t)
			p.closeRead()
			stderr := os.NewFile(uintptr(p.w), "stderr")
			p.w = -1 // stderr owns it now
			defer stderr.Close()
			var stdout bytes.Buffer
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), helperEnv+"="+tt.mode)
			cmd.Stdout, cmd.Stderr = &stdout, stderr
			err := cmd.Run()
			if err != nil || stdout.String() != tt.want {
				t.Errorf("helper %s: %v (exit code %d), stdout %q, want exit 0 and %q",
					tt.mode, err, cmd.ProcessState.ExitCode(), stdout.String(), strings.TrimSpace(tt.want))
			}
		})
	}
}

// sigpipeHelper is the test binary as the helper of TestNoSIGPIPE: fd 2
// is a pipe without a reader. It prints the first signal it receives after
// the write failed, and exits 0; 1 if the write did not fail with EPIPE.
func sigpipeHelper(mode string) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGPIPE, unix.SIGALRM)
	var err error
	switch mode {
	case "sink":
		err = writeThroughSink(2)
	case "raw":
		_, err = unix.Write(2, []byte("line\n"))
	default:
		err = fmt.Errorf("unknown helper %q", mode)
	}
	if !errors.Is(err, unix.EPIPE) {
		fmt.Printf("write: %v, want EPIPE\n", err)
		return 1
	}
	if err := unix.Kill(unix.Getpid(), unix.SIGALRM); err != nil {
		fmt.Println("marker:", err)
		return 1
	}
	fmt.Printf("first signal: %v\n", <-sigs)
	return 0
}

// writeThroughSink writes two lines through a Sink on fd, whose reader is
// gone, and returns the write error the sink saw.
func writeThroughSink(fd int) error {
	s, err := New(fd, Options{})
	if err != nil {
		return err
	}
	_, _ = s.Write([]byte("first\n"))
	if n := s.Flush(hangBound); n != 0 {
		return fmt.Errorf("flush: %d unwritten", n)
	}
	_, _ = s.Write([]byte("second\n")) // dropped at once: the output is broken
	s.Close(hangBound)
	if st := s.Stats(); !st.Broken || st.Written != 0 || st.Dropped != 2 || s.writes != 1 {
		return fmt.Errorf("stats %+v after %d writes, want broken, 2 dropped after 1 write", st, s.writes)
	}
	return s.Stats().Err
}
