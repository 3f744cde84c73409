package cleanse

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/schemas"
)

// Test vectors. Where a number is not quoted from a public source, its
// check character was computed with IDCheckChar (whose own test pins the
// standard's examples) and the comment says so.
const (
	// stdExample is the example of GB 11643-1999 itself (appendix): Beijing
	// Chaoyang 110105, born 1949-12-31, sequence 002 (a woman), check X.
	stdExample = "11010519491231002X"
	// stdPre1900 is the second example of GB 11643-1999: region 440524
	// (潮阳县, a code retired in 1993), born 1880-01-01, a man.
	stdPre1900 = "440524188001010014"
	// legacy15 is stdExample in the 15-digit GB 11643-1989 form.
	legacy15 = "110105491231002"
	// Residence permits for Hong Kong (810000) and Taiwan (830000)
	// residents, as quoted in public validators (e.g.
	// github.com/louismax/credentialverifier); checksums verified.
	permitHK = "810000199408230021"
	permitTW = "830000199201300022"
	// permitMO is a Macau (820000) permit, born 1980-01-01, sequence 004;
	// check character computed.
	permitMO = "820000198001010040"
	// foreign2023 is a 2023 foreigner permanent residence card: 9, issuing
	// province 11, nationality 840, born 1990-01-01, sequence 001; check
	// character computed.
	foreign2023 = "911840199001010018"
	// foreign2023KZ is a 2023 card issued in Beijing (11) to a national of
	// Kazakhstan (398), born 1990-12-31, a woman; quoted in public
	// validators (github.com/xiahaimoyu credentialkit's tests).
	foreign2023KZ = "911398199012310021"
	// foreignOld is a 2004/2017 card from the same tests: KAZ, issued in
	// Beijing (1100), born (19)90-12-31, then sequence 0 and check 5.
	foreignOld = "KAZ110090123105"
	// unknownCounty has the region 110199, never a GB/T 2260 code; check
	// character computed.
	unknownCounty = "110199198001010016"
)

// withCheck completes 17 digits with their GB 11643 check character, for
// vectors that must fail on one other part only.
func withCheck(first17 string) string { return first17 + string(IDCheckChar(first17)) }

// day is a birth date as ParseID returns it.
func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

type idResult struct {
	Info IDInfo
	Code schemas.Code
}

