// Package earlysignals subscribes lastcall to its stop signals in the first
// package initialiser that can: a SIGTERM in lastcall's first milliseconds
// is then queued for the child instead of killing lastcall (a Go program
// dies of a SIGTERM, SIGINT, SIGQUIT or SIGHUP it has not subscribed to).
// Only main imports it; it depends on os/signal and internal/limits alone
// (limits needs nothing os does not), so the Go runtime initialises it as
// soon as os/signal is (package initialisers run in import-path order among
// those ready), before the heavy initialisers of TLS, net/http, cobra and
// lib/pq. internal/limits's initialiser runs before this one: it refuses a
// limit too low before os/signal starts threads.
//
// What remains is the time before any package can subscribe: the runtime's
// own start and the initialisers os/signal needs (measured in the README).
package earlysignals

import (
	"os"
	"os/signal"
	"syscall"

	_ "github.com/lastcall-dev/lastcall/internal/limits" // its check runs before Notify starts threads
)

// buffer sizes the channel as the supervisor's own (see
// supervisor.Subscribe): a storm must not crowd out a stop signal.
const buffer = 1024

// caught receives the stop signals from the first milliseconds on; the
// supervisor subscribes every other signal to it later.
var caught = make(chan os.Signal, buffer)

func init() {
	// SIGTSTP too: a Go program that has not subscribed to it stops.
	// SIGHUP and SIGINT inherited ignored stay ignored, as the supervisor
	// leaves them (the child inherits them ignored).
	for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTSTP} {
		if !signal.Ignored(sig) {
			signal.Notify(caught, sig)
		}
	}
}

// Channel is the channel the stop signals have gone to since lastcall's
// start, for supervisor.Subscribe to take over.
func Channel() chan os.Signal { return caught }
