package pii

import (
	"unicode"
	"unicode/utf8"
)

// minRedactDigits is the fewest digits an ID number or phone has (a phone's
// 11): text with fewer is returned as it is, without a closer look.
const minRedactDigits = 11

// maxSeparatorRun is the most separator characters between two groups of
// digits of one number ("139 - 1234 - 9071"): more, and the groups are
// taken as different numbers.
const maxSeparatorRun = 3

// Redact masks the ID numbers and phones in free text that came from a
// department (names, addresses, source keys), the way ID numbers and
// phones are masked elsewhere: a department that put an ID number or phone
// in the wrong column must not have it stored, printed or exported in
// clear. It masks every number of 11 digits or more, written in one run
// or in groups separated by up to maxSeparatorRun spaces, dashes, dots,
// slashes, brackets or invisible characters, in ASCII or full-width forms
// ("139.1234.9071", "460102/19900101/1234", "１３９－１２３４－９０７１"),
// the groups as people write numbers (see numberAt): a phone (139****9071)
// below 15 digits, an ID number (4*****4) from 15 on, with its check
// character X. Where a mobile or an ID number starts such a run, only it
// is masked ("139 1234 9071 570100" keeps its postcode).
//
// An address's own numbers keep their digits: door, unit and room numbers
// (12-3-501), a postcode, dates; so do enumerations (1301、1302、1303).
// Digits are ASCII or full-width; a masked number is written without its
// separators.
func Redact(s string) string {
	if countDigits(s) < minRedactDigits {
		return s // the common case, without a closer look
	}
	groups := digitGroups(s)
	var out []byte
	last := 0 // s[:last] is written to out
	mask := func(from, to int, masked []byte) {
		out = append(out, s[last:from]...)
		out = append(out, masked...)
		last = to
	}
	for i := 0; i < len(groups); {
		j, end, masked, run := numberAt(groups, i)
		if j > i {
			mask(groups[i].start, end, masked)
			i = j
			continue
		}
		// No mobile or ID number starts here. The run up to where one
		// starts, or to its end, is masked whole if long enough.
		k := i + 1
		for k < run {
			if j, _, _, _ := numberAt(groups, k); j > k {
				break
			}
			k++
		}
		var digits []rune
		for _, g := range groups[i:k] {
			digits = append(digits, g.digits...)
		}
		switch {
		case len(digits) >= 15:
			mask(groups[i].start, groups[k-1].end, AppendMaskID(nil, string(digits)))
		case len(digits) >= minRedactDigits:
			mask(groups[i].start, groups[k-1].end, AppendMaskPhone(nil, string(digits)))
		}
		i = k
	}
	if out == nil {
		return s
	}
	return string(append(out, s[last:]...))
}

// A group is a run of digits in s: s[start:end], its digits (runes, as
// written), whether it continues the group before it (only separators
// between them, at most maxSeparatorRun), and the X that follows it the
// same way, which may be an ID number's check character.
type group struct {
	start, end int
	digits     []rune
	joined     bool
	x          rune // 0, or the X (X, x, Ｘ, ｘ) after the group
	xEnd       int  // where the X ends in s
}

// digitGroups returns the runs of digits of s, in order.
func digitGroups(s string) []group {
	var groups []group
	seps := maxSeparatorRun + 1 // separators since the last group; more than the maximum: none before
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case isDigit(r):
			if seps == 0 && len(groups) > 0 && groups[len(groups)-1].x == 0 {
				g := &groups[len(groups)-1]
				g.digits = append(g.digits, r)
				g.end = i + n
			} else {
				groups = append(groups, group{start: i, end: i + n, digits: []rune{r}, joined: len(groups) > 0 && seps <= maxSeparatorRun})
			}
			seps = 0
		case isCheckX(r) && len(groups) > 0 && seps <= maxSeparatorRun && groups[len(groups)-1].x == 0:
			// Taken as a check character only by an ID number
			// ending there (numberAt, maskRun); nothing joins after it.
			g := &groups[len(groups)-1]
			g.x, g.xEnd = r, i+n
			seps = maxSeparatorRun + 1
		case isSeparator(r):
			seps++
		default:
			seps = maxSeparatorRun + 1
		}
		i += n
	}
	return groups
}

