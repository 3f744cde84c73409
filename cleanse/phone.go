package cleanse

import "golang.org/x/text/unicode/norm"

// NormalizePhone reduces raw to a mainland mobile number, 11 digits
// matching 1[3-9]\d{9}. It applies NFKC (full-width digits), drops white
// space, invisible characters, dashes, dots and parentheses, and removes a
// country prefix +86, 0086 or 86. ok is false for anything else —
// landlines, foreign numbers, two numbers in one cell — and phone is then
// "". A bad phone is only a warning for the row, so there is no reason
// code here; the caller drops the field.
func NormalizePhone(raw string) (phone string, ok bool) {
	if isMobile(raw) {
		return raw, true // the common case, without allocating
	}
	s := raw
	if !isASCII(s) {
		s = norm.NFKC.String(s)
	}
	var buf [20]byte
	n, plus := 0, false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			if n == len(buf) {
				return "", false
			}
			buf[n] = byte(r)
			n++
		case r == '+' && n == 0 && !plus:
			plus = true
		case isPhoneSeparator(r):
		default:
			return "", false
		}
	}
	d := buf[:n]
	switch {
	case plus:
		// Only the Chinese country code leads to a mainland mobile.
		if n != 13 || d[0] != '8' || d[1] != '6' {
			return "", false
		}
		d = d[2:]
	case n == 15 && string(d[:4]) == "0086":
		d = d[4:]
	case n == 13 && d[0] == '8' && d[1] == '6':
		d = d[2:]
	}
	p := string(d)
	if !isMobile(p) {
		return "", false
	}
	return p, true
}

// isMobile reports whether s is exactly a mainland mobile number.
func isMobile(s string) bool {
	return len(s) == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && allDigits(s)
}

// isPhoneSeparator reports whether r is one of the characters people put
// between the groups of a phone number.
func isPhoneSeparator(r rune) bool {
	switch r {
	case '-', '.', '(', ')', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\u30FC':
		return true
	}
	return isIgnorable(r)
}
