package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// scanAll reads every row of sheet XML; the rows are rendered as strings so
// that runs can be compared.
func scanAll(r io.Reader, window int, sst *sharedStrings) ([]string, error) {
	sc := newSheetScanner(r, window, sst, []bool{false, true}, false)
	var out []string
	for {
		num, err := sc.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if num < 1 || num > xlsxMaxRows {
			return out, fmt.Errorf("row number %d out of range", num)
		}
		if len(sc.cells) > xlsxMaxCols {
			return out, fmt.Errorf("row %d has %d cells", num, len(sc.cells))
		}
		var numeric []bool
		cells := sc.appendRow(nil, &numeric, sc.lastCell()+1)
		out = append(out, fmt.Sprintf("%d %q %v", num, cells, numeric))
	}
}

func FuzzXLSXSheetScanner(f *testing.F) {
	f.Add([]byte(xlsxTestSheet(xlsxTestRows)))
	f.Add([]byte(xlsxTestSheet(`<row r="1"><c r="A1" t="inlineStr"><is><t>a&amp;b&#x4E2D;</t></is></c><c r="B1" s="1"><v>45000.25</v></c><c r="C1" t="s"><v>1</v></c></row>`)))
	f.Add([]byte(`<worksheet><sheetData><row><c><v>1</v></c></row><row r="3"><c r="XFD3"/></row></sheetData></worksheet>`))
	f.Add([]byte(xlsxTestSST))
	f.Add([]byte(`<x:sheetData><x:row r="2"><x:c t="d"><x:v>2023-01-02T03:04:05</x:v></x:c></x:row></x:sheetData>`))
	sst := &sharedStrings{text: "ab_x0041_c", off: []uint32{0, 2, 10}}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := scanAll(bytes.NewReader(data), 1<<16, sst)
		// A tiny window fed a byte at a time crosses every element boundary
		// and must read the same.
		got, gotErr := scanAll(iotest.OneByteReader(bytes.NewReader(data)), 16, sst)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("errors differ: %v vs %v", wantErr, gotErr)
		}
		if wantErr != nil && errors.Is(wantErr, errXMLShort) {
			t.Fatalf("errXMLShort escaped: %v", wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("rows mismatch between windows (-want +got):\n%s", diff)
		}
		// The shared strings reader shares the text parsers.
		big, bigErr := readSharedStrings(bytes.NewReader(data), 1<<16)
		tiny, tinyErr := readSharedStrings(iotest.OneByteReader(bytes.NewReader(data)), 16)
		if (bigErr == nil) != (tinyErr == nil) {
			t.Fatalf("shared strings errors differ: %v vs %v", bigErr, tinyErr)
		}
		if bigErr == nil && (big.text != tiny.text || !slices.Equal(big.off, tiny.off)) {
			t.Fatalf("shared strings differ between windows")
		}
	})
}
