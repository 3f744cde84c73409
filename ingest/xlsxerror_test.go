package ingest

import (
	"archive/zip"
	"compress/flate"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idfusion/idfusion/schemas"
)

// xlsxTestHeader3 is a header row of three named columns.
const xlsxTestHeader3 = `<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c><c r="B1" t="inlineStr"><is><t>身份证号</t></is></c><c r="C1" t="inlineStr"><is><t>手机号</t></is></c></row>`

// xlsxTestCutSheet is a package whose sheet XML ends with tail, cut off
// there as by a writer that died.
func xlsxTestCutSheet(t *testing.T, tail string) string {
	p := xlsxTestParts("", "")
	p["xl/worksheets/sheet1.xml"] = `<worksheet><sheetData>` + xlsxTestHeader3 + tail
	return writeZip(t, p)
}

// xlsxTestRowsFile is a package whose sheet has the three-column header
// and rows.
func xlsxTestRowsFile(t *testing.T, rows string) string {
	return writeZip(t, xlsxTestParts(xlsxTestHeader3+rows, ""))
}

// xlsxTestManyRows are enough rows for a sheet's compressed data to be
// damaged in the middle.
var xlsxTestManyRows = strings.Repeat(`<row><c t="inlineStr"><is><t>张三</t></is></c><c><v>460102199001011011</v></c></row>`, 2000)

// corruptedFile makes a package of rows (after the three-column header)
// whose part's compressed data is damaged.
func corruptedFile(part, rows string) func(t *testing.T) string {
	return func(t *testing.T) string {
		path := xlsxTestRowsFile(t, rows)
		corruptPart(t, path, part)
		return path
	}
}

