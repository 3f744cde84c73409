package cleanse

import (
	"testing"
	"time"

	"github.com/idfusion/idfusion/schemas"
)

// idSeeds are cells of every shape and normalization rule, for the
// identity and code fuzzers.
var idSeeds = []string{
	stdExample, stdPre1900, legacy15, permitHK, permitMO, permitTW, foreign2023, foreignOld,
	"１１０１０５１９４９１２３１００２Ｘ", "11010519491231002x", "'11010519491231002X",
	`="11010519491231002X"`, `"11010519491231002X"`, "110105\u200B19491231002X",
	"\u300011010519491231002X\u3000", "\uFEFF\t11010519491231002X", "4.60102E+17",
	"460102199001011000.0", "12\u00A834", "i\u0307", "ǅ", "ﬃ", "", "\xff",
	"91350100M000100Y43", " 9135 0100 m000 100y 43 ",
	foreign2023KZ, "kaz110090123105", "XXA440380010101", "USA440300022901", "ABC110090123105",
	"KAZ110001022905", "911000199001010011", "981840199001010018", "810101199001010012",
}

// FuzzNormalizeID checks that normalizing never panics, that it is
// idempotent, and that ParseID accepts only canonical numbers of the right
// shape, whatever the input.
func FuzzNormalizeID(f *testing.F) {
	for _, s := range idSeeds {
		f.Add(s, false)
	}
	f.Add(stdExample, true)
	f.Fuzz(func(t *testing.T, raw string, numeric bool) {
		n := NormalizeID(raw)
		if again := NormalizeID(n); again != n {
			t.Fatalf("NormalizeID not idempotent: %q -> %q -> %q", raw, n, again)
		}
		for _, want := range []schemas.IDType{"", schemas.IDResident, schemas.IDHMTPermit, schemas.IDForeignPR} {
			info, code := ParseID(raw, want, numeric)
			if code != "" {
				if info.Number != "" || info.Warnings != nil {
					t.Fatalf("ParseID(%q) rejected with %s but returned %+v", raw, code, info)
				}
				continue
			}
			if len(info.Number) != 18 && (len(info.Number) != 15 || info.Type != schemas.IDForeignPR) {
				t.Fatalf("ParseID(%q) accepted a number of length %d: %q", raw, len(info.Number), info.Number)
			}
			if want != "" && info.Type != want {
				t.Fatalf("ParseID(%q, %q) returned type %q", raw, want, info.Type)
			}
			// A canonical number parses to itself: ParseID is idempotent.
			again, code := ParseID(info.Number, info.Type, false)
			if code != "" || again.Number != info.Number {
				t.Fatalf("ParseID(%q) = %q, which does not re-parse: %q %q", raw, info.Number, again.Number, code)
			}
		}
	})
}

// FuzzValidUSCC checks that validation never panics and that a valid code
// re-validates to itself.
func FuzzValidUSCC(f *testing.F) {
	for _, s := range idSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		code, cause := ValidUSCC(raw)
		if cause != "" {
			if code != "" {
				t.Fatalf("ValidUSCC(%q) = %q with cause %s", raw, code, cause)
			}
			return
		}
		if again, cause := ValidUSCC(code); again != code || cause != "" {
			t.Fatalf("ValidUSCC(%q) = %q, which re-validates to %q %s", raw, code, again, cause)
		}
	})
}

// FuzzNormalizeName checks that normalizing a name is idempotent: the
// normalized name normalizes to itself, with no reason code.
func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{
		"张三", "阿卜杜拉·买买提", "阿卜杜拉.买买提", "阿卜杜拉\u30FB买买提", " 张 三 ",
		"JOHN  SMITH", "Jose\u0301 Garci\u0301a", "e \u0301", "i\u0307", "\uF900三",
		"ＪＯＨＮ．ＳＭＩＴＨ", "张\uFFFD", "··", "", "\xff", "A \u0301B", "ǅ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		name, code := NormalizeName(raw)
		if code != "" {
			if name != "" {
				t.Fatalf("NormalizeName(%q) = %q with code %s", raw, name, code)
			}
			return
		}
		again, code := NormalizeName(name)
		if again != name || code != "" {
			t.Fatalf("NormalizeName not idempotent: %q -> %q -> %q (%s)", raw, name, again, code)
		}
	})
}

// FuzzParseNamedDates checks the named numeric formats on any text: a
// Unix value is read as seconds or as milliseconds, never both, and lands
// in 1971–2099; an Excel serial lands in 1900–2099 and never on the
// 29 February 1900 that Excel counts but that never was.
func FuzzParseNamedDates(f *testing.F) {
	for _, s := range []string{"1700000000", "1700000000123", "45000.5", "60", "31536000", "4102444800", "1.5", "0", "", "１２"} {
		f.Add(s)
	}
	shanghai := time.FixedZone("CST", 8*60*60)
	f.Fuzz(func(t *testing.T, raw string) {
		sec, okSec := ParseDate(raw, []string{"unix"}, shanghai)
		ms, okMS := ParseDate(raw, []string{"unix_ms"}, shanghai)
		if okSec && okMS {
			t.Fatalf("%q reads as both unix (%v) and unix_ms (%v)", raw, sec, ms)
		}
		for _, u := range []struct {
			t  time.Time
			ok bool
		}{{sec, okSec}, {ms, okMS}} {
			if u.ok && (u.t.UTC().Year() < 1971 || u.t.UTC().Year() > 2099) {
				t.Fatalf("%q read as %v, outside 1971–2099", raw, u.t)
			}
		}
		if d, ok := ParseDate(raw, []string{"excel_serial"}, shanghai); ok {
			if d.Year() < 1900 || d.Year() > 2099 || (d.Year() == 1900 && d.Month() == 2 && d.Day() == 29) {
				t.Fatalf("%q read as Excel serial %v", raw, d)
			}
		}
	})
}
