// Command app is a static test program for lastcall's Docker end-to-end test.
//
//	app trap         print "ready", then "got SIGNAME" for each signal; exit 0 on SIGTERM
//	app ignore-term  ignore SIGTERM, print "ready", then wait to be killed
//
// It lives under testdata so that `go build ./...` skips it; the test builds
// it with `go build -o X ./testdata/app`.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: app trap|ignore-term")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "trap":
		trap()
	case "ignore-term":
		ignoreTerm()
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
