package pii

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"id18", MaskID, "46010219900101123X", "4*****X"},
		{"id_seed", MaskID, "460102199001011234", "4*****4"},
		{"id_empty", MaskID, "", ""},
		{"id_one", MaskID, "4", "*****"},
		{"id_sci", MaskID, "4.60102E+17", "4*****7"},
		{"phone", MaskPhone, "13912349071", "139****9071"},
		{"phone_short", MaskPhone, "12345", "****"},
		{"phone_fullwidth", MaskPhone, "１３９１２３４９０７１", "１３９****９０７１"},
		{"id_multibyte", MaskID, "港１２３", "港*****３"},
		{"name", MaskName, "hikari", "hi****"},
		{"name_cjk", MaskName, "张三丰", "张三****"},
		{"name_short", MaskName, "张", "张****"},
		{"person_name", MaskPersonName, "韩洪阳", "韩****"},
		{"person_name_dot", MaskPersonName, "阿依古丽·买买提", "阿****"},
		{"person_name_empty", MaskPersonName, "", ""},
		{"redact_key_is_id", Redact, "11010519491231002X", "1*****X"},
		{"redact_phone_in_address", Redact, "海口市龙华路1号 电话13912349071", "海口市龙华路1号 电话139****9071"},
		{"redact_short_numbers_stay", Redact, "GA00012345", "GA00012345"},
		{"redact_grouped_phone", Redact, "电话139-1234-9071", "电话139****9071"},
		{"redact_grouped_id", Redact, "110105 19491231 002X", "1*****X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, tt.fn(tt.in)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzRedactGate: the cheap gate never lets a value through that the
// regexp would mask.
func FuzzRedactGate(f *testing.F) {
	for _, s := range []string{"139-1234-9071", "110105 19491231 002X", "海口市龙华路12号", "GA00012345", "１３９１２３４９０７１", "1-2-3-4-5-6-7-8-9-0-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if longDigits.MatchString(s) && !hasLongDigitRun(s) {
			t.Fatalf("gate misses %q", s)
		}
	})
}
