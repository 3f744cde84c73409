package cleanse

import "strings"

// ParseGender reads a gender cell: 男, 男性, M, male and the GB/T 2261.1
// code 1 give 'M'; 女, 女性, F, female and code 2 give 'F' (case, full-width
// forms and surrounding space do not matter). ok is false for an empty
// cell, for the GB/T 2261.1 codes 0 (unknown) and 9 (unspecified), and for
// anything else: a gender the cell does not state is left to the identity
// number rather than guessed.
func ParseGender(s string) (byte, bool) {
	switch s { // the values nearly every export uses, without normalizing
	case "男", "1", "M", "男性":
		return 'M', true
	case "女", "2", "F", "女性":
		return 'F', true
	}
	switch strings.ToLower(cleanText(s)) {
	case "男", "男性", "m", "male", "1":
		return 'M', true
	case "女", "女性", "f", "female", "2":
		return 'F', true
	}
	return 0, false
}
