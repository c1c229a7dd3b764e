// Package pgserver recognises a PostgreSQL server (a postmaster) among
// lastcall's processes and reads, from its data directory's pg_control,
// whether the cluster was shut down cleanly. It never signals, starts or
// reaps a process: the supervisor does that, and hands over the pids.
//
// PostgreSQL wants a fast shutdown (SIGINT to the postmaster: clients are
// disconnected, the shutdown checkpoint is written, the server exits), and
// then pg_control says "shut down". A SIGKILL, or a crash, leaves "in
// production", and the next start runs crash recovery.
//
// # Recognising a postmaster
//
// [Identify] takes a pid and says whether it is a postmaster, from /proc:
// its executable is postgres (or postmaster), its parent is not a postgres
// process (which rules out backends, the checkpointer, the WAL writer and
// the rest), and its data directory holds a postmaster.pid whose first line
// is that pid. The data directory is looked for, in turn, in the argument
// of -D (or -c data_directory=) in its command line, in PGDATA in its
// environment, and in its working directory (a postmaster changes into its
// data directory as it starts). [Postmasters] picks the postmasters out of
// a list of pids.
//
// A process that exits while it is looked at is not a postmaster; that is
// no error. /proc/PID/exe, /proc/PID/cwd and /proc/PID/environ need ptrace
// rights over the process: lastcall as root without CAP_SYS_PTRACE (a
// Docker container's default) cannot read them for a server that runs as
// the user postgres. The executable is then told by /proc/PID/comm, and the
// data directory only by the command line; when that names none, the
// answer is unknown and the error says so (errors.Is(err,
// fs.ErrPermission)).
//
// # pg_control
//
// [ReadControl] reads DIR/global/pg_control, checks the CRC-32C that
// PostgreSQL stores in it, and reports the cluster [State] in
// pg_controldata's words, with the time of the latest checkpoint.
// PostgreSQL 12 to 17 are known (pg_control versions 1201, 1300 and 1700)
// on 64-bit platforms, in the machine's own byte order. A missing file, a
// short one, an unknown version and a bad CRC are errors ([ErrShortControl],
// [ErrUnknownVersion], [ErrBadCRC]); a missing file's error satisfies
// errors.Is(err, fs.ErrNotExist). [Control.Clean] is true only for "shut
// down".
package pgserver
