// Command app is a static test program for lastcall's Docker end-to-end test.
//
//	app trap         print "ready", then "got SIGNAME" for each signal; exit 0 on SIGTERM
//	app ignore-term  ignore SIGTERM, print "ready", then wait to be killed
//	app inspect      print its pid, LISTEN_PID, open descriptors and environment,
//	                 then "ready"; on SIGUSR1 close every descriptor above 2 and
//	                 print "closed"; exit 0 on SIGTERM
//	app activated    check LISTEN_PID and LISTEN_FDS=1, then answer one
//	                 connection on descriptor 3 with "hello from PID"
//	app behave END LEFTOVER
//	                 start LEFTOVER, print "leftover PID" or "daemon PID" once it
//	                 is set up, then "ready"; print "got SIGNAME" for SIGUSR1,
//	                 SIGUSR2, SIGHUP and SIGWINCH; END says how it ends:
//	                 exit:N  exit N when stdin has a line or ends
//	                 term    exit 0 on SIGTERM
//	                 ignore-term  ignore SIGTERM, wait to be killed
//	                 LEFTOVER is none; child-term or child-ignore, a child
//	                 that keeps stdin, stdout and stderr and exits 0 on
//	                 SIGTERM or ignores it; daemon-term or daemon-ignore, the
//	                 same double-forked: a middle process in a new session
//	                 starts it and exits, its stdio is /dev/null
//
// behave re-executes os.Args[0] for its leftovers (modes leftover and
// daemon-middle, for its own use), so name the app by an absolute path.
// A leftover's command name is then the app's: a test that names the app
// through a symlink finds all its processes by that name.
//
// It lives under testdata so that `go build ./...` skips it; the test builds
// it with `go build -o X ./testdata/app`.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: app trap|ignore-term|inspect|activated|behave END LEFTOVER")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "trap":
		trap()
	case "ignore-term":
		ignoreTerm()
	case "inspect":
		inspect()
	case "activated":
		activated()
	case "behave":
		behave(os.Args[2:])
	case "leftover":
		leftover(os.Args[2:])
	case "daemon-middle":
		daemonMiddle(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "app: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

// trap reports every signal it receives and exits 0 on SIGTERM.
func trap() {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	fmt.Println("ready")
	for sig := range sigs {
		s := sig.(syscall.Signal)
		if s == syscall.SIGURG || s == syscall.SIGCHLD {
			continue // the Go runtime's own preemption signal; no child here
		}
		fmt.Printf("got %s\n", unix.SignalName(s))
		if s == syscall.SIGTERM {
			os.Exit(0)
		}
	}
}

// ignoreTerm ignores SIGTERM and waits until something stronger comes.
func ignoreTerm() {
	signal.Ignore(syscall.SIGTERM)
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP)
	fmt.Println("ready")
	for sig := range sigs {
		fmt.Printf("got %s (ignoring it)\n", unix.SignalName(sig.(syscall.Signal)))
	}
}

// inspect reports what the app was given. It finds its descriptors with
// fcntl, which opens none, and lists those without close-on-exec: the
// ones it inherited (its Go runtime's own have close-on-exec set).
func inspect() {
	fmt.Printf("pid %d\n", os.Getpid())
	fmt.Printf("listen_pid %s\n", os.Getenv("LISTEN_PID"))
	var fds []int
	for fd := 0; fd < 1024; fd++ {
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			fds = append(fds, fd)
		}
	}
	for _, fd := range fds {
		target, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		fmt.Printf("fd %d %s\n", fd, target)
	}
	env := os.Environ()
	sort.Strings(env)
	for _, kv := range env {
		fmt.Printf("env %s\n", kv)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGTERM)
	fmt.Println("ready")
	for sig := range sigs {
		if sig == syscall.SIGTERM {
			os.Exit(0)
		}
		for _, fd := range fds {
			if fd > 2 {
				_ = unix.Close(fd)
			}
		}
		fmt.Println("closed")
	}
}

// activated serves one connection on the socket passed by socket
// activation, as sd_listen_fds(3) reads it.
func activated() {
	if pid := os.Getenv("LISTEN_PID"); pid != strconv.Itoa(os.Getpid()) || os.Getenv("LISTEN_FDS") != "1" {
		fmt.Fprintf(os.Stderr, "app: LISTEN_PID=%s LISTEN_FDS=%s, but my pid is %d\n", pid, os.Getenv("LISTEN_FDS"), os.Getpid())
		os.Exit(3)
	}
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	conn, err := ln.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
	fmt.Fprintf(conn, "hello from %d\n", os.Getpid())
	_ = conn.Close()
}

