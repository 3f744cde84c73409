package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
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
		fmla(4, 3, 1, num(45000.5)), biffRec(biffString, label("stray")), // a STRING no formula asked for
		fmla(5, 0, 0, fmlaVal(3, 0, 0, 0, 0, 0, 0xFF, 0xFF)), cellRec(biffBlank, 5, 1, 0), // empty: skipped
		cellRec(biffLabel, 6, 3, 0, label("x")), cellRec(biffLabel, 6, 0, 0, label("y")), // columns out of order
		cellRec(biffRK, 6, 1, 500, rk(3<<2|2)),                  // an XF the workbook lacks: General
		cellRec(biffNumber, 6, 2, 0, num(math.Copysign(0, -1))), // shown as 0
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
		{7, []string{"y", "3", "0", "x"}, []bool{n, y, y, n}},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// TestXLSSharedStrings: strings split across CONTINUE records as Excel
// splits them. Character data carries on after a flags byte that may
// switch between one-byte and UTF-16 characters; formatting runs and
// phonetic data carry on without one; a string may start a record.
func TestXLSSharedStrings(t *testing.T) {
	t.Parallel()
	u16 := func(s string) []byte {
		var b []byte
		for _, c := range utf16.Encode([]rune(s)) {
			b = append(b, le16(int(c))...)
		}
		return b
	}
	rare := u16("x\U00020000") // x and a surrogate pair
	stream := bytes.Join([][]byte{
		biffRec(biffSST, le32(6), le32(6),
			le16(5), []byte{0}, []byte("ab")), // "abcde": one-byte characters…
		biffRec(biffContinue, []byte{1}, u16("cde"), // …then UTF-16
			le16(2), []byte{0x0D}, le16(1), le32(6), u16("张三"), le16(0)), // rich and phonetic: runs split
		biffRec(biffContinue, le16(0), make([]byte, 6), // the rest of the run, the phonetic data
			le16(3), []byte{1}, rare[:4]), // the high surrogate…
		biffRec(biffContinue, []byte{1}, rare[4:], // …and its pair
			le16(3), []byte{1}, u16("中")),
		biffRec(biffContinue, []byte{0}, []byte("ab"),
			le16(2), []byte{0}), // the header alone
		biffRec(biffContinue, []byte{0}, []byte("ok")),
		biffRec(biffContinue, le16(3), []byte{0}, []byte("end")), // a string starting a record
		biffRec(biffEOF),
	}, nil)
	br := newBIFFReader(bytes.NewReader(stream))
	if err := br.next(); err != nil {
		t.Fatal(err)
	}
	sst, err := readXLSSST(br)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range sst.len() {
		got = append(got, sst.at(i))
	}
	want := []string{"abcde", "张三", "x\U00020000", "中ab", "ok", "end"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("strings (-want +got):\n%s", diff)
	}
	if err := br.next(); err != nil || br.typ != biffEOF {
		t.Errorf("after the table: record %#x, %v; want the EOF record", br.typ, err)
	}

	// A table cut inside a string is damaged, and says which string.
	cut := bytes.Join([][]byte{biffRec(biffSST, le32(2), le32(2), le16(1), []byte{0}, []byte("a"), le16(4), []byte{0}, []byte("bc")), biffRec(biffEOF)}, nil)
	br = newBIFFReader(bytes.NewReader(cut))
	if err := br.next(); err != nil {
		t.Fatal(err)
	}
	_, err = readXLSSST(br)
	var xe *XLSXError
	if !errors.As(err, &xe) || xe.Item != 2 || !errors.Is(err, ErrDamagedXLS) {
		t.Errorf("cut table: %v; want ErrDamagedXLS at string item 2", err)
	}
}

