package connstr

import (
	"unicode"
	"unicode/utf8"
)

// KeyValuePasswords finds password values in key=value text the way lib/pq's
// parser reads it. ok is false when lib/pq would reject the text; the spans
// found so far are returned, and when the text goes wrong right after a
// password key, the rest of it is one more span.
func KeyValuePasswords(s string) (spans []Span, ok bool) {
	sc := kvScanner{s: s}
	lastWasPassword := false
	fail := func(from int) ([]Span, bool) {
		if lastWasPassword && from < len(s) {
			spans = append(spans, Span{from, len(s)})
		}
		return spans, false
	}
	for {
		sc.skipSpaces()
		if sc.done() {
			return spans, true
		}
		keyStart := sc.i
		key := sc.key()
		sc.skipSpaces()
		if sc.done() || s[sc.i] != '=' {
			return fail(keyStart)
		}
		sc.i++ // '='
		sc.skipSpaces()
		if sc.done() {
			return spans, true // key= at the end: an empty value
		}
		isPassword := IsPasswordKey(key)
		v, closed := sc.value()
		if !closed {
			lastWasPassword = isPassword
			return fail(v.Start)
		}
		if isPassword && v.End > v.Start {
			spans = append(spans, v)
		}
		lastWasPassword = isPassword
	}
}

// NamesHost reports whether key=value text gives a host or
// hostaddr a value, read as lib/pq reads the text (a quoted value is no
// key; an empty value names nothing: libpq and lib/pq fall back to the
// default then).
func NamesHost(s string) bool {
	sc := kvScanner{s: s}
	named := map[string]bool{} // the last value of each key wins
	for {
		sc.skipSpaces()
		if sc.done() {
			return named["host"] || named["hostaddr"]
		}
		key := sc.key()
		sc.skipSpaces()
		if sc.done() || s[sc.i] != '=' {
			return false
		}
		sc.i++ // '='
		sc.skipSpaces()
		if sc.done() {
			named[key] = false
			continue
		}
		v, closed := sc.value()
		if !closed {
			return false
		}
		named[key] = v.End > v.Start
	}
}

// kvScanner walks key=value text rune by rune.
type kvScanner struct {
	s string
	i int
}

func (sc *kvScanner) done() bool { return sc.i >= len(sc.s) }

func (sc *kvScanner) peek() (rune, int) { return utf8.DecodeRuneInString(sc.s[sc.i:]) }

func (sc *kvScanner) skipSpaces() {
	for !sc.done() {
		r, n := sc.peek()
		if !unicode.IsSpace(r) {
			return
		}
		sc.i += n
	}
}

// key reads up to a space or '='.
func (sc *kvScanner) key() string {
	start := sc.i
	for !sc.done() {
		r, n := sc.peek()
		if unicode.IsSpace(r) || r == '=' {
			break
		}
		sc.i += n
	}
	return sc.s[start:sc.i]
}

// value reads a plain or a quoted value and returns where it lies, without
// quotes. closed is false when the text ends inside it (a dangling
// backslash, a quote never closed): lib/pq rejects that.
func (sc *kvScanner) value() (v Span, closed bool) {
	if sc.s[sc.i] != '\'' {
		v.Start = sc.i
		for !sc.done() {
			r, n := sc.peek()
			if unicode.IsSpace(r) {
				break
			}
			if r == '\\' {
				if sc.i+n >= len(sc.s) {
					return v, false
				}
				_, n2 := utf8.DecodeRuneInString(sc.s[sc.i+n:])
				n += n2
			}
			sc.i += n
		}
		v.End = sc.i
		return v, true
	}
	sc.i++ // opening quote
	v.Start = sc.i
	for !sc.done() {
		r, n := sc.peek()
		if r == '\'' {
			v.End = sc.i
			sc.i++ // closing quote
			return v, true
		}
		if r == '\\' && sc.i+n < len(sc.s) {
			_, n2 := utf8.DecodeRuneInString(sc.s[sc.i+n:])
			n += n2
		}
		sc.i += n
	}
	return v, false
}
