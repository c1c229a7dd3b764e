package supervisor

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/internal/testutil"
)

// What the child gets, as the README says: the signal mask lastcall
// inherited, less the signals the Go runtime never leaves blocked (SIGHUP,
// SIGINT, SIGTERM, ...: see doc.go); SIGHUP and SIGINT inherited ignored
// stay ignored; every other signal has its default action, even one
// lastcall inherited ignored (the Go runtime resets it).
func TestChildSignalState(t *testing.T) {
	tests := []struct {
		name             string
		blocked, ignored string
		wantBlk, wantIgn uint64
	}{
		{"clean", "-", "-", 0, 0},
		{"blocked kept", "USR2,WINCH,PIPE,TSTP,RTMIN+1", "-",
			bits(syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGPIPE, syscall.SIGTSTP, 35), 0},
		{"runtime unblocks", "HUP,TERM,QUIT,USR1", "-", bits(syscall.SIGUSR1), 0},
		{"HUP and INT stay ignored", "-", "HUP,INT", 0, bits(syscall.SIGHUP, syscall.SIGINT)},
		{"other ignored reset", "-", "USR1,PIPE,QUIT", 0, 0},
	}
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wrap := helperCmd("exec-masked", tt.blocked, tt.ignored)
				r := startWrapped(t, m, wrap, nil, nil, "/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status")
				blk := statusMask(t, r.waitLine("SigBlk:"))
				ign := statusMask(t, r.waitLine("SigIgn:"))
				if blk != tt.wantBlk || ign != tt.wantIgn {
					t.Errorf("child SigBlk=%016x SigIgn=%016x, want %016x %016x", blk, ign, tt.wantBlk, tt.wantIgn)
				}
				if got := r.wait(); got != 0 {
					t.Errorf("exit code %d; stderr:\n%s", got, r.stderr)
				}
			})
		}
	})
}

func bits(sigs ...syscall.Signal) uint64 {
	var m uint64
	for _, s := range sigs {
		m |= 1 << (uint(s) - 1)
	}
	return m
}

func statusMask(t *testing.T, line string) uint64 {
	t.Helper()
	f := strings.Fields(line)
	v, err := strconv.ParseUint(f[len(f)-1], 16, 64)
	if err != nil {
		t.Fatalf("parse %q: %v", line, err)
	}
	return v
}

// Ctrl-C typed on the terminal reaches the child straight from the kernel:
// the child's process group holds the terminal's foreground.
func TestCtrlCReachesForegroundChild(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		master, slave := openPTY(t)
		argv := lastcallArgv(m, nil, nil, helperCmd("trap", "SIGINT"))
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), helperEnv+"=1")
		cmd.Stdin, cmd.Stdout = slave, slave
		stderr := &testutil.SyncBuffer{}
		cmd.Stderr = stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		slave.Close()
		lines := make(chan string, 16)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(master)
			for sc.Scan() {
				lines <- strings.TrimRight(sc.Text(), "\r")
			}
		}()
		r := &lastcallRun{t: t, cmd: cmd, lines: lines, stderr: stderr, done: make(chan struct{})}
		t.Cleanup(func() { r.kill(); master.Close(); r.wait() })
		r.waitLine("ready")
		if _, err := master.Write([]byte{0x03}); err != nil {
			t.Fatal(err)
		}
		r.waitLine("got SIGINT")
		// Wait before closing the master: a hang-up would reach the
		// session leader (unshare, in pid1 mode) and kill it.
		if got := r.wait(); got != 0 {
			t.Errorf("exit code %d, want 0; stderr:\n%s", got, r.stderr)
		}
		if strings.Contains(r.stderr.String(), "stop signal received") {
			t.Errorf("SIGINT went through lastcall, not the terminal:\n%s", r.stderr)
		}
	})
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}
