package cleanse

import "time"

// ParseDate parses a date cell with the layouts in order and returns the
// first that fits; ok is false when none does. A layout is a Go layout or
// a named numeric format (schemas.TimeFormatNames: unix, unix_ms,
// excel_serial; see parseNamed). The cell is cleaned first —
// invisible characters dropped, NFKC applied (full-width digits and
// separators become ASCII), surrounding white space trimmed — so layouts
// only need to describe the department's format, such as "2006-01-02",
// "20060102" or "2006年1月2日". Times without a zone are read in loc; a nil
// loc means UTC.
func ParseDate(s string, layouts []string, loc *time.Location) (time.Time, bool) {
	s = cleanText(s)
	if s == "" {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	for _, layout := range layouts {
		t, ok, handled := parseNamed(layout, s, loc)
		if !handled {
			t, ok, handled = parseFixed(layout, s, loc)
		}
		if !handled {
			var err error
			t, err = time.ParseInLocation(layout, s, loc)
			ok = err == nil
		}
		if ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseFixed parses s with a layout made only of the fixed-width numeric
// elements 2006 01 02 15 04 05 and ASCII separators, the layouts nearly
// every export uses, several times faster than time.ParseInLocation and
// with the same result. handled is false for any other layout.
func parseFixed(layout, s string, loc *time.Location) (t time.Time, ok, handled bool) {
	var v [6]int // year, month, day, hour, minute, second
	v[1], v[2] = 1, 1
	j := 0
	num := func(width int) (int, bool) {
		if j+width > len(s) {
			return 0, false
		}
		n := 0
		for k := j; k < j+width; k++ {
			if s[k] < '0' || s[k] > '9' {
				return 0, false
			}
			n = n*10 + int(s[k]-'0')
		}
		j += width
		return n, true
	}
	for i := 0; i < len(layout); {
		var slot, width int
		switch {
		case len(layout)-i >= 4 && layout[i:i+4] == "2006":
			slot, width = 0, 4
		case len(layout)-i >= 2 && layout[i:i+2] == "01":
			slot, width = 1, 2
		case len(layout)-i >= 2 && layout[i:i+2] == "02":
			slot, width = 2, 2
		case len(layout)-i >= 2 && layout[i:i+2] == "15":
			slot, width = 3, 2
		case len(layout)-i >= 2 && layout[i:i+2] == "04":
			slot, width = 4, 2
		case len(layout)-i >= 2 && layout[i:i+2] == "05":
			slot, width = 5, 2
		case layout[i] == '-' || layout[i] == '/' || layout[i] == '.' || layout[i] == ':' || layout[i] == ' ' || layout[i] == 'T':
			if j >= len(s) || s[j] != layout[i] {
				return t, false, true
			}
			i++
			j++
			continue
		default:
			return t, false, false
		}
		n, good := num(width)
		if !good {
			return t, false, true
		}
		v[slot] = n
		i += width
	}
	if j != len(s) || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[3] > 23 || v[4] > 59 || v[5] > 59 {
		return t, false, true
	}
	if v[2] > daysIn(v[0], v[1]) {
		return t, false, true
	}
	return time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], 0, loc), true, true
}