// corruptPart flips bytes in the middle of a part's compressed data.
func corruptPart(t *testing.T, path, part string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	var off, size int64
	for _, f := range zr.File {
		if f.Name == part {
			off, _ = f.DataOffset()
			size = int64(f.CompressedSize64)
		}
	}
	zr.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := off + size/2; i < off+min(size, size/2+16); i++ {
		b[i] ^= 0x5A
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestXLSXErrorPositions(t *testing.T) {
	t.Parallel()
	const sheet1 = "xl/worksheets/sheet1.xml"
	tests := []struct {
		name  string
		file  func(t *testing.T) string
		sheet string
		// want is the error's position; Path is the file's and Err is
		// checked with errors.Is against kind and also.
		want   XLSXError
		kind   error
		also   error      // a cause also wrapped, or nil
		ignore cmp.Option // fields that depend on how a zip library fails
	}{
		{
			name: "truncated zip",
			file: func(t *testing.T) string {
				path := xlsxTestRowsFile(t, "")
				b, _ := os.ReadFile(path)
				os.WriteFile(path, b[:len(b)/2], 0o600)
				return path
			},
			kind: ErrDamagedZip,
			also: zip.ErrFormat,
		},
		{
			name: "not a zip",
			file: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "x.xlsx")
				os.WriteFile(p, []byte("姓名,身份证号\n"), 0o600)
				return p
			},
			kind: ErrNotXLSX,
			also: zip.ErrFormat,
		},
		{
			name: "sheet cut mid-cell",
			file: func(t *testing.T) string {
				return xlsxTestCutSheet(t, `<row r="2"><c r="A2" t="inlineStr"><is><t>张三</t></is></c><c r="B2"><v>1</v></c><c r="C2"><v>1391234`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, Row: 2, Column: 3, Header: "手机号"},
			kind: ErrTruncatedXML,
		},
		{
			name: "sheet cut after a cell's start tag",
			file: func(t *testing.T) string {
				return xlsxTestCutSheet(t, `<row r="2"><c r="A2"><v>1</v></c><c r="B2">`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, Row: 2, Column: 2, Header: "身份证号"},
			kind: ErrTruncatedXML,
		},
		{
			name: "sheet cut between cells",
			file: func(t *testing.T) string {
				return xlsxTestCutSheet(t, `<row r="2"><c r="A2"><v>1</v></c>`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, Row: 2},
			kind: ErrTruncatedXML,
		},
		{
			name: "sheet cut in a cell's tag",
			file: func(t *testing.T) string {
				return xlsxTestCutSheet(t, `<row r="2"><c r="A2"><v>1</v></c><c r="B`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, Row: 2},
			kind: ErrTruncatedXML,
		},
		{
			name: "sheet cut in a row's tag",
			file: func(t *testing.T) string {
				return xlsxTestCutSheet(t, `<row r="2"><c r="A2"><v>1</v></c></row><row r=`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, After: 2},
			kind: ErrTruncatedXML,
		},
		{
			name: "bad cell reference",
			file: func(t *testing.T) string {
				return xlsxTestRowsFile(t, `<row r="2"><c r="A2"><v>1</v></c><c r="2B"><v>1</v></c></row>`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, Row: 2},
			kind: ErrBadCellRef,
		},
		{
			name: "column beyond XFD",
			file: func(t *testing.T) string {
				return xlsxTestRowsFile(t, `<row r="2"><c r="XFD2"><v>1</v></c><c><v>2</v></c></row>`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, Row: 2, Column: xlsxMaxCols + 1},
			kind: ErrBadCellRef,
		},
		{
			name: "shared string index out of range",
			file: func(t *testing.T) string {
				return xlsxTestRowsFile(t, `<row r="2"><c r="A2"><v>1</v></c></row><row r="3"><c r="B3" t="s"><v>99</v></c></row>`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, Row: 3, Column: 2, Header: "身份证号"},
			kind: ErrSharedString,
		},
		{
			name: "shared string out of range in a cell without r",
			file: func(t *testing.T) string {
				return xlsxTestRowsFile(t, `<row r="2"><c><v>1</v></c><c/><c t="s"><v>6</v></c></row>`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, Row: 2, Column: 3, Header: "手机号"},
			kind: ErrSharedString,
		},
		{
			name: "cell beyond the header",
			file: func(t *testing.T) string {
				return xlsxTestRowsFile(t, `<row r="2"><c r="E2" t="s"><v>-1</v></c></row>`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, Row: 2, Column: 5},
			kind: ErrSharedString,
		},
		{
			name: "mismatched end tag in a cell",
			file: func(t *testing.T) string {
				return xlsxTestRowsFile(t, `<row r="2"><c r="A2"><v>1</v></row>`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, Row: 2, Column: 1, Header: "姓名"},
			kind: ErrMalformedXML,
		},
		{
			name: "bad row number",
			file: func(t *testing.T) string {
				return xlsxTestRowsFile(t, `<row r="2"><c r="A2"><v>1</v></c></row><row r="0"><c r="A3"><v>1</v></c></row>`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, After: 2},
			kind: ErrBadRowNumber,
		},
		{
			name: "rows out of order",
			file: func(t *testing.T) string {
				return xlsxTestRowsFile(t, `<row r="3"><c r="A3"><v>1</v></c></row><row r="2"><c r="A2"><v>1</v></c></row>`)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1, Row: 2},
			kind: ErrBadRowNumber,
		},
		{
			name: "shared strings cut mid-item",
			file: func(t *testing.T) string {
				p := xlsxTestParts(xlsxTestHeader3, "")
				p["xl/sharedStrings.xml"] = `<sst><si><t>a</t></si><si><t>b`
				return writeZip(t, p)
			},
			want: XLSXError{Part: "xl/sharedStrings.xml", Item: 2},
			kind: ErrTruncatedXML,
		},
		{
			name: "corrupt compressed sheet",
			file: corruptedFile(sheet1, xlsxTestManyRows),
			want: XLSXError{Sheet: "数据", Part: sheet1},
			kind: ErrDamagedZip,
			// Where the damage shows: flate may notice, or the XML parser.
			ignore: cmpopts.IgnoreFields(XLSXError{}, "Row", "After", "Column", "Header"),
		},
		{
			name: "corrupt compressed workbook",
			file: corruptedFile("xl/workbook.xml", ""),
			want: XLSXError{Part: "xl/workbook.xml"},
			kind: ErrDamagedZip,
		},
		{
			name:   "corrupt compressed shared strings",
			file:   corruptedFile("xl/sharedStrings.xml", ""),
			want:   XLSXError{Part: "xl/sharedStrings.xml"},
			kind:   ErrDamagedZip,
			ignore: cmpopts.IgnoreFields(XLSXError{}, "Item"),
		},
		{
			name: "UTF-16 sheet",
			file: func(t *testing.T) string {
				p := xlsxTestParts("", "")
				p["xl/worksheets/sheet1.xml"] = "\xFF\xFE<\x00w\x00"
				return writeZip(t, p)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1},
			kind: ErrUnsupported,
		},
		{
			name: "missing sheet part",
			file: func(t *testing.T) string {
				p := xlsxTestParts("", "")
				delete(p, sheet1)
				return writeZip(t, p)
			},
			want: XLSXError{Sheet: "数据", Part: sheet1},
			kind: ErrMissingPart,
		},
		{
			name: "malformed workbook",
			file: func(t *testing.T) string {
				p := xlsxTestParts(xlsxTestHeader3, "")
				p["xl/workbook.xml"] = `<workbook><sheets><sheet name="a" r:id="rId1"></sheets></workbook>`
				return writeZip(t, p)
			},
			want: XLSXError{Part: "xl/workbook.xml"},
			kind: ErrMalformedXML,
		},
		{
			name:  "unknown sheet",
			file:  func(t *testing.T) string { return xlsxTestRowsFile(t, "") },
			sheet: "户口",
			kind:  ErrNoSheet,
		},
		{
			name:  "chart sheet",
			file:  func(t *testing.T) string { return xlsxTestRowsFile(t, "") },
			sheet: "图表",
			want:  XLSXError{Sheet: "图表", Part: "xl/chartsheets/sheet1.xml"},
			kind:  ErrNoSheet,
		},
		{
			name: "no header row",
			file: func(t *testing.T) string { return writeZip(t, xlsxTestParts("", "")) },
			want: XLSXError{Sheet: "数据", Part: sheet1},
			kind: ErrNoHeader,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.file(t)
			_, _, err := readXLSX(t, path, &schemas.Mapping{Sheet: tt.sheet, HeaderRow: 1})
			var got *XLSXError
			if !errors.As(err, &got) {
				t.Fatalf("error %v (%T), want an *XLSXError", err, err)
			}
			want := tt.want
			want.Path = path
			if diff := cmp.Diff(want, *got, cmpopts.IgnoreFields(XLSXError{}, "Err"), tt.ignore); diff != "" {
				t.Errorf("%v: position mismatch (-want +got):\n%s", err, diff)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("%v: errors.Is(%v) = false", err, tt.kind)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("%v: errors.Is(%v) = false", err, tt.also)
			}
		})
	}
}

// TestXLSXErrorCorruptCause: a sheet whose compressed data is damaged
// reports the zip's own error too, not only what the garbage parsed as.
func TestXLSXErrorCorruptCause(t *testing.T) {
	t.Parallel()
	path := corruptedFile("xl/worksheets/sheet1.xml", xlsxTestManyRows)(t)
	_, _, err := readXLSX(t, path, &schemas.Mapping{HeaderRow: 1})
	// How flate fails depends on where the damage is: bad data, a stream
	// that ends early, or data that inflates and fails the checksum.
	var flateErr flate.CorruptInputError
	if !errors.As(err, &flateErr) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, zip.ErrChecksum) {
		t.Errorf("error %v wraps no error of archive/zip or compress/flate", err)
	}
}

// TestXLSXErrorThroughReader: the Reader returns the source's error as
// is, from Next as from Open.
func TestXLSXErrorThroughReader(t *testing.T) {
	t.Parallel()
	m := mustMapping(t, testMapping)
	var rows strings.Builder
	for i := 2; i <= 6; i++ {
		rows.WriteString(`<row><c t="inlineStr"><is><t>张三</t></is></c><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>`)
	}
	hdr := `<row r="1"><c t="inlineStr"><is><t>姓名</t></is></c><c t="inlineStr"><is><t>身份证号</t></is></c><c t="inlineStr"><is><t>手机号</t></is></c><c t="inlineStr"><is><t>编号</t></is></c></row>`
	p := xlsxTestParts("", "")
	p["xl/worksheets/sheet1.xml"] = `<worksheet><sheetData>` + hdr + rows.String() + `<row><c t="inlineStr"><is><t>李四</t></is></c><c t="s"><v>1000</v></c>`
	path := writeZip(t, p)
	r, err := Open(path, m, Options{BatchRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		rec, nerr := r.Next(context.Background())
		if nerr != nil {
			err = nerr
			break
		}
		rec.Release()
	}
	if err == io.EOF {
		t.Fatal("no error")
	}
	var got *XLSXError
	if !errors.As(err, &got) || !errors.Is(err, ErrSharedString) {
		t.Fatalf("error %v (%T), want an *XLSXError wrapping ErrSharedString", err, err)
	}
	want := XLSXError{Path: path, Sheet: "数据", Part: "xl/worksheets/sheet1.xml", Row: 7, Column: 2, Header: "身份证号"}
	if diff := cmp.Diff(want, *got, cmpopts.IgnoreFields(XLSXError{}, "Err")); diff != "" {
		t.Errorf("position mismatch (-want +got):\n%s", diff)
	}
	if r.Rows() != 4 {
		t.Errorf("Rows() = %d before the error, want 4 (two whole batches)", r.Rows())
	}
}

func TestCheckPart(t *testing.T) {
	t.Parallel()
	malformed := kindf(ErrMalformedXML, `malformed tag "<q <x>"`)
	sticky := iotest.ErrReader(zip.ErrChecksum) // repeats its error, as archive/zip does
	tests := []struct {
		name     string
		r        io.Reader
		parseErr error
		want     string
		kinds    []error
	}{
		{"sound part", strings.NewReader("   "), malformed, `malformed tag "<q <x>"`, []error{ErrMalformedXML}},
		{"damage read as bad XML", io.MultiReader(strings.NewReader("  "), sticky), malformed,
			`damaged zip package: zip: checksum error (the damaged data read as: malformed tag "<q <x>")`, []error{ErrDamagedZip, zip.ErrChecksum}},
		{"the parser stopped at the damage", sticky, &kindError{kind: ErrMalformedXML, err: zip.ErrChecksum},
			`damaged zip package: zip: checksum error`, []error{ErrDamagedZip, zip.ErrChecksum}},
		{"damage already reported", sticky, damaged(zip.ErrChecksum), `damaged zip package: zip: checksum error`, []error{ErrDamagedZip}},
	}
	for _, tt := range tests {
		err := checkPart(tt.r, tt.parseErr)
		if err.Error() != tt.want {
			t.Errorf("%s: checkPart = %v, want %s", tt.name, err, tt.want)
		}
		for _, k := range tt.kinds {
			if !errors.Is(err, k) {
				t.Errorf("%s: errors.Is(%v, %v) = false", tt.name, err, k)
			}
		}
	}
}

func TestXLSXErrorText(t *testing.T) {
	t.Parallel()
	cause := kindf(ErrSharedString, `shared string "99" not in the table of 6`)
	tests := []struct {
		err      XLSXError
		want     string
		wantCell string
	}{
		{XLSXError{Path: "a.xlsx", Sheet: "数据", Part: "xl/worksheets/sheet1.xml", Row: 17, Column: 3, Header: "手机号", Err: cause},
			`a.xlsx: sheet "数据" (xl/worksheets/sheet1.xml): row 17, cell C17 (column "手机号"): shared string "99" not in the table of 6`, "C17"},
		{XLSXError{Path: "a.xlsx", Sheet: "数据", Part: "xl/worksheets/sheet1.xml", Row: 2, Column: 16384, Err: cause},
			`a.xlsx: sheet "数据" (xl/worksheets/sheet1.xml): row 2, cell XFD2: shared string "99" not in the table of 6`, "XFD2"},
		{XLSXError{Path: "a.xlsx", Sheet: "数据", Part: "xl/worksheets/sheet1.xml", Row: 2, Err: ErrBadCellRef},
			`a.xlsx: sheet "数据" (xl/worksheets/sheet1.xml): row 2: bad cell reference`, ""},
		{XLSXError{Path: "a.xlsx", Sheet: "数据", Part: "xl/worksheets/sheet1.xml", After: 9, Err: ErrTruncatedXML},
			`a.xlsx: sheet "数据" (xl/worksheets/sheet1.xml): after row 9: unexpected end of the XML`, ""},
		{XLSXError{Path: "a.xlsx", Part: "xl/sharedStrings.xml", Item: 5, Err: ErrTruncatedXML},
			`a.xlsx: xl/sharedStrings.xml: string item 5: unexpected end of the XML`, ""},
		{XLSXError{Path: "a.xlsx", Err: ErrNotXLSX}, `a.xlsx: not an XLSX (zip) package`, ""},
		{XLSXError{Row: 3, Column: 27, Err: ErrMalformedXML}, `row 3, cell AA3: malformed XML`, "AA3"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %s\nwant %s", got, tt.want)
		}
		if got := tt.err.Cell(); got != tt.wantCell {
			t.Errorf("%s: Cell() = %q, want %q", tt.want, got, tt.wantCell)
		}
	}
}

func TestXLSXColumnName(t *testing.T) {
	t.Parallel()
	got := map[int]string{}
	for _, col := range []int{1, 2, 26, 27, 52, 53, 702, 703, 16384} {
		got[col] = xlsxColumnName(col)
	}
	want := map[int]string{1: "A", 2: "B", 26: "Z", 27: "AA", 52: "AZ", 53: "BA", 702: "ZZ", 703: "AAA", 16384: "XFD"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("xlsxColumnName mismatch (-want +got):\n%s", diff)
	}
	// The inverse of xlsxColumn for every column.
	for col := 1; col <= xlsxMaxCols; col++ {
		if back, err := xlsxColumn([]byte(xlsxColumnName(col) + "1")); err != nil || back != col-1 {
			t.Fatalf("xlsxColumn(%s1) = %d, %v; want %d", xlsxColumnName(col), back, err, col-1)
		}
	}
}
