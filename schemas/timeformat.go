package schemas

import (
	"fmt"
	"strings"
	"time"
)

// Named formats of date and time cells that hold a number instead of text,
// usable in date_formats and updated_at_formats beside Go layouts. A number
// is read the way its declared format says, never guessed: the same digits
// are seconds under unix and milliseconds under unix_ms.
const (
	// TimeUnix is whole (or decimal) seconds since 1970-01-01 00:00:00 UTC,
	// an instant: the mapping's time zone does not apply.
	TimeUnix = "unix"
	// TimeUnixMilli is whole milliseconds since 1970-01-01 00:00:00 UTC.
	TimeUnixMilli = "unix_ms"
	// TimeExcelSerial is Excel's date serial (1900 date system): days since
	// 1899-12-30 with the time of day as the fraction, a wall clock read in
	// the mapping's time zone.
	TimeExcelSerial = "excel_serial"
)

// TimeFormatNames are the named formats, in the order the docs list them.
var TimeFormatNames = []string{TimeUnix, TimeUnixMilli, TimeExcelSerial}

// checkTimeFormat refuses an entry of date_formats or updated_at_formats that
// is neither a named format nor a Go layout with at least one date or time
// element: a misspelt name ("unix_s") would otherwise be taken as a layout
// that matches nothing, and every row would warn. An entry that looks like
// a name (a lower-case letter, then letters, digits, "_") must be one, even
// if Go could read it as a layout ("unix_ms2" has a day element).
func checkTimeFormat(f string) error {
	for _, n := range TimeFormatNames {
		if f == n {
			return nil
		}
	}
	probe := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if probe.Format(f) == f || looksLikeName(f) {
		return fmt.Errorf("unknown format %q: use a named format (%s) or a Go layout such as \"2006-01-02 15:04:05\"", f, strings.Join(TimeFormatNames, ", "))
	}
	return nil
}

func looksLikeName(f string) bool {
	if f[0] < 'a' || f[0] > 'z' {
		return false
	}
	for _, c := range []byte(f) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// checkTimeFormats checks each entry of a format list, naming the entry.
func checkTimeFormats(path, field string, formats []string) error {
	for i, f := range formats {
		if err := checkTimeFormat(f); err != nil {
			return &MappingError{Path: path, Field: fmt.Sprintf("%s[%d]", field, i), Err: err}
		}
	}
	return nil
}
