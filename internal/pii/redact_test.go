package pii

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// TestRedact: ID numbers and phones are masked however their digits are
// grouped and separated; an address's own numbers (door and room numbers,
// postcodes, dates) stay as they are.
func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		// Runs of digits, as before.
		{"key is an ID", "11010519491231002X", "1*****X"},
		{"phone in an address", "海口市龙华路1号 电话13912349071", "海口市龙华路1号 电话139****9071"},
		{"phone with country code", "电话8613912349071", "电话861****9071"},
		{"12 digits", "单号123456789012", "单号123****9012"},
		{"16 digits", "卡号6222021234567890", "卡号6*****0"},
		{"ID in a name", "张三460102199001011234", "张三4*****4"},
		{"two phones", "13912349071/13812345678", "139****9071/138****5678"},

		// Phones in groups.
		{"dashes", "电话139-1234-9071", "电话139****9071"},
		{"dots", "电话139.1234.9071", "电话139****9071"},
		{"slashes", "电话139/1234/9071", "电话139****9071"},
		{"backslashes", `电话139\1234\9071`, "电话139****9071"},
		{"spaces", "电话 139 1234 9071 转", "电话 139****9071 转"},
		{"spaced dash", "电话139 - 1234 - 9071", "电话139****9071"},
		{"3-8", "电话139-12349071", "电话139****9071"},
		{"7-4", "电话1391234 9071", "电话139****9071"},
		{"4-4-3", "电话1391.2349.071", "电话139****9071"},
		{"+86", "电话+86 139 1234 9071", "电话+86 139****9071"},
		{"0086", "电话0086-139-1234-9071", "电话0086-139****9071"},
		{"(+86)", "电话(+86)139.1234.9071", "电话(+86)139****9071"},
		{"every digit spaced", "电话1 3 9 1 2 3 4 9 0 7 1", "电话139****9071"},
		{"full-width digits and dashes", "电话１３９－１２３４－９０７１", "电话１３９****９０７１"},
		{"full-width dots", "电话139．1234．9071", "电话139****9071"},
		{"ideographic full stops", "电话139。1234。9071", "电话139****9071"},
		{"ideographic space", "电话139　1234　9071", "电话139****9071"},
		{"middle dots", "电话139·1234·9071", "电话139****9071"},
		{"en dashes", "电话139–1234–9071", "电话139****9071"},
		{"full-width slashes", "电话139／1234／9071", "电话139****9071"},
		{"underscores", "电话139_1234_9071", "电话139****9071"},
		{"zero-width spaces", "电话139\u200b1234\u200b9071", "电话139****9071"},
		{"soft hyphens", "电话139\u00ad1234\u00ad9071", "电话139****9071"},
		{"after a door number", "龙华路12-3-501 139.1234.9071", "龙华路12-3-501 139****9071"},
		{"before a postcode", "139.1234.9071 570100", "139****9071 570100"},
		{"followed by x", "电话139.1234.9071 x", "电话139****9071 x"},

		// ID numbers in groups.
		{"ID in dots", "门牌460102.19900101.1234", "门牌4*****4"},
		{"ID in slashes", "460102/19900101/1234号", "4*****4号"},
		{"ID in spaces with X", "110105 19491231 002X", "1*****X"},
		{"ID with a spaced X", "110105-19491231-002 X", "1*****X"},
		{"ID with a lower-case x", "46010219850101123x", "4*****x"},
		{"ID in fours", "4601 0219 9001 0112 34", "4*****4"},
		{"ID in fours with X", "4601 0219 8501 0112 3X", "4*****X"},
		{"ID 6-12", "460102 199001011234", "4*****4"},
		{"ID full-width", "４６０１０２．１９９００１０１．１２３Ｘ", "４*****Ｘ"},
		{"ID of 15 digits", "460102.900101.123", "4*****3"},
		{"ID every digit spaced", "4 6 0 1 0 2 1 9 9 0 0 1 0 1 1 2 3 4", "4*****4"},
		{"ID after a postcode", "570100 460102.19900101.1234", "570100 4*****4"},

		// An address's own numbers stay.
		{"door, unit, room", "海口市龙华路12号3栋2单元501室", "海口市龙华路12号3栋2单元501室"},
		{"door and postcode", "海口市龙华路12-3-501 570100", "海口市龙华路12-3-501 570100"},
		{"door 1-3-501 and postcode", "龙华路1-3-501 570100", "龙华路1-3-501 570100"},
		{"door 13-501 and postcode", "龙华路13-501 570100", "龙华路13-501 570100"},
		{"rooms listed", "1301、1302、1303、1304室", "1301、1302、1303、1304室"},
		{"rooms listed with commas", "1301，1302，1303，1304室", "1301，1302，1303，1304室"},
		{"date and room", "2024.01.15 入住501室 邮编570100", "2024.01.15 入住501室 邮编570100"},
		{"dates", "2024/01/15-2025/01/15", "2024/01/15-2025/01/15"},
		// Other numbers of 11 digits or more in groups: masked whole.
		{"landline", "电话0898-6666 8888", "电话089****8888"},
		{"bank card", "卡号6222 0212 3456 7890", "卡号6*****0"},
		{"ID mistyped", "证件460102 19900101 123", "证件4*****3"},
		{"not a mobile", "电话129.1234.9071", "电话129****9071"},
		{"bank card, then a phone", "6222 0212 3456 139 1234 9071", "622****3456 139****9071"},
		{"15 digits without a birth date", "570100 12-3-501 8888", "570100 12-3-501 8888"},
		{"short key", "GA00012345", "GA00012345"},
		{"10 digits", "1391234907", "1391234907"},
		{"11 digits apart", "139-1234-x-9071", "139-1234-x-9071"},
		{"too many separators", "139 -  1234 -  9071", "139 -  1234 -  9071"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Redact(tt.in)); diff != "" {
				t.Errorf("Redact(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// redactSeparators are separators FuzzRedact writes between the groups of
// a number: one of each kind Redact knows.
var redactSeparators = []string{" ", "-", ".", "/", "\\", "_", "·", "。", "．", "－", "／", "　", "—", "–", "\u200b", "(", ")", " - "}

// FuzzRedact: a phone or ID number split into groups as people write them,
// by any separators, inside any text without digits, never leaves Redact
// in clear; text with fewer than 11 digits comes back as it is.
func FuzzRedact(f *testing.F) {
	f.Add("电话", "号", uint8(0), uint8(0), false)
	f.Add("门牌", "", uint8(3), uint8(7), true)
	f.Add("x", "X", uint8(255), uint8(1), true)
	f.Fuzz(func(t *testing.T, before, after string, sep, grouping uint8, id bool) {
		strip := func(s string) string {
			return strings.Map(func(r rune) rune {
				if isDigit(r) || !utf8.ValidRune(r) {
					return -1
				}
				return r
			}, s)
		}
		before, after = strip(before), strip(after)
		if s := before + "1391234907" + after; Redact(s) != s {
			t.Errorf("Redact(%q) = %q, want it unchanged", s, Redact(s))
		}
		number, groups := "13912349071", [][]int{{11}, {3, 4, 4}, {3, 8}, {4, 4, 3}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}
		if id {
			number, groups = "460102199001011234", [][]int{{18}, {6, 8, 4}, {6, 4, 4, 4}, {4, 4, 4, 4, 2}, {3, 3, 8, 4}}
		}
		var b strings.Builder
		at := 0
		for k, n := range groups[int(grouping)%len(groups)] {
			if k > 0 {
				b.WriteString(redactSeparators[(int(sep)+k)%len(redactSeparators)])
			}
			b.WriteString(number[at : at+n])
			at += n
		}
		got := Redact(before + b.String() + after)
		digits := strings.Map(func(r rune) rune {
			if isDigit(r) {
				return r
			}
			return -1
		}, got)
		if strings.Contains(digits, number[3:7]) || strings.Contains(digits, number) {
			t.Errorf("Redact(%q) = %q: the number is in clear", before+b.String()+after, got)
		}
	})
}
