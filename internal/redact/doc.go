// Package redact keeps database passwords out of everything lastcall
// prints: [Redact] masks the passwords of a connection string (URL userinfo,
// password= parameters, key=value text), [Scrub] masks known passwords in
// free text (a parser's error quoting its input), and [ScrubPanics]
// reports a panic with them masked.
package redact
