// Package testutil holds the helpers that tests of several packages share:
// addresses where nothing listens, a TCP proxy on loopback, a bound on how
// long a probe may take, and a goroutine-safe buffer for logs. Tests only.
package testutil