func TestParseIDValid(t *testing.T) {
	t.Parallel()
	stdInfo := IDInfo{Number: stdExample, Type: schemas.IDResident, Birth: day(1949, 12, 31), Gender: 'F'}
	tests := []struct {
		name string
		raw  string
		want schemas.IDType
		info IDInfo
	}{
		{"GB 11643 example", stdExample, "", stdInfo},
		{"GB 11643 example declared resident", stdExample, schemas.IDResident, stdInfo},
		{"GB 11643 pre-1900 birth and retired county", stdPre1900, "",
			IDInfo{Number: stdPre1900, Type: schemas.IDResident, Birth: day(1880, 1, 1), Gender: 'M'}},
		{"15 digits converted to 18", legacy15, "",
			IDInfo{Number: stdExample, Type: schemas.IDResident, Birth: day(1949, 12, 31), Gender: 'F',
				Warnings: []schemas.Code{schemas.IDLegacy15}}},
		{"unknown county is a warning", unknownCounty, "",
			IDInfo{Number: unknownCounty, Type: schemas.IDResident, Birth: day(1980, 1, 1), Gender: 'M',
				Warnings: []schemas.Code{schemas.IDUnknownCounty}}},
		{"15 digits with unknown county", "110199800101001", "",
			IDInfo{Number: unknownCounty, Type: schemas.IDResident, Birth: day(1980, 1, 1), Gender: 'M',
				Warnings: []schemas.Code{schemas.IDLegacy15, schemas.IDUnknownCounty}}},
		{"valid number ending in 000", "460102199001044000", "",
			IDInfo{Number: "460102199001044000", Type: schemas.IDResident, Birth: day(1990, 1, 4), Gender: 'F'}},
		{"Hong Kong permit", permitHK, "",
			IDInfo{Number: permitHK, Type: schemas.IDHMTPermit, Birth: day(1994, 8, 23), Gender: 'F'}},
		{"Macau permit declared", permitMO, schemas.IDHMTPermit,
			IDInfo{Number: permitMO, Type: schemas.IDHMTPermit, Birth: day(1980, 1, 1), Gender: 'F'}},
		{"Taiwan permit", permitTW, "",
			IDInfo{Number: permitTW, Type: schemas.IDHMTPermit, Birth: day(1992, 1, 30), Gender: 'F'}},
		{"2023 foreigner card", foreign2023, schemas.IDForeignPR,
			IDInfo{Number: foreign2023, Type: schemas.IDForeignPR, Birth: day(1990, 1, 1), Gender: 'M'}},
		{"2023 foreigner card from public validators", foreign2023KZ, "",
			IDInfo{Number: foreign2023KZ, Type: schemas.IDForeignPR, Birth: day(1990, 12, 31), Gender: 'F'}},
		{"2023 foreigner card, Guangdong, Germany", withCheck("94427620000229003"), "",
			IDInfo{Number: withCheck("94427620000229003"), Type: schemas.IDForeignPR, Birth: day(2000, 2, 29), Gender: 'M'}},
		{"2023 foreigner card, Xinjiang, withdrawn code 530 (Netherlands Antilles)", withCheck("96553019700101002"), "",
			IDInfo{Number: withCheck("96553019700101002"), Type: schemas.IDForeignPR, Birth: day(1970, 1, 1), Gender: 'F'}},
		{"old foreigner card, no birth date or gender", foreignOld, "",
			IDInfo{Number: foreignOld, Type: schemas.IDForeignPR}},
		{"old foreigner card lower case declared", "kaz110090123105", schemas.IDForeignPR,
			IDInfo{Number: foreignOld, Type: schemas.IDForeignPR}},
		{"old foreigner card, withdrawn code YUG", "YUG310075061501", "",
			IDInfo{Number: "YUG310075061501", Type: schemas.IDForeignPR}},
		{"old foreigner card, ICAO stateless XXA", "XXA440380010101", "",
			IDInfo{Number: "XXA440380010101", Type: schemas.IDForeignPR}},
		{"old foreigner card, 29 February valid in 2000 only", "USA440300022901", "",
			IDInfo{Number: "USA440300022901", Type: schemas.IDForeignPR}},
		{"old foreigner card, date valid in 1999 only", "GBR650199123101", "",
			IDInfo{Number: "GBR650199123101", Type: schemas.IDForeignPR}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			info, code := ParseID(tt.raw, tt.want, false)
			if diff := cmp.Diff(idResult{tt.info, ""}, idResult{info, code}); diff != "" {
				t.Errorf("ParseID(%q, %q) mismatch (-want +got):\n%s", tt.raw, tt.want, diff)
			}
		})
	}
}

