// Command app is a static test program for lastcall's Docker end-to-end test.
//
//	app trap         print "ready", then "got SIGNAME" for each signal; exit 0 on SIGTERM
//	app ignore-term  ignore SIGTERM, print "ready", then wait to be killed
//	app inspect      print its pid, LISTEN_PID, open descriptors and environment,
//	                 then "ready"; on SIGUSR1 close every descriptor above 2 and
//	                 print "closed"; exit 0 on SIGTERM
//	app activated    check LISTEN_PID and LISTEN_FDS=1, then answer one
//	                 connection on descriptor 3 with "hello from PID"
//
// It lives under testdata so that `go build ./...` skips it; the test builds
// it with `go build -o X ./testdata/app`.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: app trap|ignore-term|inspect|activated")
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
