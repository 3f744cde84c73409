package pii

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// longDigits matches what could be an ID number (15 or 18 characters, the
// last maybe X) or a phone (11 digits) inside free text, in ASCII or
// full-width digits.
var longDigits = regexp.MustCompile(`[0-9０-９]{11,}[XxＸｘ]?`)

// Redact masks every run of 11 or more digits in free text that came from
// a department (names, addresses, source keys), the way ID numbers and
// phones are masked: a department that put an ID number or phone in the
// wrong column must not have it stored, printed or exported in clear.
func Redact(s string) string {
	if !strings.ContainsFunc(s, unicode.IsDigit) {
		return s
	}
	return longDigits.ReplaceAllStringFunc(s, func(m string) string {
		if utf8.RuneCountInString(m) >= 15 {
			return MaskID(m)
		}
		return MaskPhone(m)
	})
}
