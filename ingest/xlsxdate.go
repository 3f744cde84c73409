package ingest

import (
	"math"
	"strconv"
	"time"
)

// Excel's date systems count days from 1899-12-30 (1900 system) or
// 1904-01-01, here as days since 1970-01-01. In the 1900 system serial 60
// is the non-existent 1900-02-29 (a Lotus 1-2-3 bug Excel keeps), so serials
// 1-59 are one day later than their count.
const (
	excelEpoch1900 = -25569
	excelEpoch1904 = -24107
	// excelMaxSerial is 10000-01-01 in the 1900 system; Excel shows #####
	// from there on.
	excelMaxSerial = 2958466
)

// xlsxSerial parses a date serial number; whole days, the common case,
// without strconv.
func xlsxSerial(v []byte) (float64, bool) {
	if n, ok := xlsxUint(v); ok {
		return float64(n), true
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil
}

// appendSerialDate appends the date of an Excel serial number as
// "2006-01-02", or "2006-01-02 15:04:05" when it has a time of day (rounded
// to the second, as Excel displays it).
func appendSerialDate(dst []byte, f float64, date1904 bool) ([]byte, bool) {
	limit := float64(excelMaxSerial)
	if date1904 {
		limit -= 1462
	}
	if !(f >= 0 && f < limit) {
		return dst, false
	}
	days := math.Floor(f)
	secs := int(math.Round((f - days) * 86400))
	if secs >= 86400 {
		days, secs = days+1, 0
	}
	d := int(days)
	switch {
	case date1904:
		dst = appendCivilDate(dst, excelEpoch1904+d)
	case d == 60:
		dst = append(dst, "1900-02-29"...)
	case d < 60:
		dst = appendCivilDate(dst, excelEpoch1900+d+1)
	default:
		dst = appendCivilDate(dst, excelEpoch1900+d)
	}
	if secs > 0 {
		dst = append(dst, ' ')
		dst = appendTwoDigits(dst, secs/3600)
		dst = append(dst, ':')
		dst = appendTwoDigits(dst, secs/60%60)
		dst = append(dst, ':')
		dst = appendTwoDigits(dst, secs%60)
	}
	return dst, true
}

// appendCivilDate appends the date of a day number (days since 1970-01-01,
// from 1 AD on) as 2006-01-02: H. Hinnant's days_from_civil inverse,
// several times faster than time.Time.AppendFormat.
func appendCivilDate(dst []byte, days int) []byte {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	dst = appendTwoDigits(dst, y/100)
	dst = appendTwoDigits(dst, y%100)
	dst = append(dst, '-')
	dst = appendTwoDigits(dst, m)
	dst = append(dst, '-')
	return appendTwoDigits(dst, d)
}

// appendTwoDigits appends n (0-99) as two digits.
func appendTwoDigits(dst []byte, n int) []byte { return append(dst, byte('0'+n/10), byte('0'+n%10)) }

// appendISODate appends an ISO 8601 date cell (t="d") in the form of
// appendSerialDate; text it cannot parse is appended as is. v may alias the
// free capacity of dst.
func appendISODate(dst, v []byte) []byte {
	s := string(v)
	for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		t = t.Round(time.Second)
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
			return t.AppendFormat(dst, "2006-01-02")
		}
		return t.AppendFormat(dst, "2006-01-02 15:04:05")
	}
	return append(dst, s...)
}
