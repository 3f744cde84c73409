package main

import "strings"

// The keyboard's rows, and its columns top to bottom with the digit's
// shifted symbol, as a walk types them.
var (
	keyRows    = []string{"qwertyuiop", "asdfghjkl", "zxcvbnm"}
	keyColumns = []string{"1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm", "8ik,", "9ol.", "0p;/"}
	shifted    = map[byte]byte{'1': '!', '2': '@', '3': '#', '4': '$', '5': '%', '6': '^', '7': '&', '8': '*', '9': '(', '0': ')'}
)

// directions say which columns of a walk go down (1qaz) and which up
// (zaq1): all down, all up, or turn by turn starting either way
// (1qazxsw2, zaq12wsx).
var directions = []func(column int) bool{
	func(int) bool { return true },
	func(int) bool { return false },
	func(k int) bool { return k%2 == 0 },
	func(k int) bool { return k%2 == 1 },
}

// minWalk is the shortest walk kept: three keys (qwe, asd, zxc).
const minWalk = 3

// keyboardWalks returns the walks people type as passwords: every stretch
// of minWalk or more keys along a row, either way (qwerty, asdfgh, poiuy);
// one to four neighbouring columns of minWalk letters or more, down
// (1qaz2wsx), up (zaq1xsw2) or turn by turn (zaq12wsx), with and without
// their digits, a digit typed shifted or not (1qaz@wsx,
// !qaz2wsx); and a letter row interleaved with the digits above it, either
// first (1q2w3e4r, q1w2e3r4).
func keyboardWalks() []string {
	var out []string
	for _, row := range keyRows {
		for _, r := range []string{row, reverse(row)} {
			for i := range len(r) {
				for j := i + minWalk; j <= len(r); j++ {
					out = append(out, r[i:j])
				}
			}
		}
	}
	for first := range keyColumns {
		for n := 1; n <= 4 && first+n <= len(keyColumns); n++ {
			cols := keyColumns[first : first+n]
			var letters strings.Builder
			for _, c := range cols {
				letters.WriteString(strings.TrimRight(c[1:], ",./;"))
			}
			if letters.Len() < minWalk {
				continue // 8ik, 9ol. 0p;/ alone: too few letters
			}
			out = append(out, letters.String())
			for mask := range 1 << n {
				for _, down := range directions {
					var b strings.Builder
					for k, c := range cols {
						digit := c[0]
						if mask&(1<<k) != 0 {
							digit = shifted[digit]
						}
						if down(k) {
							b.WriteByte(digit)
							b.WriteString(c[1:])
						} else {
							b.WriteString(reverse(c[1:]))
							b.WriteByte(digit)
						}
					}
					out = append(out, b.String())
				}
			}
		}
	}
	digits := "1234567890"
	for _, row := range keyRows {
		for n := minWalk; n <= len(row); n++ {
			var digitFirst, letterFirst strings.Builder
			for k := range n {
				digitFirst.WriteByte(digits[k])
				digitFirst.WriteByte(row[k])
				letterFirst.WriteByte(row[k])
				letterFirst.WriteByte(digits[k])
			}
			out = append(out, digitFirst.String(), letterFirst.String())
		}
	}
	return out
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}