// TestXLSErrors: a file that cannot be read fails whole, with an error
// that names the file and, where there is one, the sheet, row and cell,
// and says what is wrong; errors.Is tells the kind.
func TestXLSErrors(t *testing.T) {
	t.Parallel()
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	xlwt := fixture("xlwt.xls")
	files := []struct {
		name    string
		bytes   []byte
		mapping string
		kind    error
		text    string
	}{
		// What is not a compound file is told by the content (sniff.go).
		{"csv_named_xls", []byte("编号,姓名,身份证号,手机号\n"), "", ErrFormat, "the name says xls but the content is text"},
		{"xlsx_named_xls", []byte("PK\x03\x04\x14\x00"), "", ErrDamagedZip, "damaged zip package"},
		{"html_named_xls", []byte("\xef\xbb\xbf<html><table><tr><td>姓名</td></tr></table></html>"), "", ErrFormat, "the name says xls"},
		{"cut_short", xlwt[:9000], "", ErrDamagedXLS, "damaged compound file, perhaps cut short in copying"},
		{"no_such_sheet", fixture("libreoffice.xls"), "sheet: 名单\n", ErrNoSheet, `no sheet "名单" (the workbook has "说明", "数据")`},
		{"empty_header_row", xlwt, "header_row: 3\n", ErrNoHeader, `sheet "人员": header row 3 is empty`},
	}
	for _, tt := range files {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := writeFile(t, tt.name+".xls", tt.bytes)
			_, err := Open(p, mustMapping(t, testMapping+tt.mapping), Options{})
			if !errors.Is(err, tt.kind) || !strings.HasPrefix(err.Error(), p+": ") || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Open() = %v; want %v naming the file and saying %q", err, tt.kind, tt.text)
			}
		})
	}

	hdr := [][]byte{cellRec(biffLabel, 0, 0, 0, xlString("编号")), cellRec(biffLabel, 0, 1, 0, xlString("姓名")),
		cellRec(biffLabel, 0, 2, 0, xlString("身份证号")), cellRec(biffLabel, 0, 3, 0, xlString("手机号"))}
	sheet := func(recs ...[]byte) [][]byte { return append(append(slices.Clone(hdr), recs...), biffRec(biffEOF)) }
	row := cellRec(biffLabel, 1, 0, 0, xlString("A1"))
	sst := biffRec(biffSST, le32(1), le32(1), le16(1), []byte{0}, []byte("x"))
	streams := []struct {
		name    string
		stream  []byte
		kind    error
		text    string
		wantErr XLSXError // the position
		mapping string
	}{
		{"password", biffStream([][]byte{biffRec(biffFilePass, make([]byte, 54))}, sheet()), ErrXLSEncrypted, "password-protected", XLSXError{}, ""},
		{"excel_95", append(biffRec(biffBOF, le16(0x0500), le16(0x0005), make([]byte, 4)), biffRec(biffEOF)...), ErrUnsupported, "Excel 5.0/95", XLSXError{}, ""},
		{"globals_cut", biffStream(nil, nil)[:20], ErrDamagedXLS, "the workbook globals end without their EOF record", XLSXError{}, ""},
		{"sheet_cut", biffStream(nil, sheet(row))[:len(biffStream(nil, sheet(row)))-4], ErrDamagedXLS, "the sheet ends without its EOF record", XLSXError{Sheet: "Sheet1", Row: 2}, ""},
		{"record_cut", biffStream(nil, sheet(row))[:len(biffStream(nil, sheet(row)))-7], ErrDamagedXLS, "the stream ends inside a record", XLSXError{Sheet: "Sheet1", Row: 1}, ""},
		{"rows_out_of_order", biffStream(nil, sheet(cellRec(biffLabel, 2, 0, 0, xlString("A3")), row)), ErrBadRowNumber, "out of order, after row 3", XLSXError{Sheet: "Sheet1", Row: 2}, ""},
		{"column_beyond_iv", biffStream(nil, sheet(cellRec(biffLabel, 1, 256, 0, xlString("z")))), ErrBadCellRef, "column 257 beyond IV", XLSXError{Sheet: "Sheet1", Row: 2, Column: 257}, ""},
		{"string_not_in_table", biffStream([][]byte{sst}, sheet(cellRec(biffLabelSST, 1, 2, 0, le32(1)))), ErrSharedString, "shared string 1 not in the table of 1", XLSXError{Sheet: "Sheet1", Row: 2, Column: 3, Header: "身份证号"}, ""},
		{"mulrk_columns_wrong", biffStream(nil, sheet(biffRec(biffMulRK, le16(1), le16(0), le16(0), le32(2), le16(5)))), ErrDamagedXLS, "MULRK record", XLSXError{Sheet: "Sheet1", Row: 2, Column: 1, Header: "编号"}, ""},
		{"biff4", append(biffRec(0x0409, le16(0), le16(0x0100)), biffRec(biffEOF)...), ErrUnsupported, "an Excel 2.x-4.0 workbook", XLSXError{}, ""},
		{"xf_short", biffStream([][]byte{biffRec(biffXF, le16(0))}, sheet()), ErrDamagedXLS, "XF record at byte 20: record shorter than its fields", XLSXError{}, ""},
		{"format_short", biffStream([][]byte{biffRec(biffFormat, []byte{1})}, sheet()), ErrDamagedXLS, "FORMAT record at byte 20: record shorter than its fields", XLSXError{}, ""},
		{"format_string_short", biffStream([][]byte{biffRec(biffFormat, le16(164), le16(9), []byte{0}, []byte("yyyy"))}, sheet()), ErrDamagedXLS, "FORMAT record at byte 20: record shorter than its fields", XLSXError{}, ""},
		{"boundsheet_short", biffStream([][]byte{biffRec(biffBoundSheet, le32(0))}, sheet()), ErrDamagedXLS, "BOUNDSHEET record at byte 20", XLSXError{}, ""},
		{"sst_short", biffStream([][]byte{biffRec(biffSST, le32(1))}, sheet()), ErrDamagedXLS, "SST record at byte 20", XLSXError{}, ""},
		{"sst_count_beyond_strings", biffStream([][]byte{biffRec(biffSST, le32(3), le32(3), le16(1), []byte{0}, []byte("x"))}, sheet()), ErrDamagedXLS, "shared string: record shorter than its fields", XLSXError{Item: 2}, ""},
		{"chart_as_sheet", biffStream([][]byte{biffRec(biffBoundSheet, le32(0), []byte{0, 2, 2}, xlString("图表")[2:])}, sheet()), ErrNoSheet, `sheet "图表" is not a worksheet (a chart)`, XLSXError{}, "sheet: 图表\n"},
		{"sheet_offset_not_a_sheet", bytes.Replace(biffStream(nil, sheet()), []byte{0x09, 0x08, 16, 0, 0, 6, 0x10, 0}, []byte{0x09, 0x08, 16, 0, 0, 6, 0x20, 0}, 1), ErrDamagedXLS, "is of type 0x0020, not 0x0010", XLSXError{Sheet: "Sheet1"}, ""},
		{"cell_record_short", biffStream(nil, sheet(biffRec(biffLabelSST, le16(1), le16(0)))), ErrDamagedXLS, "cell record at byte", XLSXError{Sheet: "Sheet1", Row: 1}, ""},
		{"number_record_short", biffStream(nil, sheet(cellRec(biffNumber, 1, 1, 0, le16(7)))), ErrDamagedXLS, "cell record at byte", XLSXError{Sheet: "Sheet1", Row: 2, Column: 2, Header: "姓名"}, ""},
		{"mulrk_beyond_iv", biffStream(nil, sheet(biffRec(biffMulRK, le16(1), le16(255), le16(0), le32(2), le16(0), le32(2), le16(256)))), ErrBadCellRef, "column 257 beyond IV", XLSXError{Sheet: "Sheet1", Row: 2, Column: 256}, ""},
		{"utf16_char_split", biffStream(nil, sheet(cellRec(biffLabel, 1, 0, 0, le16(2), []byte{1, 'a'}))), ErrDamagedXLS, "a UTF-16 character split between records", XLSXError{Sheet: "Sheet1", Row: 2, Column: 1, Header: "编号"}, ""},
	}
	for _, tt := range streams {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := openStream(tt.stream, mustMapping(t, testMapping+tt.mapping))
			if err == nil {
				_, _, err = drainXLS(t, src)
				if _, again := src.next(); fmt.Sprint(again) != fmt.Sprint(err) {
					t.Errorf("next() after %v = %v; want the same error", err, again)
				}
			}
			var xe *XLSXError
			if !errors.Is(err, tt.kind) || !strings.Contains(fmt.Sprint(err), tt.text) {
				t.Fatalf("err = %v; want %v saying %q", err, tt.kind, tt.text)
			}
			if errors.As(err, &xe) {
				got := XLSXError{Sheet: xe.Sheet, Row: xe.Row, After: xe.After, Column: xe.Column, Header: xe.Header, Item: xe.Item}
				if got != tt.wantErr {
					t.Errorf("position %+v, want %+v (%v)", got, tt.wantErr, err)
				}
			} else if tt.wantErr != (XLSXError{}) {
				t.Errorf("err %v is no *XLSXError", err)
			}
		})
	}
}

