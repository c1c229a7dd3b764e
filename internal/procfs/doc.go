// Package procfs reads what lastcall needs of /proc: one process's stat
// line, the list of processes, the tree below a pid, and whether /proc is
// lastcall's own PID namespace. It only reads; it never signals or waits.
package procfs
