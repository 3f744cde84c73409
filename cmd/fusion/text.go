package main

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/idfusion/idfusion/internal/pii"
)

// longDigits matches what could be an ID number (15 or 18 characters, the
// last maybe X) or a phone (11 digits) inside free text, in ASCII or
// full-width digits.
var longDigits = regexp.MustCompile(`[0-9０-９]{11,}[XxＸｘ]?`)

// redact masks every run of 11 or more digits in free text that came from
// a department (names, addresses, source keys), the way the account store
// masks ID numbers and phones: a department that put an ID number or phone
// in the wrong column must not have it printed or exported in clear.
func redact(s string) string {
	if !strings.ContainsFunc(s, unicode.IsDigit) {
		return s
	}
	return longDigits.ReplaceAllStringFunc(s, func(m string) string {
		if utf8.RuneCountInString(m) >= 15 {
			return pii.MaskID(m)
		}
		return pii.MaskPhone(m)
	})
}

// printable makes department text safe for a terminal and for tab-aligned
// columns: control and format characters (escape sequences, tabs, new
// lines, bidirectional overrides) become U+FFFD.
func printable(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

func unsafeRune(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf) }

// cell makes department text a tabwriter cell: printable, and padded so
// that the columns after it line up on a terminal. tabwriter counts runes,
// while a Chinese character takes two columns; each wide rune gets a space
// after the text to make up for it.
func cell(s string) string {
	s = printable(s)
	wide := 0
	for _, r := range s {
		if k := width.LookupRune(r).Kind(); k == width.EastAsianWide || k == width.EastAsianFullwidth {
			wide++
		}
	}
	if wide == 0 {
		return s
	}
	return s + strings.Repeat(" ", wide)
}
