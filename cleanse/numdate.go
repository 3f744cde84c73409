package cleanse

import (
	"math"
	"strconv"
	"time"

	"github.com/idfusion/idfusion/schemas"
)

// The instants a Unix number may name, for unix and unix_ms alike. The
// floor is 1971, not 1970, so that no value is read under both: Unix
// seconds up to 2100 read as milliseconds fall in January–February 1970
// and are refused, and milliseconds from 1971 on read as seconds fall
// after 2100 and are refused. Which one a file holds is only ever what the
// mapping declares.
var (
	unixFloor   = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC)
	unixCeiling = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Excel's 1900 date system: serial 1 is 1900-01-01 and serial 60 the day
// 1900-02-29 that never was (kept from Lotus 1-2-3), so serials from 61 on
// count from 1899-12-30. Serials name days up to 2099-12-31.
const (
	excelLeapBug = 60
	excelCeiling = 73051 // 2100-01-01
	msPerDay     = 24 * 60 * 60 * 1000
)

// parseNamed parses s with a named numeric format (schemas.TimeUnix and
// the others); handled is false when layout is not one of them.
func parseNamed(layout, s string, loc *time.Location) (t time.Time, ok, handled bool) {
	switch layout {
	case schemas.TimeUnix, schemas.TimeUnixMilli:
		whole, frac, good := splitDecimal(s)
		if !good {
			return t, false, true
		}
		// Too many digits parse as the largest int64, far past the ceiling.
		n, _ := strconv.ParseInt(whole, 10, 64)
		sec, unit := n, int64(time.Second)
		if layout == schemas.TimeUnixMilli {
			sec, unit = n/1000, int64(time.Millisecond)
		}
		// The fraction of a unit, in nanoseconds; digits beyond the
		// nanosecond are dropped.
		ns := (n - sec*(int64(time.Second)/unit)) * unit
		for i, f := 0, unit/10; f > 0 && i < len(frac); i, f = i+1, f/10 {
			ns += int64(frac[i]-'0') * f
		}
		t = time.Unix(sec, ns)
		if t.Before(unixFloor) || !t.Before(unixCeiling) {
			return time.Time{}, false, true
		}
		// The instant stays; loc only says which day it is there (a birth date).
		return t.In(loc), true, true
	case schemas.TimeExcelSerial:
		whole, frac, good := splitDecimal(s)
		if !good || len(whole) > 5 {
			return t, false, true
		}
		days, _ := strconv.Atoi(whole)
		if days < 1 || days >= excelCeiling || days == excelLeapBug {
			return t, false, true
		}
		var ms int
		if frac != "" {
			f, _ := strconv.ParseFloat("0."+frac, 64)
			ms = int(math.Round(f * msPerDay))
		}
		epoch := 30 // 1899-12-30
		if days < excelLeapBug {
			epoch = 31
		}
		// time.Date normalizes the day and millisecond counts as a wall
		// clock in loc, so a day with a daylight saving change is still
		// read as the clock showed.
		return time.Date(1899, 12, epoch+days, 0, 0, ms/1000, ms%1000*int(time.Millisecond), loc), true, true
	}
	return t, false, false
}

// splitDecimal splits s into the digits before and after an optional
// decimal point; ok is false unless s is digits with at most one point
// and digits on both sides of it (no sign, exponent or grouping).
func splitDecimal(s string) (whole, frac string, ok bool) {
	whole = s
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			whole, frac = s[:i], s[i+1:]
			if frac == "" {
				return "", "", false
			}
			break
		}
	}
	if whole == "" || !allDigits(whole) || !allDigits(frac) {
		return "", "", false
	}
	return whole, frac, true
}
