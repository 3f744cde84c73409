package cleanse

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/idfusion/idfusion/schemas"
)

// middleDot is U+00B7, the separator in transliterated names of ethnic
// minorities and foreigners (阿卜杜拉·买买提), the form GB 18030 and the
// public security registry use.
const middleDot = '\u00B7'

// isDotLookalike reports whether r is a character typed in place of the
// middle dot: katakana and half-width katakana middle dots, bullets, the
// hyphenation point, dot and bullet operators, the Greek ano teleia, the
// full-width full stop, the word-separator middle dot and the one-dot
// leader.
func isDotLookalike(r rune) bool {
	switch r {
	case '\u30FB', '\uFF65', '\u2022', '\u2027', '\u22C5', '\u2219', '\u0387', '\uFF0E', '\u2E31', '\u2024':
		return true
	}
	return false
}

// NormalizeName cleans a person's name: it trims it, applies NFKC, removes
// white space inside Chinese text while keeping single spaces between the
// words of names in other scripts (JOHN SMITH), and folds the look-alikes
// of the middle dot — and an ASCII "." between two Chinese characters —
// into U+00B7.
//
// code is NameEmpty when nothing is left, or NameBadChars when the name
// holds anything but letters, combining marks, those spaces and middle
// dots (and a hyphen or apostrophe between two Latin letters): digits, punctuation, symbols, control characters, U+FFFD (bytes
// the decoder could not read, often a rare character from a legacy
// system's user-defined area), private-use characters, or a middle dot at
// the start, at the end or doubled. The name is "" whenever code is not
// "".
//
// NormalizeName is idempotent, and a plain Chinese name comes back as raw
// itself, without allocating.
func NormalizeName(raw string) (string, schemas.Code) {
	if isPlainHanName(raw) {
		return raw, ""
	}
	s := normalizeNameText(raw)
	if s == "" {
		return "", schemas.NameEmpty
	}
	if !validName(s) {
		return "", schemas.NameBadChars
	}
	return s, ""
}

// isPlainHanName reports whether s is a non-empty run of NFKC-stable CJK
// ideographs, possibly with middle dots between them: the form most names
// already have, which the full normalization would return unchanged.
func isPlainHanName(s string) bool {
	if s == "" {
		return false
	}
	prevHan := false
	for i, r := range s {
		switch {
		case isStableHan(r):
			prevHan = true
		case r == middleDot && prevHan && i+len("·") < len(s):
			// A dot must sit between two ideographs: the one before is
			// prevHan, the one after is required by resetting it.
			prevHan = false
		default:
			return false
		}
	}
	return prevHan
}

// isStableHan reports whether r is a CJK unified ideograph, which NFKC
// leaves alone. Compatibility ideographs (U+F900.., U+2F800..) and radicals
// are not: NFKC maps them to unified ones.
func isStableHan(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3400 && r <= 0x4DBF:
		return true // both blocks are fully assigned (Unicode 14)
	case r >= 0x20000 && r <= 0x3FFFF && (r < 0x2F800 || r > 0x2FA1F):
		return unicode.Is(unicode.Han, r) // extension blocks have gaps
	}
	return false
}

// normalizeNameText applies the folding and spacing rules of NormalizeName
// without validating.
func normalizeNameText(raw string) string {
	// Look-alikes are folded before NFKC because NFKC turns some of them
	// (U+FF0E, U+2024) into an ASCII dot, which only folds between Chinese
	// characters.
	s := norm.NFKC.String(foldDots(raw))
	s = foldDots(s)

	rs := make([]rune, 0, len(s))
	space := false // white space seen since the last kept rune
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.Is(unicode.Cf, r):
			continue // invisible; neither a character nor a space
		}
		if space && len(rs) > 0 && isWordEnd(rs[len(rs)-1]) && isWordStart(r) {
			rs = append(rs, ' ')
		}
		space = false
		rs = append(rs, r)
	}
	for i := 1; i+1 < len(rs); i++ {
		if rs[i] == '.' && unicode.Is(unicode.Han, rs[i-1]) && unicode.Is(unicode.Han, rs[i+1]) {
			rs[i] = middleDot
		}
	}
	// Removing spaces can put a combining mark next to a letter it
	// composes with; NFKC again makes the result a fixed point.
	return norm.NFKC.String(string(rs))
}

// foldDots replaces the look-alikes of the middle dot with U+00B7.
func foldDots(s string) string {
	if !strings.ContainsFunc(s, isDotLookalike) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isDotLookalike(r) {
			return middleDot
		}
		return r
	}, s)
}

// isWordEnd and isWordStart tell whether a space between two runes
// separates words of an alphabetic name and is kept. Chinese characters
// take no spaces, and neither do middle dots.
func isWordEnd(r rune) bool {
	return (unicode.IsLetter(r) || unicode.IsMark(r)) && !unicode.Is(unicode.Han, r)
}

func isWordStart(r rune) bool {
	return unicode.IsLetter(r) && !unicode.Is(unicode.Han, r)
}

// validName checks a normalized name rune by rune.
func validName(s string) bool {
	prev := rune(0) // 0 at the start
	for i, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.Is(unicode.Han, r):
			// Han covers the ideographs that are not letters, such as 〇.
		case (r == '-' || r == '\'') && isLatin(prev) && isLatin(firstRune(s[i+1:])):
			// Foreign residents' names: JEAN-PIERRE, O'NEIL.
		case unicode.IsMark(r):
			if !unicode.IsLetter(prev) && !unicode.IsMark(prev) {
				return false
			}
		case r == ' ':
			// Only kept between letters, see normalizeNameText.
		case r == middleDot:
			if prev == 0 || prev == middleDot {
				return false
			}
		default:
			return false
		}
		prev = r
	}
	return prev != middleDot
}

func isLatin(r rune) bool { return unicode.Is(unicode.Latin, r) }

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}
