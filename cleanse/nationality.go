package cleanse

import (
	"sync"

	"golang.org/x/text/language"
)

// nationalityCodes are the country codes a foreigner's permanent residence
// card may carry: the ISO 3166-1 alpha-3 letters of the 2004 and 2017 cards
// and the ISO 3166-1 numeric code of the 2023 card (GB/T 2659 is ISO 3166-1).
// Both come from the CLDR region data of golang.org/x/text, which keeps the
// codes ISO has since withdrawn (ANT, SCG, YUG, SUN, ZAR, …): a card issued
// in 2004 keeps the nationality it was issued with.
type nationalityCodes struct {
	numeric [1000]bool
	alpha3  [26 * 26 * 26]bool
}

// icaoNonNational are the ICAO Doc 9303 codes for holders without a
// nationality (stateless person, refugees, unspecified), which travel
// documents and the cards built on them use in place of a country.
var icaoNonNational = []string{"XXA", "XXB", "XXC", "XXX"}

// nationalities builds the tables on first use, so programs that never see
// a foreigner card pay nothing for them; lookups are then one load.
var nationalities = sync.OnceValue(func() *nationalityCodes {
	t := &nationalityCodes{}
	var b [3]byte
	for n := range 1000 {
		b[0], b[1], b[2] = byte('0'+n/100), byte('0'+n/10%10), byte('0'+n%10)
		// IsCountry leaves out the UN M.49 groupings (001 World, 150
		// Europe, …) that share the three-digit space.
		if r, err := language.ParseRegion(string(b[:])); err == nil && r.IsCountry() {
			t.numeric[n] = true
		}
	}
	for i := range t.alpha3 {
		b[0], b[1], b[2] = byte('A'+i/676), byte('A'+i/26%26), byte('A'+i%26)
		if r, err := language.ParseRegion(string(b[:])); err == nil && r.IsCountry() {
			t.alpha3[i] = true
		}
	}
	for _, c := range icaoNonNational {
		t.alpha3[alpha3Index(c)] = true
	}
	return t
})

// numericNationalityValid reports whether code3, three ASCII digits the
// caller has verified, is an ISO 3166-1 numeric country code.
func numericNationalityValid(code3 string) bool {
	return nationalities().numeric[digits(code3[:3])]
}

// alpha3NationalityValid reports whether code3, three upper-case ASCII
// letters the caller has verified, is an ISO 3166-1 alpha-3 country code
// or an ICAO code for a holder without one.
func alpha3NationalityValid(code3 string) bool {
	return nationalities().alpha3[alpha3Index(code3)]
}

func alpha3Index(code3 string) int {
	code3 = code3[:3]
	return int(code3[0]-'A')*676 + int(code3[1]-'A')*26 + int(code3[2]-'A')
}
