// Package logsink owns the writing of lastcall's own log lines to a file
// descriptor (fd 2 in production), so that a stalled, closed or full output
// never delays the supervision loop and never raises a SIGPIPE that lastcall
// would forward to the app.
package logsink
