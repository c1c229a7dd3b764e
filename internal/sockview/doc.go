// Package sockview tells which processes hold sockets to given endpoints:
// the inodes of a process's sockets (/proc/PID/fd), the TCP tables of
// /proc/net and the kernel's sock_diag (TCP and unix sockets), matched in
// [LocalHolders]. It only reads; it knows nothing of PostgreSQL beyond the
// [Endpoint] a caller gives it, and never imports lib/pq.
package sockview
