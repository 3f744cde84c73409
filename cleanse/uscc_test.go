package cleanse

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/schemas"
)

func TestValidUSCC(t *testing.T) {
	t.Parallel()
	type result struct {
		Code  string
		Cause schemas.Code
	}
	tests := []struct {
		name string
		raw  string
		want result
	}{
		// The example code printed in explanations of GB 32100-2015.
		{"standard example", "91350100M000100Y43", result{"91350100M000100Y43", ""}},
		// Public registration codes of well-known companies (Huawei
		// Technologies; Shenzhen Tencent Computer Systems).
		{"all digits", "914403001922038216", result{"914403001922038216", ""}},
		{"letter check character", "91440300708461136T", result{"91440300708461136T", ""}},
		{"lower case and spaces", " 9135 0100 m000 100y 43 ", result{"91350100M000100Y43", ""}},
		{"full-width", "９１３５０１００Ｍ０００１００Ｙ４３", result{"91350100M000100Y43", ""}},
		{"spreadsheet wrapper", `="91350100M000100Y43"`, result{"91350100M000100Y43", ""}},

		{"empty", "", result{"", schemas.USCCBadLength}},
		{"17 characters", "91350100M000100Y4", result{"", schemas.USCCBadLength}},
		{"19 characters", "91350100M000100Y430", result{"", schemas.USCCBadLength}},
		{"letter I is not used", "91350100M000100I43", result{"", schemas.USCCBadChars}},
		{"letter O is not used", "9135010OM000100Y43", result{"", schemas.USCCBadChars}},
		{"dash", "91350100-M000100Y43", result{"", schemas.USCCBadChars}},
		{"Chinese text", "统一社会信用代码", result{"", schemas.USCCBadChars}},
		{"check character off by one", "91350100M000100Y42", result{"", schemas.USCCBadChecksum}},
		{"transposed characters", "91351000M000100Y43", result{"", schemas.USCCBadChecksum}},
		{"resident ID is not a USCC", stdExample, result{"", schemas.USCCBadChecksum}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, cause := ValidUSCC(tt.raw)
			if diff := cmp.Diff(tt.want, result{code, cause}); diff != "" {
				t.Errorf("ValidUSCC(%q) mismatch (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}

// TestUSCCWeights pins the weights to their definition, 3^(i-1) mod 31.
func TestUSCCWeights(t *testing.T) {
	t.Parallel()
	w := 1
	for i, got := range usccWeights {
		if got != w {
			t.Errorf("usccWeights[%d] = %d, want %d", i, got, w)
		}
		w = w * 3 % 31
	}
}

// TestUSCCReasons checks that the codes ValidUSCC returns are defined
// rejects with a message for the department.
func TestUSCCReasons(t *testing.T) {
	t.Parallel()
	for _, c := range []schemas.Code{schemas.USCCBadLength, schemas.USCCBadChars, schemas.USCCBadChecksum} {
		r, ok := schemas.ReasonOf(c)
		if !ok || r.Severity != schemas.Reject || r.Message == "" {
			t.Errorf("ReasonOf(%s) = %+v, %v; want a reject with a message", c, r, ok)
		}
	}
}
