package schemas

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestProvinceValid(t *testing.T) {
	t.Parallel()
	valid := []string{"11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65", "71", "81", "82"}
	invalid := []string{"", "1", "111", "10", "16", "20", "24", "30", "38", "40", "47", "49", "55", "60", "66",
		"70", "72", "80", "83", "90", "99", "00", "1a", "１１"}
	for _, c := range valid {
		if !ProvinceValid(c) {
			t.Errorf("ProvinceValid(%q) = false, want true", c)
		}
	}
	for _, c := range invalid {
		if ProvinceValid(c) {
			t.Errorf("ProvinceValid(%q) = true, want false", c)
		}
	}
}

func TestMainlandProvinceValid(t *testing.T) {
	t.Parallel()
	valid := []string{"11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65"}
	invalid := []string{"", "1", "10", "16", "66", "70", "71", "81", "82", "83", "91", "1a"}
	for _, c := range valid {
		if !MainlandProvinceValid(c) {
			t.Errorf("MainlandProvinceValid(%q) = false, want true", c)
		}
	}
	for _, c := range invalid {
		if MainlandProvinceValid(c) {
			t.Errorf("MainlandProvinceValid(%q) = true, want false", c)
		}
	}
}

func TestCountyKnown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		want bool
	}{
		{"110105", true},  // 北京市朝阳区, the GB 11643 example
		{"110103", true},  // 崇文区, merged away in 2010
		{"440524", true},  // 潮阳县, retired in 1993; in the GB 11643 example
		{"132101", true},  // 邯郸市 under 邯郸地区, a 1980 code
		{"659012", true},  // 白杨市, created in 2023
		{"330113", true},  // 临平区, created in 2021
		{"110100", false}, // prefecture level, not a county
		{"110000", false}, // province level
		{"110199", false},
		{"999999", false},
		{"11010", false},
		{"1101051", false},
		{"11010x", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, CountyKnown(tt.code)); diff != "" {
				t.Errorf("CountyKnown(%q) mismatch (-want +got):\n%s", tt.code, diff)
			}
		})
	}
}

func TestSampleCounties(t *testing.T) {
	t.Parallel()
	codes := SampleCounties()
	// 6198 county-level codes from 1980 to 2025; a big drop means the
	// embedded list was truncated.
	if len(codes) < 6000 {
		t.Fatalf("SampleCounties returned %d codes, want the full list", len(codes))
	}
	if !slices.IsSorted(codes) {
		t.Error("SampleCounties is not sorted")
	}
	for _, c := range codes {
		if !CountyKnown(c) || !ProvinceValid(c[:2]) || c[4:] == "00" {
			t.Errorf("SampleCounties has %q, which is not a known county-level code", c)
		}
	}
	codes[0] = "mutated"
	if SampleCounties()[0] == "mutated" {
		t.Error("SampleCounties shares its slice with callers")
	}
}

func TestParseCounties(t *testing.T) {
	t.Parallel()
	set, err := parseCounties("# comment\n\n110105\t朝阳区\r\n110105\n440524\n")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"110105", "440524"}, set.codes); diff != "" {
		t.Errorf("parseCounties mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"11010\n", "11010x\n", "110105 朝阳区\n"} {
		if _, err := parseCounties(bad); err == nil {
			t.Errorf("parseCounties(%q) succeeded, want an error", bad)
		}
	}
}
