package retention

import (
	"testing"
	"time"
)

// TestParseAge: days and Go durations; nothing that is not a positive
// period.
func TestParseAge(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want time.Duration // 0: refused
	}{
		{"180d", 180 * 24 * time.Hour},
		{"1d", 24 * time.Hour},
		{"36h", 36 * time.Hour},
		{"90m", 90 * time.Minute},
		{"0d", 0},
		{"-3d", 0},
		{"0s", 0},
		{"d", 0},
		{"1.5d", 0},
		{"soon", 0},
		{"", 0},
	} {
		got, err := ParseAge(tt.in)
		if got != tt.want || (err == nil) != (tt.want != 0) {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
