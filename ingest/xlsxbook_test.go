package ingest

import (
	"archive/zip"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestIsDateFormat(t *testing.T) {
	t.Parallel()
	want := map[string]bool{
		"yyyy-mm-dd":                     true,
		`yyyy"年"m"月"d"日"`:                true,
		"[$-F800]dddd, mmmm dd, yyyy":    true,
		"[h]:mm:ss":                      true,
		"h:mm AM/PM":                     true,
		`[DBNum1][$-804]yyyy"年"m"月"d"日"`: true,
		"General":                        false,
		"0.00":                           false,
		`0.00"d"`:                        false,
		"#,##0.00_);[Red](#,##0.00)":     false,
		"0.00E+00":                       false,
		`\d0`:                            false,
		"@":                              false,
		"[DBNum1][$-804]General":         false,
	}
	got := make(map[string]bool, len(want))
	for code := range want {
		got[code] = isDateFormat(code)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("isDateFormat mismatch (-want +got):\n%s", diff)
	}
}

func TestReadSharedStringsWindow(t *testing.T) {
	t.Parallel()
	for _, window := range []int{16, 1 << 16} {
		sst, err := readSharedStrings(iotest.OneByteReader(strings.NewReader(xlsxTestSST)), window)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := range sst.len() {
			got = append(got, sst.at(i))
		}
		want := []string{"姓名", "身份证号", "出生日期", "Tom & Jerry ", "a\nb_x0041_😀", ""}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("window %d: shared strings mismatch (-want +got):\n%s", window, diff)
		}
	}
}

// TestReadSharedStringsDamaged: damaged compressed data that inflates to
// bad XML before archive/zip notices is reported as damage, at the item.
func TestReadSharedStringsDamaged(t *testing.T) {
	t.Parallel()
	xml := `<sst><si><t>a</t></si><si><q <x></si>` + strings.Repeat(" ", 100)
	_, err := readSharedStrings(io.MultiReader(strings.NewReader(xml), iotest.ErrReader(zip.ErrChecksum)), 16)
	var got *XLSXError
	if !errors.As(err, &got) || got.Item != 2 || !errors.Is(err, ErrDamagedZip) || !errors.Is(err, zip.ErrChecksum) {
		t.Errorf("error %v (%T), want an *XLSXError at item 2 wrapping ErrDamagedZip and zip.ErrChecksum", err, err)
	}
}
