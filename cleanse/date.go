package cleanse

import "time"

// ParseDate parses a date cell with the Go layouts in order and returns the
// first that fits; ok is false when none does. The cell is cleaned first —
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
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