// TestParseIDNormalization covers every normalization rule: each raw cell
// is the GB 11643 example as spreadsheets and copy-paste deliver it.
func TestParseIDNormalization(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
	}{
		{"full-width digits and letter", "１１０１０５１９４９１２３１００２Ｘ"},
		{"lower-case x", "11010519491231002x"},
		{"full-width lower-case x", "11010519491231002ｘ"},
		{"leading apostrophe", "'11010519491231002X"},
		{"full-width apostrophe", "＇11010519491231002X"},
		{"formula wrapper", `="11010519491231002X"`},
		{"quotes", `"11010519491231002X"`},
		{"nested wrappers", `'="11010519491231002X"`},
		{"zero-width space inside", "110105\u200B19491231002X"},
		{"word joiner and bidi mark", "\u2060110105\u200E19491231002X"},
		{"ideographic spaces around", "\u300011010519491231002X\u3000"},
		{"byte order mark", "\uFEFF11010519491231002X"},
		{"leading tab", "\t11010519491231002X"},
		{"trailing CR LF", "11010519491231002X\r\n"},
		{"no-break spaces between groups", "110105\u00A019491231\u00A0002X"},
		{"spaces between groups", " 110105 1949 1231 002X "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := NormalizeID(tt.raw); got != stdExample {
				t.Errorf("NormalizeID(%q) = %q, want %q", tt.raw, got, stdExample)
			}
			info, code := ParseID(tt.raw, "", false)
			if diff := cmp.Diff(idResult{IDInfo{Number: stdExample, Type: schemas.IDResident, Birth: day(1949, 12, 31), Gender: 'F'}, ""},
				idResult{info, code}); diff != "" {
				t.Errorf("ParseID(%q) mismatch (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}

func TestParseIDReject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		want    schemas.IDType
		numeric bool
		code    schemas.Code
	}{
		{"empty", "", "", false, schemas.IDEmpty},
		{"blank", " \u3000\t", "", false, schemas.IDEmpty},
		{"invisible only", "\u200B\uFEFF", "", false, schemas.IDEmpty},
		{"empty formula", `=""`, "", false, schemas.IDEmpty},
		{"empty number cell", "", "", true, schemas.IDEmpty},

		{"16 digits", "1101051949123100", "", false, schemas.IDBadLength},
		{"19 characters", stdExample + "1", "", false, schemas.IDBadLength},
		{"17 digits, X lost", "11010519491231002", "", false, schemas.IDBadLength},
		{"15-digit permit prefix", "810000001010000", "", false, schemas.IDBadLength},

		{"letter Y as check", "11010519491231002Y", "", false, schemas.IDBadChars},
		{"X not last", "1101051949123100X2", "", false, schemas.IDBadChars},
		{"non-ASCII letter", "11010519491231002é", "", false, schemas.IDBadChars},
		{"dash inside", "110105-19491231-002X", "", false, schemas.IDBadChars},
		{"U+FFFD", "11010519491231002\uFFFD", "", false, schemas.IDBadChars},
		{"15 characters, letters in the middle", "12AB34567890123", "", false, schemas.IDBadChars},
		{"unbalanced quote", `"11010519491231002X`, "", false, schemas.IDBadChars},

		{"checksum", "110105194912310021", "", false, schemas.IDBadChecksum},
		{"checksum, X expected", "110105194912310020", "", false, schemas.IDBadChecksum},
		{"checksum of a permit", "810000199408230022", "", false, schemas.IDBadChecksum},
		{"checksum of a foreigner card", "911840199001010019", "", false, schemas.IDBadChecksum},

		// Check characters computed, so only the date is wrong.
		{"February 30", "110105194902300012", "", false, schemas.IDBadBirthDate},
		{"future birth", "110105299901010014", "", false, schemas.IDBadBirthDate},
		{"before 1850", "110105184901010014", "", false, schemas.IDBadBirthDate},
		{"15 digits, month 13", "110105491331002", "", false, schemas.IDBadBirthDate},
		{"permit, day 32", "810000199408320021", "", false, schemas.IDBadBirthDate},

		{"province 10", "100105194912310028", "", false, schemas.IDBadProvince},
		{"83 outside a Taiwan permit", "831234199001010018", "", false, schemas.IDBadProvince},
		{"15 digits, province 10", "100105491231002", "", false, schemas.IDBadProvince},
		// Taiwan, Hong Kong and Macau have no household registration: their
		// residents hold the 830000/810000/820000 permits.
		{"province 71", withCheck("71010119900101001"), "", false, schemas.IDBadProvince},
		{"81 outside a Hong Kong permit", withCheck("81010119900101001"), "", false, schemas.IDBadProvince},
		{"82 outside a Macau permit", withCheck("82000119900101001"), "", false, schemas.IDBadProvince},
		{"15 digits, province 81", "810101900101001", "", false, schemas.IDBadProvince},

		// 2023 foreigner card: 9, issuing province, nationality, birth
		// date, sequence, check; each vector breaks one part.
		{"2023 card, issuing province 10", withCheck("91084019900101001"), "", false, schemas.IDBadProvince},
		{"2023 card, issuing province 81", withCheck("98184019900101001"), "", false, schemas.IDBadProvince},
		{"2023 card, issuing province 71", withCheck("97184019900101001"), "", false, schemas.IDBadProvince},
		{"2023 card, nationality 000", withCheck("91100019900101001"), "", false, schemas.IDBadNationality},
		{"2023 card, nationality 001 (M.49 World)", withCheck("91100119900101001"), "", false, schemas.IDBadNationality},
		{"2023 card, nationality 150 (M.49 Europe)", withCheck("91115019900101001"), "", false, schemas.IDBadNationality},
		{"2023 card, nationality 999", withCheck("91199919900101001"), "", false, schemas.IDBadNationality},
		{"2023 card, 29 February 1990", withCheck("91184019900229001"), "", false, schemas.IDBadBirthDate},
		{"2023 card, future birth", withCheck("91184029990101001"), "", false, schemas.IDBadBirthDate},
		{"2023 card declared, nationality 000", withCheck("91100019900101001"), schemas.IDForeignPR, false, schemas.IDBadNationality},

		// 2004/2017 foreigner card: nationality letters, issuing province,
		// YYMMDD; each vector breaks one part of foreignOld.
		{"old card, unassigned letters ABC", "ABC110090123105", "", false, schemas.IDBadNationality},
		{"old card, unassigned letters AAA", "AAA110090123105", "", false, schemas.IDBadNationality},
		{"old card, CLDR unknown region ZZZ", "ZZZ110090123105", "", false, schemas.IDBadNationality},
		{"old card, issuing province 10", "KAZ100090123105", "", false, schemas.IDBadProvince},
		{"old card, issuing province 81", "KAZ810090123105", "", false, schemas.IDBadProvince},
		{"old card, month 13", "KAZ110090133105", "", false, schemas.IDBadBirthDate},
		{"old card, day 00", "KAZ110090120005", "", false, schemas.IDBadBirthDate},
		{"old card, 29 February in neither 1901 nor 2001", "KAZ110001022905", "", false, schemas.IDBadBirthDate},

		{"number cell", "110105194912310021", "", true, schemas.IDScientificNotation},
		{"number cell with a valid number", stdPre1900, "", true, schemas.IDScientificNotation},
		{"number cell with 16 digits", "1101051949123100", "", true, schemas.IDScientificNotation},
		{"scientific notation", "4.60102E+17", "", false, schemas.IDScientificNotation},
		{"scientific notation, lower case", "4.60102e+17", "", false, schemas.IDScientificNotation},
		{"scientific notation, no plus", "4.601021990E17", "", false, schemas.IDScientificNotation},
		{"scientific notation, decimal comma", "4,60102E+17", "", false, schemas.IDScientificNotation},
		{"scientific notation, full-width", "４.６０１０２Ｅ＋１７", "", false, schemas.IDScientificNotation},
		{"zero padding with failing checksum", "460102199001011000", "", false, schemas.IDScientificNotation},
		{"float rendering", "460102199001011000.0", "", false, schemas.IDScientificNotation},

		{"resident declared as permit", stdExample, schemas.IDHMTPermit, false, schemas.IDTypeMismatch},
		{"permit declared as resident", permitHK, schemas.IDResident, false, schemas.IDTypeMismatch},
		{"resident declared as foreigner", stdExample, schemas.IDForeignPR, false, schemas.IDTypeMismatch},
		{"2023 foreigner card declared as resident", foreign2023, schemas.IDResident, false, schemas.IDTypeMismatch},
		{"old foreigner card declared as resident", foreignOld, schemas.IDResident, false, schemas.IDTypeMismatch},
		{"15-digit resident declared as permit", legacy15, schemas.IDHMTPermit, false, schemas.IDTypeMismatch},

		{"unknown declared type", stdExample, "passport", false, schemas.IDTypeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			info, code := ParseID(tt.raw, tt.want, tt.numeric)
			if diff := cmp.Diff(idResult{IDInfo{}, tt.code}, idResult{info, code}); diff != "" {
				t.Errorf("ParseID(%q, %q, %v) mismatch (-want +got):\n%s", tt.raw, tt.want, tt.numeric, diff)
			}
		})
	}
}

// TestParseIDRejectCodes makes sure every identity reject code has a case
// above, so a new code cannot be added without one.
func TestParseIDRejectCodes(t *testing.T) {
	t.Parallel()
	seen := map[schemas.Code]bool{}
	for _, raw := range []struct {
		s       string
		want    schemas.IDType
		numeric bool
	}{
		{"", "", false}, {"1101051949123100", "", false}, {"11010519491231002Y", "", false},
		{"110105194912310021", "", false}, {"110105194902300012", "", false},
		{"100105194912310028", "", false}, {"4.60102E+17", "", false}, {"ABC110090123105", "", false},
		{stdExample, schemas.IDHMTPermit, false}, {stdExample, "passport", false},
	} {
		_, code := ParseID(raw.s, raw.want, raw.numeric)
		seen[code] = true
	}
	for _, c := range schemas.Codes() {
		if c.Severity() == schemas.Reject && len(c) > 3 && c[:3] == "ID_" && !seen[c] {
			t.Errorf("reject code %s has no ParseID case", c)
		}
	}
}

func TestIDCheckChar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		first17 string
		want    byte
	}{
		{"11010519491231002", 'X'}, // GB 11643-1999 example
		{"44052418800101001", '4'}, // GB 11643-1999 example
		{"46010219900104400", '0'},
		{"1101051949123100", 0},   // too short
		{"1101051949123100A", 0},  // not a digit
		{"110105194912310021", 0}, // too long
	}
	for _, tt := range tests {
		t.Run(tt.first17, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, IDCheckChar(tt.first17)); diff != "" {
				t.Errorf("IDCheckChar(%q) mismatch (-want +got):\n%s", tt.first17, diff)
			}
		})
	}
}

