// Package dial opens the connections of lastcall's probes and of its
// Postgres plumbing: "localhost" is the loopback address without asking a
// resolver (a FROM scratch image has no /etc/hosts), and a deadline that ran
// out is told apart from other errors the same way everywhere.
package dial
