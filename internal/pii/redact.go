package pii

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// longDigits matches what could be an ID number (15 or 18 characters, the
// last maybe X) or a phone (11 digits) inside free text, in ASCII or
// full-width digits, also when written in groups ("139-1234-9071",
// "+86 139 1234 9071", "110105 19491231 002X").
var longDigits = regexp.MustCompile(`[0-9０-９](?:[ \-]?[0-9０-９]){10,}(?:[ \-]?[XxＸｘ])?`)

// Redact masks every run of 11 or more digits in free text that came from
// a department (names, addresses, source keys), the way ID numbers and
// phones are masked: a department that put an ID number or phone in the
// wrong column must not have it stored, printed or exported in clear.
func Redact(s string) string {
	if !hasLongDigitRun(s) {
		return s // the common case, without the regexp
	}
	return longDigits.ReplaceAllStringFunc(s, func(m string) string {
		if digits := utf8.RuneCountInString(strings.NewReplacer(" ", "", "-", "").Replace(m)); digits >= 15 {
			return MaskID(m)
		}
		return MaskPhone(m)
	})
}

// hasLongDigitRun reports whether s may hold a run that longDigits
// matches: 11 or more ASCII or full-width digits, single spaces or dashes
// allowed between them. It is the regexp's cheap gate.
func hasLongDigitRun(s string) bool {
	run := 0
	prevDigit := false
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		i += n
		switch {
		case r >= '0' && r <= '9', r >= '０' && r <= '９':
			run++
			if run >= 11 {
				return true
			}
			prevDigit = true
			continue
		case (r == ' ' || r == '-') && prevDigit:
			// may sit between two digits of one run
		default:
			run = 0
		}
		prevDigit = false
	}
	return false
}