func TestNormalizeID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw, want string
	}{
		{"canonical", stdExample, stdExample},
		{"empty", "", ""},
		{"old card lower case", "kaz110090123105", foreignOld},
		{"keeps non-ASCII letters", "1101é", "1101é"},
		{"keeps control characters", "1101\x00", "1101\x00"},
		{"only wrappers", `'=""`, ""},
		{"invalid UTF-8 becomes U+FFFD", "1101\xff", "1101\uFFFD"},
		{"NFKC space from a compatibility character", "12\u00A834", "12\u030834"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := NormalizeID(tt.raw)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NormalizeID(%q) mismatch (-want +got):\n%s", tt.raw, diff)
			}
			if again := NormalizeID(got); again != got {
				t.Errorf("NormalizeID not idempotent: %q -> %q -> %q", tt.raw, got, again)
			}
		})
	}
}

// TestNormalizeIDNoAlloc is not parallel: allocation counts are global,
// and sequential tests run while the parallel ones wait.
func TestNormalizeIDNoAlloc(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = NormalizeID(stdExample) }); n != 0 {
		t.Errorf("NormalizeID of a canonical number allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseID(stdExample, "", false) }); n != 0 {
		t.Errorf("ParseID of a clean number allocates %v times", n)
	}
}

func BenchmarkParseID(b *testing.B) {
	cases := []struct{ name, raw string }{
		{"clean18", stdExample},
		{"legacy15", legacy15},
		{"fullwidth", "１１０１０５１９４９１２３１００２Ｘ"},
		{"formula", `="11010519491231002x"`},
		{"foreign2023", foreign2023},
		{"foreignOld", foreignOld},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = ParseID(c.raw, "", false)
			}
		})
	}
}

// TestParseIDNumberCell15: Excel keeps 15 significant digits, so a 15-digit
// legacy number stored as a number cell is intact and converts like text.
func TestParseIDNumberCell15(t *testing.T) {
	t.Parallel()
	info, code := ParseID(legacy15, "", true)
	if code != "" || info.Number != stdExample {
		t.Errorf("ParseID(%q, numeric) = %q, %q; want %q", legacy15, info.Number, code, stdExample)
	}
}
