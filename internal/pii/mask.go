package pii

import "unicode/utf8"

// MaskID masks an identity number as the province's pages show it: the first
// and last character with five stars between ("4*****4"), whatever the
// length, so the mask does not even reveal the document kind.
func MaskID(s string) string { return string(AppendMaskID(nil, s)) }

// AppendMaskID appends MaskID(s) to dst.
func AppendMaskID(dst []byte, s string) []byte {
	if s == "" {
		return dst
	}
	if utf8.RuneCountInString(s) < 2 {
		return append(dst, "*****"...)
	}
	_, n := utf8.DecodeRuneInString(s)
	_, m := utf8.DecodeLastRuneInString(s)
	dst = append(dst, s[:n]...)
	dst = append(dst, "*****"...)
	return append(dst, s[len(s)-m:]...)
}

// MaskPhone masks a phone number as "139****9071": the first three and the
// last four characters stay. Shorter values are masked whole.
func MaskPhone(s string) string { return string(AppendMaskPhone(nil, s)) }

// AppendMaskPhone appends MaskPhone(s) to dst.
func AppendMaskPhone(dst []byte, s string) []byte {
	if utf8.RuneCountInString(s) < 8 {
		return append(dst, "****"...)
	}
	head := 0
	for range 3 {
		_, n := utf8.DecodeRuneInString(s[head:])
		head += n
	}
	tail := len(s)
	for range 4 {
		_, n := utf8.DecodeLastRuneInString(s[:tail])
		tail -= n
	}
	dst = append(dst, s[:head]...)
	dst = append(dst, "****"...)
	return append(dst, s[tail:]...)
}

// MaskPersonName masks a person's name as the pages show it: the first
// character and four stars ("韩****"), whatever the length.
func MaskPersonName(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return ""
	}
	return string(r) + "****"
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
