package cleanse

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	type result struct {
		Phone string
		OK    bool
	}
	tests := []struct {
		name string
		raw  string
		want result
	}{
		{"clean", "13812345678", result{"13812345678", true}},
		{"spaces", "138 1234 5678", result{"13812345678", true}},
		{"dashes", "138-1234-5678", result{"13812345678", true}},
		{"dots", "138.1234.5678", result{"13812345678", true}},
		{"+86", "+86 138 1234 5678", result{"13812345678", true}},
		{"(+86)", "(+86)13812345678", result{"13812345678", true}},
		{"0086", "0086-13812345678", result{"13812345678", true}},
		{"86 without plus", "8613812345678", result{"13812345678", true}},
		{"full-width", "１３８１２３４５６７８", result{"13812345678", true}},
		{"full-width plus and dash", "＋８６－１９９１２３４５６７８", result{"19912345678", true}},
		{"invisible characters", "\uFEFF138\u200B1234\u00A05678", result{"13812345678", true}},
		{"em dash", "138—1234—5678", result{"13812345678", true}},

		{"empty", "", result{"", false}},
		{"landline", "010-12345678", result{"", false}},
		{"second digit 2", "12812345678", result{"", false}},
		{"10 digits", "1381234567", result{"", false}},
		{"12 digits", "138123456789", result{"", false}},
		{"foreign country code", "+1 415 555 0100", result{"", false}},
		{"+86 landline", "+86 10 1234 5678", result{"", false}},
		{"two numbers", "13812345678/13912345678", result{"", false}},
		{"letters", "138ABCD5678", result{"", false}},
		{"plus in the middle", "138+12345678", result{"", false}},
		{"number cell", "1.3812345678E10", result{"", false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			phone, ok := NormalizePhone(tt.raw)
			if diff := cmp.Diff(tt.want, result{phone, ok}); diff != "" {
				t.Errorf("NormalizePhone(%q) mismatch (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}
