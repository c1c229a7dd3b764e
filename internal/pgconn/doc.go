// Package pgconn is lastcall's only door to lib/pq: connections under one
// hard deadline that lib/pq cannot lift (a dialer that clamps every socket
// deadline), the monitor session of the drain check and the sessions it
// reads from pg_stat_activity, the probe's connect-and-SELECT-1
// ([SelectOne]), what a DSN connects to ([Endpoints]), the per-instance
// PGAPPNAME tag, and which errors are [Transient]. Every error it returns
// has the passwords it knows of masked.
package pgconn
