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
