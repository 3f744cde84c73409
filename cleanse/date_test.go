package cleanse

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseDate(t *testing.T) {
	t.Parallel()
	shanghai := time.FixedZone("CST", 8*60*60)
	layouts := []string{"2006-01-02", "20060102", "2006/1/2", "2006年1月2日", "2006-01-02 15:04:05"}
	type result struct {
		T  time.Time
		OK bool
	}
	tests := []struct {
		name string
		raw  string
		loc  *time.Location
		want result
	}{
		{"ISO", "1990-01-02", shanghai, result{time.Date(1990, 1, 2, 0, 0, 0, 0, shanghai), true}},
		{"compact", "19900102", shanghai, result{time.Date(1990, 1, 2, 0, 0, 0, 0, shanghai), true}},
		{"slashes without zero padding", "1990/1/2", shanghai, result{time.Date(1990, 1, 2, 0, 0, 0, 0, shanghai), true}},
		{"Chinese", "1990年1月2日", shanghai, result{time.Date(1990, 1, 2, 0, 0, 0, 0, shanghai), true}},
		{"full-width digits", "１９９０－０１－０２", shanghai, result{time.Date(1990, 1, 2, 0, 0, 0, 0, shanghai), true}},
		{"surrounding space and BOM", "\uFEFF 1990-01-02\u3000", shanghai, result{time.Date(1990, 1, 2, 0, 0, 0, 0, shanghai), true}},
		{"date and time", "2024-03-01 08:30:00", shanghai, result{time.Date(2024, 3, 1, 8, 30, 0, 0, shanghai), true}},
		{"nil location is UTC", "1990-01-02", nil, result{time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), true}},

		{"empty", "", shanghai, result{}},
		{"impossible date", "1990-02-30", shanghai, result{}},
		{"no layout fits", "02.01.1990", shanghai, result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseDate(tt.raw, layouts, tt.loc)
			if diff := cmp.Diff(tt.want, result{got, ok}); diff != "" {
				t.Errorf("ParseDate(%q) mismatch (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}

// TestParseFixedMatchesTime: the fast path gives what time.ParseInLocation
// gives, for good and bad input alike.
func TestParseFixedMatchesTime(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	layouts := []string{"2006-01-02", "20060102", "2006/01/02 15:04:05", "2006-01-02T15:04:05", "20060102150405", "2006.01.02"}
	inputs := []string{"1949-12-31", "19491231", "2000/02/29 23:59:59", "1900/02/29 00:00:00", "2024-13-01", "2024-02-30",
		"2024-02-3", "2024-02-031", "20240230", "2024-01-02T10:11:12", "20240102101112", "2024.01.02", "2024-01-02 ", "", "abcd-ef-gh",
		"2023/01/01 24:00:00", "2023/01/01 23:60:00", "0000-01-01"}
	for _, layout := range layouts {
		for _, in := range inputs {
			got, ok, handled := parseFixed(layout, in, loc)
			if !handled {
				t.Fatalf("layout %q not handled", layout)
			}
			want, err := time.ParseInLocation(layout, in, loc)
			if ok != (err == nil) || (ok && !got.Equal(want)) {
				t.Errorf("parseFixed(%q, %q) = %v, %v; time says %v, %v", layout, in, got, ok, want, err)
			}
		}
	}
	if _, _, handled := parseFixed("2006年1月2日", "2024年1月2日", loc); handled {
		t.Error("a layout with non-fixed elements was handled")
	}
}
