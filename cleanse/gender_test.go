package cleanse

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseGender(t *testing.T) {
	t.Parallel()
	type result struct {
		Gender byte
		OK     bool
	}
	male, female, unknown := result{'M', true}, result{'F', true}, result{0, false}
	tests := []struct {
		raw  string
		want result
	}{
		{"男", male}, {"男性", male}, {"M", male}, {"m", male}, {"male", male}, {"Male", male},
		{"1", male}, {" 男 ", male}, {"Ｍ", male}, {"１", male},
		{"女", female}, {"女性", female}, {"F", female}, {"f", female}, {"FEMALE", female},
		{"2", female}, {"\u200B女", female},
		// GB/T 2261.1: 0 unknown, 9 unspecified — not a gender.
		{"0", unknown}, {"9", unknown},
		{"", unknown}, {" ", unknown}, {"未知", unknown}, {"男女", unknown}, {"3", unknown}, {"x", unknown},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			g, ok := ParseGender(tt.raw)
			if diff := cmp.Diff(tt.want, result{g, ok}); diff != "" {
				t.Errorf("ParseGender(%q) mismatch (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}