// FuzzXLSReader: any bytes, as an .xls file or as a workbook stream, give
// rows or an error naming the file, never a panic; rows keep to Excel's
// row numbers and valid UTF-8 (or are flagged).
func FuzzXLSReader(f *testing.F) {
	for _, name := range []string{"xlwt.xls", "xlwt-1904.xls", "libreoffice.xls"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	hdr := [][]byte{cellRec(biffLabel, 0, 0, 0, xlString("编号")), cellRec(biffLabel, 0, 1, 0, xlString("姓名")),
		cellRec(biffLabel, 0, 2, 0, xlString("身份证号")), cellRec(biffLabel, 0, 3, 0, xlString("手机号"))}
	f.Add(biffStream([][]byte{biffRec(biffSST, le32(2), le32(2), le16(2), []byte{1}, []byte("张"), biffRec(biffContinue, []byte{1, 0x09, 0x4E}, le16(1), []byte{0}, []byte("x")))}, append(hdr,
		cellRec(biffLabelSST, 1, 1, 0, le32(0)), cellRec(biffRK, 1, 2, 0, le32(7<<2|2)), biffRec(biffMulRK, le16(2), le16(0), le16(0), le32(2), le16(0), le32(6), le16(1)),
		cellRec(biffFormula, 2, 3, 0, []byte{0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, make([]byte, 6)), biffRec(biffString, xlString("公式")), biffRec(biffEOF))))
	m := mustMapping(f, testMapping)
	f.Fuzz(func(t *testing.T, b []byte) {
		p := writeFile(t, "f.xls", b)
		check := func(src rowSource, err error) {
			if err != nil {
				if !strings.HasPrefix(err.Error(), p+": ") {
					t.Fatalf("error %q does not name the file", err)
				}
				return
			}
			defer src.close()
			if _, err := src.header(); err != nil {
				return
			}
			for {
				r, err := src.next()
				if err != nil {
					return
				}
				if r.num < 2 || r.num > 1<<16 || len(r.cells) > xlsMaxCols || len(r.numeric) != len(r.cells) {
					t.Fatalf("row %d with %d cells, %d flags", r.num, len(r.cells), len(r.numeric))
				}
			}
		}
		check(newXLSSource(p, m))
		src, err := openStream(b, m)
		if err == nil {
			src.path = p
		} else {
			err = xlsErrorAt(p, err)
		}
		check(src, err)
	})
}

// withDirEntry returns the compound file b with its Workbook directory
// entry renamed to name, and its stream size set when size > 0.
func withDirEntry(t testing.TB, b []byte, name string, size uint32) []byte {
	t.Helper()
	b = slices.Clone(b)
	want := xlString("Workbook")[3:] // compressed: UTF-16 below
	var u16 []byte
	for _, c := range want {
		u16 = append(u16, c, 0)
	}
	for i := 512; i+128 <= len(b); i += 128 {
		if !bytes.HasPrefix(b[i:], u16) {
			continue
		}
		e := b[i : i+128]
		clear(e[:64])
		for j, c := range utf16.Encode([]rune(name)) {
			binary.LittleEndian.PutUint16(e[2*j:], c)
		}
		binary.LittleEndian.PutUint16(e[64:], uint16(2*len(name)+2))
		if size > 0 {
			binary.LittleEndian.PutUint32(e[120:], size)
		}
		return b
	}
	t.Fatal("no Workbook directory entry")
	return nil
}

// inStorage returns the compound file b (with the Workbook stream as the
// root's only child and a free directory entry 2, as xlwt writes it) with
// the Workbook stream moved into a storage, as an embedded workbook is.
func inStorage(t testing.TB, b []byte) []byte {
	t.Helper()
	b = slices.Clone(b)
	dir := (int(binary.LittleEndian.Uint32(b[48:])) + 1) * 512
	entry := func(i int) []byte { return b[dir+128*i : dir+128*(i+1)] }
	if binary.LittleEndian.Uint32(entry(0)[76:]) != 1 || entry(2)[66] != 0 {
		t.Fatal("not the directory xlwt writes")
	}
	e := entry(2)
	for j, c := range utf16.Encode([]rune("MBD0001")) {
		binary.LittleEndian.PutUint16(e[2*j:], c)
	}
	binary.LittleEndian.PutUint16(e[64:], 16)
	e[66], e[67] = 1, 1 // a storage, black
	binary.LittleEndian.PutUint32(e[68:], 0xFFFFFFFF)
	binary.LittleEndian.PutUint32(e[72:], 0xFFFFFFFF)
	binary.LittleEndian.PutUint32(e[76:], 1)
	binary.LittleEndian.PutUint32(entry(0)[76:], 2)
	return b
}

// TestXLSContainer: compound files that hold no Excel 97-2003 workbook,
// or a damaged one, say so.
func TestXLSContainer(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "xlwt.xls"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		bytes []byte
		kind  error
		text  string
	}{
		{"excel_95", withDirEntry(t, b, "Book", 0), ErrUnsupported, "an Excel 5.0/95 workbook (BIFF5)"},
		{"encrypted_xlsx", withDirEntry(t, b, "EncryptedPackage", 0), ErrXLSEncrypted, "password-protected (encrypted) workbook"},
		{"word_document", withDirEntry(t, b, "WordDocument", 0), ErrNotXLS, "a compound file without a Workbook stream"},
		{"embedded_workbook", inStorage(t, b), ErrNotXLS, "a compound file without a Workbook stream"},
		{"stream_larger_than_file", withDirEntry(t, b, "Workbook", 1<<30), ErrDamagedXLS, "the Workbook stream (1073741824 bytes) is larger than the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := writeFile(t, tt.name+".xls", tt.bytes)
			_, err := newXLSSource(p, mustMapping(t, testMapping))
			if !errors.Is(err, tt.kind) || !strings.HasPrefix(fmt.Sprint(err), p+": ") || !strings.Contains(fmt.Sprint(err), tt.text) {
				t.Errorf("newXLSSource() = %v; want %v naming the file and saying %q", err, tt.kind, tt.text)
			}
		})
	}
}

