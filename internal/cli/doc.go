// Package cli turns lastcall's command line into a run: one table of flag
// specs (name, LASTCALL_* variable, default, usage text, accepted form,
// parser) resolved into the supervisor's Config, the stop plan's input and
// the database settings, the usage errors, and Run, which wires the
// supervisor to the drain check and returns the exit code. It is the only
// importer of cobra besides main.
//
// # Empty values
//
// An empty LASTCALL_* variable counts as unset (a variable a Dockerfile
// declares empty must not break the start). An empty flag value (--grace=,
// --user=$UNSET) is a usage error naming the flag: a flag given on purpose
// with nothing in it is a mistake, and --user= must never quietly mean
// "run the app as root".
//
// # Adding a flag
//
// One entry in rootSpecs (or probeSpecs), its set func, its field in
// Settings, and a line in the README's flag table.
package cli
