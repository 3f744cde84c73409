package schemas

import (
	"time"
	_ "time/tzdata" // Asia/Shanghai must resolve on hosts without zoneinfo
)

// Location returns the mapping's time zone, resolved when the mapping was
// loaded.
func (m *Mapping) Location() *time.Location {
	if m.loc != nil {
		return m.loc
	}
	loc, err := time.LoadLocation(m.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}