// behave is one behaviour of a child under lastcall; see the package doc.
func behave(args []string) {
	if len(args) != 2 {
		fail("usage: app behave exit:N|term|ignore-term none|child-term|child-ignore|daemon-term|daemon-ignore")
	}
	end, kind := args[0], args[1]
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP, syscall.SIGWINCH)
	var stdinDone chan struct{} // nil: never
	code := 0
	switch {
	case end == "term":
		signal.Notify(sigs, syscall.SIGTERM)
	case end == "ignore-term":
		signal.Ignore(syscall.SIGTERM)
	case strings.HasPrefix(end, "exit:"):
		n, err := strconv.Atoi(strings.TrimPrefix(end, "exit:"))
		if err != nil {
			fail("app behave: bad END %q", end)
		}
		code = n
		stdinDone = make(chan struct{})
		go func() {
			_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
			close(stdinDone)
		}()
	default:
		fail("app behave: bad END %q", end)
	}
	startLeftover(kind)
	fmt.Println("ready")
	for {
		select {
		case sig := <-sigs:
			fmt.Printf("got %s\n", unix.SignalName(sig.(syscall.Signal)))
			if sig == syscall.SIGTERM {
				os.Exit(0)
			}
		case <-stdinDone:
			os.Exit(code)
		}
	}
}

// startLeftover starts a leftover of kind, waits until it is set up, and
// prints its pid.
func startLeftover(kind string) {
	var mode, label string
	files := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	var sys *syscall.SysProcAttr
	switch kind {
	case "none":
		return
	case "child-term", "child-ignore":
		mode, label = "leftover", "leftover"
	case "daemon-term", "daemon-ignore":
		devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			fail("app: %v", err)
		}
		defer devNull.Close()
		files = []*os.File{devNull, devNull, devNull}
		mode, label, sys = "daemon-middle", "daemon", &syscall.SysProcAttr{Setsid: true}
	default:
		fail("app behave: bad LEFTOVER %q", kind)
	}
	r, w, err := os.Pipe()
	if err != nil {
		fail("app: %v", err)
	}
	_, sig, _ := strings.Cut(kind, "-")
	p, err := os.StartProcess(os.Args[0], []string{os.Args[0], mode, sig},
		&os.ProcAttr{Files: append(files, w), Sys: sys})
	if err != nil {
		fail("app: start %s: %v", kind, err)
	}
	w.Close()
	pid, err := io.ReadAll(r) // until the leftover and the middle process have let go
	if err != nil || len(pid) == 0 {
		fail("app: no pid from the %s (%v)", kind, err)
	}
	if mode == "daemon-middle" {
		_, _ = p.Wait()
	}
	fmt.Printf("%s %s", label, pid)
}

// daemonMiddle is the middle process of a double fork: it starts the
// daemon, in the new session it leads, and exits at once.
func daemonMiddle(args []string) {
	if len(args) != 1 {
		fail("usage: app daemon-middle term|ignore")
	}
	ready := os.NewFile(3, "ready")
	if _, err := os.StartProcess(os.Args[0], []string{os.Args[0], "leftover", args[0]},
		&os.ProcAttr{Files: []*os.File{os.Stdin, os.Stdout, os.Stderr, ready}}); err != nil {
		fail("app: start the daemon: %v", err)
	}
	os.Exit(0)
}

// leftover exits 0 on SIGTERM (term) or ignores it (ignore), and writes
// its pid to descriptor 3 once it is set up.
func leftover(args []string) {
	if len(args) != 1 || (args[0] != "term" && args[0] != "ignore") {
		fail("usage: app leftover term|ignore")
	}
	sigs := make(chan os.Signal, 1)
	if args[0] == "term" {
		signal.Notify(sigs, syscall.SIGTERM)
	} else {
		signal.Ignore(syscall.SIGTERM)
	}
	ready := os.NewFile(3, "ready")
	fmt.Fprintf(ready, "%d\n", os.Getpid())
	ready.Close()
	for {
		select {
		case <-sigs:
			os.Exit(0)
		case <-time.After(time.Hour):
		}
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}
