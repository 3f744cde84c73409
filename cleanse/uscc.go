package cleanse

import "github.com/idfusion/idfusion/schemas"

// usccCharset is the GB 32100-2015 alphabet: digits and the capital
// letters without I, O, Z, S and V, which are too easily read as 1, 0, 2,
// 5 and U. A character's value is its index.
const usccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccValue maps a byte to its value in usccCharset, or -1.
var usccValue = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := range len(usccCharset) {
		v[usccCharset[i]] = int8(i)
	}
	return v
}()

// usccWeights are Wᵢ = 3^(i-1) mod 31 for the first 17 characters.
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// ValidUSCC normalizes raw and validates it as a Unified Social Credit
// Code (统一社会信用代码, GB 32100-2015), the identifier of a legal person.
// Normalization is NormalizeID's: white space and invisible characters
// anywhere (codes are often printed in groups), spreadsheet wrappers, NFKC,
// upper case. The code has 18 characters over usccCharset — the first, the
// registering authority, may be a letter — and the last is the check
// character charset[(31 - Σ vᵢ·Wᵢ mod 31) mod 31].
//
// It returns the canonical code and "", or "" and USCCBadChars,
// USCCBadLength (an empty cell included) or USCCBadChecksum.
func ValidUSCC(raw string) (string, schemas.Code) {
	s := NormalizeID(raw)
	for i := 0; i < len(s); i++ {
		if usccValue[s[i]] < 0 {
			return "", schemas.USCCBadChars
		}
	}
	if len(s) != 18 {
		return "", schemas.USCCBadLength
	}
	if USCCCheckChar(s[:17]) != s[17] {
		return "", schemas.USCCBadChecksum
	}
	return s, ""
}

// USCCCheckChar returns the check character of the first 17 characters of
// a credit code (all of usccCharset).
func USCCCheckChar(first17 string) byte {
	sum := 0
	for i := range 17 {
		sum += int(usccValue[first17[i]]) * usccWeights[i]
	}
	return usccCharset[(31-sum%31)%31]
}
