package ingest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

func TestAppendSerialDate(t *testing.T) {
	t.Parallel()
	// Whole seconds, so that excelize's truncation and our rounding agree.
	var serials []float64
	for d := 1.0; d < 3e6; d = d*1.37 + 1 {
		if int(d) == 60 { // Excel's 1900-02-29, which excelize maps to 02-28
			continue
		}
		serials = append(serials, float64(int(d)), float64(int(d))+37021.0/86400)
	}
	for _, date1904 := range []bool{false, true} {
		var want, got []string
		for _, f := range serials {
			tm, err := excelize.ExcelDateToTime(f, date1904)
			if err != nil {
				t.Fatal(err)
			}
			layout := "2006-01-02 15:04:05"
			if f == float64(int(f)) {
				layout = "2006-01-02"
			}
			want = append(want, fmt.Sprint(f, " ", tm.Format(layout)))
			b, ok := appendSerialDate(nil, f, date1904)
			got = append(got, fmt.Sprint(f, " ", string(b), map[bool]string{false: " (not ok)"}[ok]))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("date1904=%v: dates mismatch with excelize.ExcelDateToTime (-want +got):\n%s", date1904, diff)
		}
	}
}
