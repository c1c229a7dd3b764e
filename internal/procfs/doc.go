// Package procfs reads what lastcall needs of /proc: one process's stat
// line, the list of processes, the tree below a pid, and whether /proc is
// lastcall's own PID namespace (or missing, or another's: Check). It only reads; it never signals or waits.
// internal/pgserver reads stat lines through it too; the postmaster's
// command line, environment, working directory and executable, which only
// pgserver needs, it reads itself.
package procfs
