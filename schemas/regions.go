package schemas

import (
	_ "embed" // regions.txt
	"fmt"
	"slices"
	"strings"
	"sync"
)

// regionsTxt is the GB/T 2260 county-level code list, current and
// historical; see the header of regions.txt for its sources.
//
//go:embed regions.txt
var regionsTxt string

// provinces marks the two-digit province-level codes of GB/T 2260,
// including Taiwan (71), Hong Kong (81) and Macau (82). The 83 prefix of
// the Taiwan residents' residence permit is deliberately absent: it is not a
// province code, and the permit checks it on its own.
var provinces = [100]bool{
	11: true, 12: true, 13: true, 14: true, 15: true,
	21: true, 22: true, 23: true,
	31: true, 32: true, 33: true, 34: true, 35: true, 36: true, 37: true,
	41: true, 42: true, 43: true, 44: true, 45: true, 46: true,
	50: true, 51: true, 52: true, 53: true, 54: true,
	61: true, 62: true, 63: true, 64: true, 65: true,
	71: true, 81: true, 82: true,
}

// ProvinceValid reports whether code2, the first two digits of an identity
// number, is a real province-level code. Province codes have not changed
// since 1988 (Hainan 46, then Chongqing 50 in 1997), so unlike county codes
// an unknown province means the number is wrong.
func ProvinceValid(code2 string) bool {
	if len(code2) != 2 {
		return false
	}
	a, b := code2[0]-'0', code2[1]-'0'
	if a > 9 || b > 9 {
		return false
	}
	return provinces[a*10+b]
}

// MainlandProvinceValid reports whether code2 is a province-level code of
// the mainland: ProvinceValid without Taiwan (71), Hong Kong (81) and Macau
// (82). It is the rule for the province inside an identity number: a
// resident number's address code is the county of a household registration
// (GB 11643-1999 §5.1), which none of the three has — their residents hold
// the 810000/820000/830000 residence permits instead — and the issuing
// authority of a foreigner's permanent residence card is a mainland
// exit-entry administration.
func MainlandProvinceValid(code2 string) bool {
	return ProvinceValid(code2) && code2[0] < '7'
}

// countySet is the parsed county list: a bitset for constant-time lookups
// on the hot path of identity parsing, and the sorted codes for
// SampleCounties.
type countySet struct {
	bits  [1_000_000/64 + 1]uint64
	codes []string
}

// counties parses regions.txt on first use, so programs that never look at
// identity numbers pay nothing for it.
var counties = sync.OnceValue(func() *countySet {
	set, err := parseCounties(regionsTxt)
	if err != nil {
		// The list is embedded at build time; a bad line is a bug caught by
		// the package tests, never a runtime condition.
		panic(err)
	}
	return set
})

// parseCounties reads one code per line, optionally followed by a tab and
// a name; empty lines and lines starting with '#' are skipped.
func parseCounties(txt string) (*countySet, error) {
	set := &countySet{}
	for i, line := range strings.Split(txt, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		code, _, _ := strings.Cut(line, "\t")
		n, ok := parseCode6(code)
		if !ok {
			return nil, fmt.Errorf("regions.txt line %d: %q is not a 6-digit region code", i+1, code)
		}
		if set.bits[n/64]&(1<<(n%64)) == 0 {
			set.bits[n/64] |= 1 << (n % 64)
			set.codes = append(set.codes, code)
		}
	}
	slices.Sort(set.codes)
	return set, nil
}

// parseCode6 converts a 6-digit ASCII code to its number.
func parseCode6(code string) (uint32, bool) {
	if len(code) != 6 {
		return 0, false
	}
	var n uint32
	for i := range 6 {
		d := code[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + uint32(d)
	}
	return n, true
}

// CountyKnown reports whether code6 is a county-level GB/T 2260 code that
// was in use at some time since 1980. An identity number keeps the code of
// the county where it was issued even after the county is merged or
// renamed, so callers treat false as a warning, never as a reject.
func CountyKnown(code6 string) bool {
	n, ok := parseCode6(code6)
	if !ok {
		return false
	}
	set := counties()
	return set.bits[n/64]&(1<<(n%64)) != 0
}

// SampleCounties returns every known county-level code, sorted, for
// generators of test data that need real region codes. The slice is a
// fresh copy the caller may modify.
func SampleCounties() []string {
	return slices.Clone(counties().codes)
}
