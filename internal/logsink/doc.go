/*
Package logsink owns the writing of lastcall's own log lines to a file
descriptor (fd 2 in production), so that a stalled, closed or full output
never delays the supervision loop and never raises a SIGPIPE that lastcall
would forward to the app.

[New] starts one writer goroutine per [Sink]. Callers (zap, through
[NewCore], on the supervision loop) hand each encoded line to a bounded
queue and return at once: they never wait for write(2), only for a mutex
that the writer holds briefly and never across a write.

# Full queue

When the queue is full, a new unimportant line is dropped. A new important
line (see [Importance]) takes the place of the newest unimportant line in
the queue, and is dropped only when every queued line is important. Every
dropped line is counted ([Stats]). When output flows again, the writer
writes one line with the number of lines dropped (see [Options].DroppedLine
and [DroppedLine], which encode it like every other line), in the place of
the first line that was lost.

# Write errors

A line whose write fails is dropped and counted, whatever the error
(ENOSPC on a full disk or /dev/full, EIO, ...); the next line is tried
again. EPIPE (the reader is gone) and EBADF mark the output broken: from
then on every line is dropped at once, without a write. EINTR is retried;
EAGAIN, which only a descriptor that someone else made non-blocking
returns, waits in poll(2) on the writer's thread. The sink never sets
O_NONBLOCK itself: the app shares the file description.

# SIGPIPE

A write to a pipe without a reader makes the kernel send SIGPIPE to the
thread that wrote. lastcall subscribes to every signal (os/signal.Notify)
to forward it, so a SIGPIPE that reached the runtime would be forwarded to
the app, and a write through os.File to fd 1 or 2 makes the runtime raise
SIGPIPE itself. The writer goroutine therefore locks itself to its OS
thread for good (runtime.LockOSThread, never undone), blocks SIGPIPE in
that thread's signal mask, and writes with raw write(2) (unix.Write). The
kernel's SIGPIPE stays pending on that thread, never reaches a handler,
and is discarded when the thread ends with the goroutine. A SIGPIPE sent
to the process by someone else (kill -PIPE) is delivered to another thread
as before.

# At exit

[Sink.Close] gives pending lines a bounded time to be written and returns
after it even when the writer is stuck in write(2) on a full pipe whose
reader is stopped; the writer then stays blocked until the process exits.
Close reports how many lines were left unwritten. [Sink.Flush] does the
same without closing.

# With zap

Build the logger on [NewCore] with the encoder used so far, and give zap
the sink as its error output too (zap.ErrorOutput), or zap's own
complaints go to os.Stderr, which blocks and raises SIGPIPE:

	sink, err := logsink.New(2, logsink.Options{DroppedLine: logsink.DroppedLine(enc, "lastcall")})
	core := logsink.NewCore(sink, enc, level, logsink.LevelOrStep(zapcore.WarnLevel, "stop", "escalate", "exit", "drain"))
	logger := zap.New(core, zap.ErrorOutput(sink)).Named("lastcall")
	...
	if n := sink.Close(100 * time.Millisecond); n > 0 { ... }

Sync never waits for the writer, so zap's Fatal and Panic do not wait for
their line either: call Close before exiting.
*/
package logsink
