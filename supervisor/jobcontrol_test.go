package supervisor

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// terminal is an interactive shell on a pseudo-terminal, read as a screen.
type terminal struct {
	t      *testing.T
	master *os.File
	mu     sync.Mutex
	screen bytes.Buffer
}

func startShell(t *testing.T) *terminal {
	master, slave := openPTY(t)
	cmd := exec.Command("bash", "--norc", "--noprofile", "-i")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "PS1=$ ", "TERM=dumb")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Skipf("no bash to play the user's shell: %v", err)
	}
	slave.Close()
	term := &terminal{t: t, master: master}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.screen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		procs, _ := procfs.List()
		for _, p := range procfs.DescendantsOf(cmd.Process.Pid, procs) {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		master.Close()
		<-done
	})
	return term
}

func (term *terminal) typeIn(s string) {
	term.t.Helper()
	if _, err := term.master.Write([]byte(s)); err != nil {
		term.t.Fatal(err)
	}
}

// waitFor waits until the screen shows want at least n times.
func (term *terminal) waitFor(want string, n int) {
	term.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		term.mu.Lock()
		screen := term.screen.String()
		term.mu.Unlock()
		if strings.Count(screen, want) >= n {
			return
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("screen never showed %q %d times:\n%s", want, n, screen)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Ctrl-Z stops the app and gives the shell its terminal back; fg resumes
// it in the foreground; the shell gets the terminal again when it exits.
// As with any job, this needs lastcall not to be PID 1: subreaper mode.
func TestJobControl(t *testing.T) {
	term := startShell(t)
	term.waitFor("$ ", 1)
	term.typeIn("stty tostop; " + strings.Join(helperCmd("supervise", "--", "/bin/cat"), " ") + "\n")
	term.waitFor("child started", 1) // lastcall's debug line
	term.typeIn("ping\n")
	term.waitFor("ping", 2) // the terminal's echo, then cat's
	term.typeIn("\x1a")     // Ctrl-Z
	term.waitFor("Stopped", 1)
	term.typeIn("fg\n")
	term.waitFor("continued", 1)
	term.typeIn("pong\n")
	term.waitFor("pong", 2)
	term.typeIn("\x04") // Ctrl-D: cat exits, and lastcall with it
	term.typeIn("echo rc=$?\n")
	term.waitFor("rc=0", 1)
}
