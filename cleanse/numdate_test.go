package cleanse

import (
	"testing"
	"time"
)

// TestParseNamedFormats: each named numeric format, both sides of each of
// its lines.
func TestParseNamedFormats(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(y int, m time.Month, d, h, mi, s, ms int) time.Time {
		return time.Date(y, m, d, h, mi, s, ms*int(time.Millisecond), time.UTC)
	}
	tests := []struct {
		format, raw string
		loc         *time.Location
		want        time.Time // zero: refused
	}{
		{"unix", "1700000000", shanghai, utc(2023, 11, 14, 22, 13, 20, 0)},
		{"unix", "1700000000.25", shanghai, utc(2023, 11, 14, 22, 13, 20, 250)},
		{"unix", "１７００００００００", shanghai, utc(2023, 11, 14, 22, 13, 20, 0)},
		{"unix", " 1700000000 ", shanghai, utc(2023, 11, 14, 22, 13, 20, 0)},
		{"unix", "31536000", shanghai, utc(1971, 1, 1, 0, 0, 0, 0)},
		{"unix", "31535999", shanghai, time.Time{}},
		{"unix", "4102444799", shanghai, utc(2099, 12, 31, 23, 59, 59, 0)},
		{"unix", "4102444800", shanghai, time.Time{}},
		{"unix", "1700000000000", shanghai, time.Time{}}, // milliseconds
		{"unix", "99999999999999999999", shanghai, time.Time{}},
		{"unix", "-1700000000", shanghai, time.Time{}},
		{"unix", "+1700000000", shanghai, time.Time{}},
		{"unix", "1.7E+09", shanghai, time.Time{}},
		{"unix", "1,700,000,000", shanghai, time.Time{}},
		{"unix", "1700000000.", shanghai, time.Time{}},
		{"unix", ".5", shanghai, time.Time{}},
		{"unix", "2023-11-14", shanghai, time.Time{}},

		{"unix_ms", "1700000000123", shanghai, utc(2023, 11, 14, 22, 13, 20, 123)},
		{"unix_ms", "1700000000123.0", shanghai, utc(2023, 11, 14, 22, 13, 20, 123)},
		{"unix_ms", "31536000000", shanghai, utc(1971, 1, 1, 0, 0, 0, 0)},
		{"unix_ms", "31535999999", shanghai, time.Time{}},
		{"unix_ms", "4102444799999", shanghai, utc(2099, 12, 31, 23, 59, 59, 999)},
		{"unix_ms", "4102444800000", shanghai, time.Time{}},
		{"unix_ms", "1700000000", shanghai, time.Time{}}, // seconds: January 1970 as milliseconds
		{"unix_ms", "17000000001230", shanghai, time.Time{}},

		{"excel_serial", "1", shanghai, time.Date(1900, 1, 1, 0, 0, 0, 0, shanghai)},
		{"excel_serial", "59", shanghai, time.Date(1900, 2, 28, 0, 0, 0, 0, shanghai)},
		{"excel_serial", "60", shanghai, time.Time{}}, // 1900-02-29, a day that never was
		{"excel_serial", "61", shanghai, time.Date(1900, 3, 1, 0, 0, 0, 0, shanghai)},
		{"excel_serial", "45000", shanghai, time.Date(2023, 3, 15, 0, 0, 0, 0, shanghai)},
		{"excel_serial", "45000.5", shanghai, time.Date(2023, 3, 15, 12, 0, 0, 0, shanghai)},
		{"excel_serial", "45000.3333333333", shanghai, time.Date(2023, 3, 15, 8, 0, 0, 0, shanghai)}, // 15 significant digits, as Excel writes
		{"excel_serial", "45000.5", time.UTC, time.Date(2023, 3, 15, 12, 0, 0, 0, time.UTC)},
		// 3 a.m. on the day New York's clocks skip from 2 to 3: the clock, not 3 hours after midnight.
		{"excel_serial", "44997.125", newYork, time.Date(2023, 3, 12, 3, 0, 0, 0, newYork)},
		{"excel_serial", "73050", shanghai, time.Date(2099, 12, 31, 0, 0, 0, 0, shanghai)},
		{"excel_serial", "73051", shanghai, time.Time{}},
		{"excel_serial", "0", shanghai, time.Time{}},
		{"excel_serial", "0.5", shanghai, time.Time{}},
		{"excel_serial", "1700000000", shanghai, time.Time{}}, // Unix seconds
		{"excel_serial", "4.5E+04", shanghai, time.Time{}},
		{"excel_serial", "-45000", shanghai, time.Time{}},
		{"excel_serial", "45000.", shanghai, time.Time{}},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.raw, []string{tt.format}, tt.loc)
		if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
			t.Errorf("ParseDate(%q, [%s]) = %v, %v; want %v", tt.raw, tt.format, got, ok, tt.want)
			continue
		}
		if ok && got.Location() != tt.loc {
			t.Errorf("ParseDate(%q, [%s]) is in %v, want %v (the day there)", tt.raw, tt.format, got.Location(), tt.loc)
		}
	}
}

// TestUnixOrMilliNeverBoth: no value reads under both unix and unix_ms, so
// a wrong declaration is refused rather than read as another instant.
func TestUnixOrMilliNeverBoth(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"0", "1", "31535999", "31536000", "1700000000", "4102444799", "4102444800",
		"31535999999", "31536000000", "1700000000000", "4102444799999", "4102444800000"} {
		_, sec := ParseDate(v, []string{"unix"}, time.UTC)
		_, ms := ParseDate(v, []string{"unix_ms"}, time.UTC)
		if sec && ms {
			t.Errorf("%s reads as both unix and unix_ms", v)
		}
	}
}

// TestParseDateMixesNamedAndLayouts: named formats and layouts are tried
// in order; a compact date is not taken for Unix seconds.
func TestParseDateMixesNamedAndLayouts(t *testing.T) {
	t.Parallel()
	layouts := []string{"unix", "2006-01-02 15:04:05", "20060102"}
	for raw, want := range map[string]time.Time{
		"1700000000":          time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC),
		"2024-03-01 08:30:00": time.Date(2024, 3, 1, 8, 30, 0, 0, time.UTC),
		"20240301":            time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), // 1970-08-23 as Unix seconds
	} {
		if got, ok := ParseDate(raw, layouts, time.UTC); !ok || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", raw, got, ok, want)
		}
	}
}
