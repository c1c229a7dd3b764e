package supervisor

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/lastcall-dev/lastcall/signals"
)

// sigsBuffer sizes the channel of forwarded signals. os/signal drops a
// signal whose channel is full, and the runtime merges repeats of one
// signal only until it hands them over, so a storm of one signal could fill
// a small channel while the loop is busy (a /proc scan, a log line) and
// crowd out a stop signal behind it. The loop empties the channel far
// faster than signals arrive; 1024 slots leave a margin of seconds of
// storm at any plausible stall, for 16 KiB.
const sigsBuffer = 1024

// Subscription holds lastcall's signals: every signal it forwards, and
// SIGCHLD.
type Subscription struct {
	sigs    chan os.Signal // every forwarded signal, stop signals included
	chld    chan os.Signal // SIGCHLD only says "something to reap": one slot
	ready   chan struct{}  // closed once every signal is subscribed
	skipped []syscall.Signal
}

// Subscribe starts subscribing to SIGCHLD and every signal lastcall
// forwards (SIGURG only withURG), and returns at once. The Go runtime takes
// tens of microseconds per signal to enable it, over a millisecond for
// all of them, so main calls Subscribe first and does its own setup
// meanwhile; SIGTERM, SIGINT, SIGQUIT and SIGHUP come first, so that a stop
// signal in lastcall's first milliseconds is queued rather than fatal. Run
// waits for the subscription to be complete before it starts the child.
// early, when not nil, is a channel of at least sigsBuffer slots that the
// stop signals were subscribed to already (internal/earlysignals, from a
// package initialiser): the subscription goes on with it, and keeps what
// it holds.
//
// SIGHUP and SIGINT that lastcall inherited ignored (nohup, a background
// job of a script) stay ignored: lastcall does not take them, and the child
// inherits them ignored.
func Subscribe(withURG bool, early chan os.Signal) *Subscription {
	sigs := early
	if sigs == nil {
		sigs = make(chan os.Signal, sigsBuffer)
	}
	sub := &Subscription{
		sigs:  sigs,
		chld:  make(chan os.Signal, 1),
		ready: make(chan struct{}),
	}
	go func() {
		defer close(sub.ready)
		for _, sig := range subscriptionOrder(withURG) {
			if signal.Ignored(sig) {
				sub.skipped = append(sub.skipped, sig)
				continue
			}
			signal.Notify(sub.sigs, sig)
		}
		signal.Notify(sub.chld, syscall.SIGCHLD)
	}()
	return sub
}

// subscriptionOrder is Forwardable with the usual stop signals first.
func subscriptionOrder(withURG bool) []syscall.Signal {
	first := []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP}
	order := append([]syscall.Signal(nil), first...)
	for _, sig := range signals.Forwardable(withURG) {
		if sig != syscall.SIGTERM && sig != syscall.SIGINT && sig != syscall.SIGQUIT && sig != syscall.SIGHUP {
			order = append(order, sig)
		}
	}
	return order
}

// wait blocks until every signal is subscribed.
func (sub *Subscription) wait() { <-sub.ready }

// Release gives every signal back to its default handling, for a command
// that runs no child (lastcall healthcheck).
func (sub *Subscription) Release() {
	sub.wait()
	signal.Reset()
}
