package schemas

import (
	"time"
	_ "time/tzdata" // Asia/Shanghai must resolve on hosts without zoneinfo
)

func loadLocation(name string) (*time.Location, error) { return time.LoadLocation(name) }

// Location returns the mapping's time zone (validated at load).
func (m *Mapping) Location() *time.Location {
	loc, err := loadLocation(m.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}
