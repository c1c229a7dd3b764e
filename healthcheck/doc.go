// Package healthcheck answers whether something is healthy: one bounded
// probe (an HTTP GET, a TCP connect, or a PostgreSQL connect and SELECT 1),
// the wait for the database before the app starts ([WaitReady]), and the
// Postgres drain check, whose one entry point is [Prepare]. It never starts,
// signals or reaps a process: the supervisor does that, and main hands the
// drain check the supervisor's view of the tree as funcs. It never imports
// the supervisor; lib/pq is reached only through internal/pgconn, the
// sockets of the tree through internal/sockview.
//
// Every probe takes a timeout and the caller's context; the probe returns by
// the earlier of the two deadlines (plus the time to close its sockets), and
// reports "timeout after D" when a deadline ended it.
//
// # HTTP
//
// [HTTP] sends one GET without following redirects: a 2xx status is healthy,
// a 3xx is unhealthy and the reason names the Location it did not follow.
// The body is drained up to 4 KiB and discarded. Proxies from the environment
// (HTTP_PROXY and the like) are not used: a health check talks to the server
// itself. HTTPS verifies the server's certificate against the system roots,
// which a FROM scratch image does not have (set SSL_CERT_FILE).
//
// # TCP
//
// [TCP] is healthy when a TCP connection to HOST:PORT opens; it is closed at
// once and nothing is sent.
//
// # PostgreSQL
//
// [DB] connects with lib/pq and runs SELECT 1, the whole of it under one hard
// deadline. lib/pq stops honouring a context once its socket is connected (a
// peer that accepts and never answers blocks it for as long as the kernel
// lets it), so every socket lib/pq opens comes from a dialer (internal/pgconn)
// that sets the deadline on the socket right after dialing and clamps every
// later SetDeadline, SetReadDeadline and SetWriteDeadline to it, never later
// (a zero time, "no deadline", becomes the deadline too). When the caller's
// context is cancelled, those sockets are closed.
//
// When the URL (or PGSSLMODE) names no sslmode, the probe uses
// sslmode=prefer, libpq's default, not lib/pq's own default of require: TLS
// when the server offers it (without certificate checks, as libpq does), plain
// otherwise. A unix socket host never uses TLS.
//
// # Passwords
//
// No error, reason or log line of this package contains a database password:
// internal/redact masks passwords in URLs (postgres://user:PASSWORD@host and
// ?password=) and key=value strings (password=... and password='... ...'),
// and every error the DB probe returns has the passwords it knows of (from the
// URL and PGPASSWORD) scrubbed from its text, lib/pq's own messages included
// (a URL that does not parse is echoed whole by net/url). Free text is
// scrubbed only of passwords of at least 4 bytes: shorter ones would match
// ordinary words. The probe refuses to run when PQGO_DEBUG=1, since lib/pq
// then prints the whole connection string, password included, to stderr.
//
// # Transient errors
//
// pgconn.Transient tells a caller that retries (a readiness wait) which
// failures may go away: refused, unreachable, DNS, timeouts, a missing unix socket,
// a connection reset, and the SQLSTATEs 57P03 cannot_connect_now, 53300
// too_many_connections, 57P01/57P02 (shutdown) and class 08 (connection
// exception). Authentication failures (28P01, 28000), a missing database
// (3D000), TLS mismatches and bad URLs are not transient. [WaitReady]
// retries those with a capped backoff until its time runs out.
//
// # Drain check
//
// A [Drain] answers, once the app and its whole tree are down, whether the
// app's database connections are gone. The supervisor's hooks drive it:
// [Drain.StopBegan] (one goroutine starts watching: a monitor session under
// the check's hard deadline, a self-check for NAT or a proxy, and samples
// of the tagged sessions and of the tree's sockets), [Drain.ChildExited]
// (the descendants still holding the app's connections, and a snapshot of
// their sockets) and [Drain.Verdict] (polls until nothing of the app's is
// left, or the deadline). The first two never block; Verdict returns by the
// deadline whatever the database does. Only live sockets count: a TCP
// socket the server already closed (CLOSE_WAIT) holds no session. The
// local view decides when the server view is advisory: a tag that is not
// this instance's alone, or a self-check that saw something in between.
//
// Every session is followed from sample to sample. One that is gone, whose
// last sample had it idle in transaction or active holding a transaction
// id, took that transaction with it: the server is asked what became of it
// (pg_xact_status, txid_status before PostgreSQL 13), and an aborted one is
// a [RolledBack]. Only proven rollbacks count; a read-only transaction (no
// id) lost nothing.
//
// A session still open after the tree was down is [Pooled], not leaked,
// when a process outside lastcall's tree holds its client end: found by
// the client address when it is this host's (the TCP socket with that
// address and port, and the process holding it in /proc), or, out of
// sight (a remote client, a unix socket), when the session stays idle for
// 250 ms after the tree was down: a closed client ends an idle session
// within milliseconds. A descendant that held a connection to such a
// pooler when the app exited is a holder all the same.
package healthcheck