// numberAt looks for a mobile number or an ID number from groups[i] on,
// in the run of joined groups there as people write numbers: every group
// but the last of 3 digits or more (139 1234 9071, 4601 0219 9001 0112
// 34), or every group a single digit. An address's numbers rarely are
// (12-3-501; a door number and a postcode 1-3-501 570100 make 11 digits
// starting 13, but not such a run). It returns the end j of the longest
// mobile number (11 digits starting 13 to 19, see phoneStart) or ID number
// (17 digits and an X, 18 digits, or 15 with a birth date YYMMDD) starting
// at groups[i]: groups[i:j], where it ends in s and it masked, or j = i
// when there is none; and the end of the run, groups[i:run].
func numberAt(groups []group, i int) (j, end int, masked []byte, run int) {
	var digits []rune
	j, run = i, i
	for k := i; k < len(groups) && (k == i || groups[k].joined); k++ {
		g := groups[k]
		if k > i && len(groups[k-1].digits) < 3 && (len(g.digits) > 1 || !allSingles(groups[i:k])) {
			break
		}
		digits = append(digits, g.digits...)
		run = k + 1
		switch {
		case len(digits) == 17 && g.x != 0:
			j, end, masked = k+1, g.xEnd, AppendMaskID(nil, string(append(digits, g.x)))
		case len(digits) == 18 || len(digits) == 15 && isBirthDate6(digits[6:12]):
			j, end, masked = k+1, g.end, AppendMaskID(nil, string(digits))
		case len(digits) == 11 && toASCII(digits[0]) == '1' && toASCII(digits[1]) >= '3' && phoneStart(groups[i:k+1]):
			j, end, masked = k+1, g.end, AppendMaskPhone(nil, string(digits))
		}
		if g.x != 0 {
			break // nothing joins after an X
		}
	}
	return j, end, masked, run
}

// phoneStart reports whether groups, 11 digits, start as a mobile number
// is written: in one run, in groups starting with 3, 4 or 7 digits (139
// 1234 9071, 1391 2349 071, 1391234 9071), or digit by digit. Not 8 and 3:
// that is the end of an ID number mistyped (460102 19900101 123).
func phoneStart(groups []group) bool {
	switch len(groups[0].digits) {
	case 3, 4, 7, 11:
		return true
	}
	return allSingles(groups)
}

// allSingles reports whether every group has a single digit.
func allSingles(groups []group) bool {
	for _, g := range groups {
		if len(g.digits) != 1 {
			return false
		}
	}
	return true
}

// isBirthDate6 reports whether d, six digits, are a date YYMMDD, as in a
// 15-digit ID number.
func isBirthDate6(d []rune) bool {
	n := func(k int) int { return int(toASCII(d[k])-'0')*10 + int(toASCII(d[k+1])-'0') }
	month, day := n(2), n(4)
	return month >= 1 && month <= 12 && day >= 1 && day <= 31
}

// isDigit reports whether r is an ASCII or full-width digit.
func isDigit(r rune) bool { return r >= '0' && r <= '9' || r >= '０' && r <= '９' }

// toASCII returns the ASCII digit for a full-width one, r otherwise.
func toASCII(r rune) rune {
	if r >= '０' && r <= '９' {
		return r - '０' + '0'
	}
	return r
}

// isCheckX reports whether r is the check character X of an ID number, in
// either case and width.
func isCheckX(r rune) bool { return r == 'X' || r == 'x' || r == 'Ｘ' || r == 'ｘ' }

// isSeparator reports whether r may stand between the groups of one
// number: white space, dashes (any Unicode dash) and tildes, dots and
// middle dots, slashes and backslashes, vertical bars, underscores, round
// brackets, in ASCII and full-width forms, and invisible characters
// (zero-width spaces, soft hyphens, direction marks). Not commas: they
// separate the items of a list (1301、1302、1303), not a number's groups.
func isSeparator(r rune) bool {
	switch r {
	case '.', '。', '．', '｡', '·', '・', '･', '‧', '․', '∙', '⋅', '•',
		'/', '／', '\\', '＼', '⁄', '∕', '|', '｜', '_', '＿',
		'(', ')', '（', '）', '−', '~', '～':
		return true
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || unicode.Is(unicode.Cf, r)
}

// countDigits counts the ASCII and full-width digits of s.
func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			n++
		case c == 0xEF && i+2 < len(s) && s[i+1] == 0xBC && s[i+2] >= 0x90 && s[i+2] <= 0x99:
			// U+FF10–U+FF19, the full-width digits: EF BC 90–99.
			n++
			i += 2
		}
	}
	return n
}