// TestXLSSourceNotOLE: the .xls reader itself refuses what is not a
// compound file (Open sends it only compound files, but a file may be
// replaced between the sniff and the read).
func TestXLSSourceNotOLE(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "text.xls", []byte("编号,姓名,身份证号,手机号\n"))
	_, err := newXLSSource(p, mustMapping(t, testMapping))
	if !errors.Is(err, ErrNotXLS) || !strings.Contains(err.Error(), "no OLE compound file signature") {
		t.Errorf("newXLSSource(text) = %v; want ErrNotXLS", err)
	}
}

// TestXLSLineBreaks: a line break in an .xls cell (CRLF or CR, as Excel
// and LibreOffice store an Alt+Enter) is LF, as from CSV and XLSX: in a
// shared string, a LABEL and a formula's cached string.
func TestXLSLineBreaks(t *testing.T) {
	t.Parallel()
	hdr := [][]byte{cellRec(biffLabel, 0, 0, 0, xlString("编号")), cellRec(biffLabel, 0, 1, 0, xlString("姓名")),
		cellRec(biffLabel, 0, 2, 0, xlString("身份证号")), cellRec(biffLabel, 0, 3, 0, xlString("手机号"))}
	sst := biffRec(biffSST, le32(1), le32(1), le16(6), []byte{0}, []byte("a\r\nb\rc"))
	sheet := append(hdr,
		cellRec(biffLabelSST, 1, 0, 0, le32(0)),
		cellRec(biffLabel, 1, 1, 0, xlString("海口市\r\n美兰区")),
		cellRec(biffFormula, 1, 2, 0, []byte{0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, le16(0), le32(0), le16(0)),
		biffRec(biffString, xlString("x\ry")),
		biffRec(biffEOF))
	src, err := openStream(biffStream([][]byte{sst}, sheet), mustMapping(t, testMapping))
	if err != nil {
		t.Fatal(err)
	}
	_, rows, err := drainXLS(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !slices.Equal(rows[0].Cells[:3], []string{"a\nb\nc", "海口市\n美兰区", "x\ny"}) {
		t.Errorf("rows = %+v; want the line breaks as LF", rows)
	}
}
