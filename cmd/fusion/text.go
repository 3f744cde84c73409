package main

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

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
