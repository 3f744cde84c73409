package ingest

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/schemas"
)

// xlsLong is the long address of the fixtures: 9000 bytes of UTF-16, more
// than a record holds, so its shared string crosses a CONTINUE record.
var xlsLong = strings.Repeat("长地址", 1500)

const xlsMapping = testMapping + "  birth_date: 出生日期\n  address: 地址\n"

// readXLS reads a whole file through newXLSSource and checks progress.
func readXLS(t testing.TB, path string, m *schemas.Mapping) ([]string, []xlsxRow, error) {
	t.Helper()
	src, err := newXLSSource(path, m)
	if err != nil {
		return nil, nil, err
	}
	defer src.close()
	return drainXLS(t, src)
}

func drainXLS(t testing.TB, src rowSource) ([]string, []xlsxRow, error) {
	t.Helper()
	hdr, err := src.header()
	if err != nil {
		return nil, nil, err
	}
	var rows []xlsxRow
	for {
		r, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return hdr, rows, err
		}
		rows = append(rows, xlsxRow{r.num, append([]string(nil), r.cells...), append([]bool(nil), r.numeric...)})
	}
	if done, total := src.progress(); done != total || total <= 0 {
		t.Errorf("progress() at EOF = %d, %d; want done = total > 0", done, total)
	}
	return hdr, rows, nil
}

