package pii

import "unicode/utf8"

// MaskID masks an identity number as the province's pages show it: the first
// and last character with five stars between ("4*****4"), whatever the
// length, so the mask does not even reveal the document kind.
func MaskID(s string) string {
	if s == "" {
		return ""
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if utf8.RuneCountInString(s) < 2 {
		return "*****"
	}
	return string(first) + "*****" + string(last)
}

// MaskPhone masks a phone number as "139****9071": the first three and the
// last four characters stay. Shorter values are masked whole.
func MaskPhone(s string) string {
	r := []rune(s)
	if len(r) < 8 {
		return "****"
	}
	return string(r[:3]) + "****" + string(r[len(r)-4:])
}

// MaskName masks a user name as "hi****": the first two characters stay.
func MaskName(s string) string {
	r := []rune(s)
	if len(r) <= 2 {
		if len(r) == 0 {
			return ""
		}
		return string(r[:1]) + "****"
	}
	return string(r[:2]) + "****"
}
