package e2e

// lastcall's exit codes as the README documents them: the tests hold the
// binary to these numbers, not to the constants of its code.
const (
	exitUnhealthy  = 1 // lastcall healthcheck: the probe failed
	exitUsage      = 2
	exitLeaked     = 3 // --db-strict
	exitDBNotReady = 4 // --wait-db
	exitFailed     = 1 // lastcall itself failed (fork, output, --user's credentials)
)