// TestXLSFixtures reads the .xls files of testdata (written by xlwt and by
// LibreOffice) cell by cell: shared strings (Chinese, one crossing a
// CONTINUE record), RK and NUMBER numbers, dates by their format in both
// date systems, booleans, cached formula results; the empty row 3 is
// skipped and rows keep the numbers Excel shows.
func TestXLSFixtures(t *testing.T) {
	t.Parallel()
	hdr := []string{"编号", "姓名", "身份证号", "手机号", "出生日期", "地址"}
	n, y := false, true
	xlwtRows := []xlsxRow{
		{2, []string{"A1", "张三", "11010519491231002X", "13912345678", "1949-12-31", "北京市朝阳区"}, []bool{n, n, n, y, n, n}},
		{4, []string{"A2", "李四", "1.1010519491231002E+17", "13800000000", "2024-03-05 08:30:15", xlsLong}, []bool{n, n, y, n, n, n}},
		{5, []string{"A3", "王五", "110105491231002", "-7", "1.5", "TRUE"}, []bool{n, n, y, y, y, n}},
	}
	tests := []struct {
		file  string
		sheet string
		want  []xlsxRow
	}{
		{"xlwt.xls", "", xlwtRows},
		{"xlwt-1904.xls", "", xlwtRows},
		{"libreoffice.xls", "数据", []xlsxRow{
			{2, []string{"B1", "赵六", "11010519491231002X", "13912345678", "2000-02-29", xlsLong + "尾"}, []bool{n, n, n, y, n, n}},
			// =CONCATENATE("钱","七"), =3/4 and =1=1 by their cached results.
			{4, []string{"B2", "钱七", "1.1010519491231E+17", "0.75", "1900-01-01", "TRUE"}, []bool{n, n, y, y, n, n}},
			{5, []string{"B3", "孙八", "11010519491231002X", "0.1", "#DIV/0!", ""}, []bool{n, n, n, y, n, n}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", tt.file)
			if !sstContinued(t, path) {
				t.Fatalf("%s: the shared strings do not cross a CONTINUE record; the fixture tests nothing", path)
			}
			m := mustMapping(t, xlsMapping)
			m.Sheet = tt.sheet
			gotHdr, rows, err := readXLS(t, path, m)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(hdr, gotHdr); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// sstContinued reports whether the SST record of an .xls file is followed
// by a CONTINUE record.
func sstContinued(t testing.TB, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stream, err := openXLSStream(f)
	if err != nil {
		t.Fatal(err)
	}
	br := newBIFFReader(stream)
	for prev := uint16(0); br.next() == nil; prev = br.typ {
		if prev == biffSST {
			return br.typ == biffContinue
		}
	}
	return false
}

// TestXLSOpen reads an .xls through Open, its format told by its name and
// the sheet by the mapping: the ID stored as a number is marked numeric
// and so refused as the XLSX reader's are, the text ID is valid.
func TestXLSOpen(t *testing.T) {
	t.Parallel()
	m := mustMapping(t, testMapping+"sheet: 数据\n")
	rows, file := readAll(t, filepath.Join("testdata", "libreoffice.xls"), m, Options{BatchRows: 2})
	want := []got{
		{Row: 2, Name: "赵六", ID: "11010519491231002X", Phone: "13912345678", Key: "B1"},
		{Row: 4, Name: "钱七", ID: "1.1010519491231E+17", Phone: "0.75", Key: "B2", Numeric: true},
		{Row: 5, Name: "孙八", ID: "11010519491231002X", Phone: "0.1", Key: "B3"},
	}
	if file.Format != schemas.FormatXLS {
		t.Errorf("format = %q, want xls", file.Format)
	}
	for _, g := range rows {
		_, code := cleanse.ParseID(g.ID, "", g.Numeric)
		if wantRefused := g.Numeric; wantRefused != (code == schemas.IDScientificNotation) {
			t.Errorf("row %d: ParseID(%q, numeric %v) = %q", g.Row, g.ID, g.Numeric, code)
		}
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// biffRec is one record of a hand-written BIFF8 stream.
func biffRec(typ uint16, data ...[]byte) []byte {
	d := bytes.Join(data, nil)
	return append([]byte{byte(typ), byte(typ >> 8), byte(len(d)), byte(len(d) >> 8)}, d...)
}

func le16(v int) []byte { return []byte{byte(v), byte(v >> 8)} }
func le32(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

// xlString is an XLUnicodeString: compressed when every character is
// Latin-1, else UTF-16LE.
func xlString(s string) []byte {
	u := utf16.Encode([]rune(s))
	wide := slices.ContainsFunc(u, func(c uint16) bool { return c > 0xFF })
	b := append(le16(len(u)), 0)
	if wide {
		b[2] = 1
	}
	for _, c := range u {
		b = append(b, byte(c))
		if wide {
			b = append(b, byte(c>>8))
		}
	}
	return b
}

// biffStream is a workbook stream: globals (after their BOF, before their
// EOF, with a BOUNDSHEET "Sheet1" pointing at the sheet added) and one
// worksheet's records.
func biffStream(globals, sheet [][]byte) []byte {
	var g []byte
	g = append(g, biffRec(biffBOF, le16(0x0600), le16(0x0005), make([]byte, 12))...)
	for _, r := range globals {
		g = append(g, r...)
	}
	bs := func(pos int) []byte {
		return biffRec(biffBoundSheet, le32(pos), []byte{0, 0, 6, 0}, []byte("Sheet1"))
	}
	pos := len(g) + len(bs(0)) + 4
	g = append(g, bs(pos)...)
	g = append(g, biffRec(biffEOF)...)
	g = append(g, biffRec(biffBOF, le16(0x0600), le16(0x0010), make([]byte, 12))...)
	for _, r := range sheet {
		g = append(g, r...)
	}
	return g
}

// openStream opens a hand-written stream as newXLSSource opens a file's.
func openStream(b []byte, m *schemas.Mapping) (*xlsSource, error) {
	return newXLSSheetSource(bytes.NewReader(b), int64(len(b)), m)
}

// cellRec is a cell record's row, column and XF index.
func cellRec(typ uint16, row, col, xf int, data ...[]byte) []byte {
	return biffRec(typ, append([][]byte{le16(row), le16(col), le16(xf)}, data...)...)
}

// TestXLSCellRecords: the cell records real writers use, each as Excel
// shows the value.
func TestXLSCellRecords(t *testing.T) {
	t.Parallel()
	rk := func(v int) []byte { return le32(v) }
	xf := func(ifmt int) []byte { return biffRec(biffXF, le16(0), le16(ifmt), make([]byte, 16)) }
	label := xlString
	fmlaVal := func(v ...byte) []byte { return append(v, make([]byte, 8-len(v))...) }
	fmla := func(row, col, x int, val []byte) []byte {
		return cellRec(biffFormula, row, col, x, val, le16(0), le32(0), le16(0))
	}
	num := func(f float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)) }
	globals := [][]byte{
		biffRec(biffFormat, le16(164), label(`yyyy"年"m"月"d"日"`)),
		xf(0),   // 0 General
		xf(14),  // 1 built-in date
		xf(164), // 2 custom date
		xf(49),  // 3 text "@"
	}
	sheet := [][]byte{
		cellRec(biffLabel, 0, 0, 0, label("a")), cellRec(biffLabel, 0, 1, 0, label("b")),
		cellRec(biffLabel, 0, 2, 0, label("c")), cellRec(biffLabel, 0, 3, 0, label("d")),
		// RK: integer, integer/100, float, float/100, negative integer.
		cellRec(biffRK, 1, 0, 0, rk(123456<<2|2)),
		cellRec(biffRK, 1, 1, 0, rk(12345<<2|3)),
		cellRec(biffRK, 1, 2, 0, rk(0x3FF80000)),   // 1.5
		cellRec(biffRK, 1, 3, 0, rk(0x405EC000|1)), // 123/100
		biffRec(biffMulRK, le16(2), le16(0), le16(0), rk(-5<<2|2), le16(1), rk(36526<<2|2), le16(2), rk(36526<<2|2), le16(3), rk(7<<2|2), le16(3)),
		// A chart embedded in the sheet is a substream of its own.
		biffRec(biffBOF, le16(0x0600), le16(0x0020), make([]byte, 12)),
		cellRec(biffLabel, 0, 0, 0, label("chart")),
		biffRec(biffEOF),
		cellRec(biffNumber, 3, 0, 0, num(13912345678)), cellRec(biffNumber, 3, 1, 1, num(-1)),
		cellRec(biffNumber, 3, 2, 0, num(1e-9)), cellRec(biffBoolErr, 3, 3, 0, []byte{0x2A, 1}),
		fmla(4, 0, 0, fmlaVal(0, 0, 0, 0, 0, 0, 0xFF, 0xFF)), biffRec(0x04BC, make([]byte, 10)), biffRec(biffString, label("公式")),
		fmla(4, 1, 0, fmlaVal(1, 0, 0, 0, 0, 0, 0xFF, 0xFF)),
		fmla(4, 2, 0, fmlaVal(2, 0, 0x17, 0, 0, 0, 0xFF, 0xFF)),
		fmla(4, 3, 1, num(45000.5)),
		fmla(5, 0, 0, fmlaVal(3, 0, 0, 0, 0, 0, 0xFF, 0xFF)), cellRec(biffBlank, 5, 1, 0), // empty: skipped
		cellRec(biffLabel, 6, 3, 0, label("x")), cellRec(biffLabel, 6, 0, 0, label("y")), // columns out of order
		biffRec(biffEOF),
	}
	m := mustMapping(t, testMapping)
	src, err := openStream(biffStream(globals, sheet), m)
	if err != nil {
		t.Fatal(err)
	}
	_, rows, err := drainXLS(t, src)
	if err != nil {
		t.Fatal(err)
	}
	n, y := false, true
	want := []xlsxRow{
		{2, []string{"123456", "123.45", "1.5", "1.23"}, []bool{y, y, y, y}},
		{3, []string{"-5", "2000-01-01", "2000-01-01", "7"}, []bool{y, n, n, y}},
		{4, []string{"13912345678", "-1", "1E-09", "#N/A"}, []bool{y, n, y, n}},
		{5, []string{"公式", "FALSE", "#REF!", "2023-03-15 12:00:00"}, []bool{n, n, n, n}},
		{7, []string{"y", "", "", "x"}, []bool{n, n, n, n}},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}
