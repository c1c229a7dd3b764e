// Package e2e holds the black-box tests of the lastcall binary: each test
// builds lastcall (and the test app from testdata/app) and runs it as a
// user would, as PID 1 and as a subreaper, against real PostgreSQL,
// PgBouncer, gunicorn and Docker where the machine has them. It has no
// code of its own outside tests.
package e2e
