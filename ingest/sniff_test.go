package ingest

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/schemas"
)

// sniffTable is the sheet the binary test files below hold, in the
// columns of testMapping.
var sniffTable = [][]string{
	{"编号", "姓名", "身份证号", "手机号"},
	{"A1", "张三", "11010519491231002X", "13912349071"},
	{"A2", "王𠮷", "440524188001010014", ""},
}

var sniffRows = []got{
	{Row: 2, Name: "张三", ID: "11010519491231002X", Phone: "13912349071", Key: "A1"},
	{Row: 3, Name: "王𠮷", ID: "440524188001010014", Key: "A2"},
}

// xlsxBytes is sniffTable as excelize writes a workbook.
func xlsxBytes(t testing.TB) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for r, row := range sniffTable {
		if err := f.SetSheetRow("Sheet1", "A"+string(rune('1'+r)), &row); err != nil {
			t.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sniffRecord() arrow.Record {
	var fields []arrow.Field
	for _, h := range sniffTable[0] {
		fields = append(fields, arrow.Field{Name: h, Type: arrow.BinaryTypes.String})
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for _, row := range sniffTable[1:] {
		for j, v := range row {
			b.Field(j).(*array.StringBuilder).Append(v)
		}
	}
	return b.NewRecord()
}

// parquetBytes is sniffTable written by pqarrow.
func parquetBytes(t testing.TB) []byte {
	t.Helper()
	rec := sniffRecord()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// arrowBytes is sniffTable as an Arrow IPC file, or with stream an IPC
// stream.
func arrowBytes(t testing.TB, stream bool) []byte {
	t.Helper()
	rec := sniffRecord()
	defer rec.Release()
	f, err := os.Create(filepath.Join(t.TempDir(), "table.arrow")) // the file writer seeks
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w interface {
		Write(arrow.Record) error
		Close() error
	}
	if stream {
		w = ipc.NewWriter(f, ipc.WithSchema(rec.Schema()))
	} else {
		fw, err := ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema()))
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xlsHeader is the start of the compound file header of a .xls written by
// LibreOffice (soffice --convert-to xls).
func xlsHeader(t testing.TB) []byte {
	t.Helper()
	b, err := hex.DecodeString("d0cf11e0a1b11ae1000000000000000000000000000000003b000300feff0900" +
		"06000000000000000000000001000000090000000000000000100000020000000100000" + "0feffffff0000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, make([]byte, 512-len(b))...)
}

// odsBytes is a zip laid out the way OpenDocument writers lay it out: an
// uncompressed "mimetype" entry first.
func odsBytes(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	w, err := z.CreateHeader(&zip.FileHeader{Name: "mimetype", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("application/vnd.oasis.opendocument.spreadsheet"))
	if w, err = z.Create("content.xml"); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("<office:document-content/>"))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write([]byte(s))
	z.Close()
	return buf.Bytes()
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestSniffContent(t *testing.T) {
	t.Parallel()
	csv := "编号,姓名,身份证号,手机号\r\nA1,张三,11010519491231002X,13912349071\r\n"
	tests := []struct {
		name     string
		head     []byte
		declared schemas.Encoding
		want     schemas.Format
		what     string // in content.what
	}{
		{"xlsx_excelize", xlsxBytes(t), "", schemas.FormatXLSX, "XLSX workbook (ZIP)"},
		{"xls_libreoffice", xlsHeader(t), "", schemas.FormatXLS, "OLE compound file"},
		{"parquet_pqarrow", parquetBytes(t), "", schemas.FormatParquet, "Parquet"},
		{"arrow_file", arrowBytes(t, false), "", schemas.FormatArrow, "Arrow IPC file"},
		{"utf8_text", []byte(csv), "", schemas.FormatCSV, "text"},
		{"utf8_bom", append([]byte("\uFEFF"), csv...), "", schemas.FormatCSV, "UTF-8 text"},
		{"gbk_text", gbk(t, csv), "", schemas.FormatCSV, "text"},
		{"utf16le_libreoffice", fixture(t, "unicode_text_libreoffice.txt"), "", schemas.FormatCSV, "UTF-16LE text"},
		{"utf16be_iconv", fixture(t, "unicode_text_be.txt"), "", schemas.FormatCSV, "UTF-16BE text"},
		{"utf16le_without_bom_declared", utf16Bytes(csv, binary.LittleEndian, false), schemas.EncodingUTF16LE, schemas.FormatCSV, "UTF-16 text"},
		{"empty", nil, "", schemas.FormatCSV, "text"},
		{"text_with_a_stray_control_byte", []byte(strings.Replace(csv, "张三", "张\x01三", 1)), "", schemas.FormatCSV, "text"},
		{"utf16le_without_bom", utf16Bytes(csv, binary.LittleEndian, false), "", "", "UTF-16 text without a byte order mark"},
		{"utf16be_without_bom", utf16Bytes(csv, binary.BigEndian, false), "", "", "UTF-16 text without a byte order mark"},
		{"arrow_stream", arrowBytes(t, true), "", "", "Arrow IPC stream"},
		{"ods", odsBytes(t), "", "", "OpenDocument"},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), "", "", "PDF document"},
		{"gzip", gzipBytes(t, csv), "", "", "gzip archive"},
		{"text_with_stray_nul_bytes", []byte(strings.Repeat("A1,张三,11010519491231002X,13912349071\r\n", 20) + "A2,李\x00四\x00,,\r\n"), "", schemas.FormatCSV, "text"},
		{"dos_end_of_file_mark", []byte("编号,姓名\r\n\x1A"), "", schemas.FormatCSV, "text"},
		{"header_cell_in_angle_brackets", []byte("<姓名>,身份证号\r\n"), "", schemas.FormatCSV, "text"},
		{"sqlite_database", append([]byte("SQLite format 3\x00\x10\x00\x01\x01"), make([]byte, 200)...), "", "", "binary data of an unknown kind"},
		{"html_doctype", []byte("<!DOCTYPE html>\n<html><body><table>"), "", "", "HTML or XML"},
		{"html_export", []byte("\r\n<html xmlns:o=\"urn:schemas-microsoft-com:office:office\">\r\n<table><tr><td>姓名</td></tr></table>"), "", "", "HTML or XML"},
		{"spreadsheetml_2003", []byte("<?xml version=\"1.0\"?>\n<Workbook xmlns=\"urn:schemas-microsoft-com:office:spreadsheet\">"), "", "", "HTML or XML"},
		{"random_binary", randomBytes(headBytes), "", "", "binary data of an unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := sniffContent(tt.head[:min(len(tt.head), headBytes)], tt.declared)
			if got.format != tt.want || !strings.Contains(got.what, tt.what) {
				t.Errorf("sniffContent() = %q, %q; want %q, %q", got.format, got.what, tt.want, tt.what)
			}
		})
	}
}

// TestOpenByContent: the content decides the reader, whatever the name.
func TestOpenByContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		bytes      []byte
		want       schemas.Format
	}{
		{"xlsx_named_csv", "users.csv", xlsxBytes(t), schemas.FormatXLSX},
		{"xlsx_without_extension", "users", xlsxBytes(t), schemas.FormatXLSX},
		{"parquet_named_csv", "users.csv", parquetBytes(t), schemas.FormatParquet},
		{"arrow_named_dat", "users.dat", arrowBytes(t, false), schemas.FormatArrow},
		{"text_named_dat", "users.dat", []byte(strings.Join([]string{"编号,姓名,身份证号,手机号", "A1,张三,11010519491231002X,13912349071", "A2,王𠮷,440524188001010014,", ""}, "\r\n")), schemas.FormatCSV},
		{"text_without_extension", "users", []byte("编号,姓名,身份证号,手机号\nA1,张三,11010519491231002X,13912349071\nA2,王𠮷,440524188001010014,\n"), schemas.FormatCSV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gotRows, f := readAll(t, writeFile(t, tt.file, tt.bytes), mustMapping(t, testMapping), Options{})
			if diff := cmp.Diff(sniffRows, gotRows); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
			if sum := sha256.Sum256(tt.bytes); f.Format != tt.want || f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(tt.bytes)) {
				t.Errorf("format, sha256, size = %s, %s, %d; want %s, %x, %d", f.Format, f.SHA256, f.Size, tt.want, sum, len(tt.bytes))
			}
		})
	}
}

// TestOpenRefusesByContent: content no reader reads, or that contradicts
// what the mapping, the caller or the name says, is a FormatError naming
// the file and both formats.
func TestOpenRefusesByContent(t *testing.T) {
	t.Parallel()
	csv := []byte("编号,姓名,身份证号,手机号\nA1,张三,11010519491231002X,139\n")
	tests := []struct {
		name, file, extra string
		opts              Options
		bytes             []byte
		want              FormatError
		says              []string
	}{
		{"mapping_csv_content_xlsx", "x.csv", "format: csv\n", Options{}, xlsxBytes(t),
			FormatError{Content: schemas.FormatXLSX, What: "an XLSX workbook (ZIP)", Said: schemas.FormatCSV, By: SaidByMapping},
			[]string{"the mapping test.yaml says csv but the content is an XLSX workbook (ZIP)"}},
		{"mapping_xlsx_content_text", "x.xlsx", "format: xlsx\n", Options{}, csv,
			FormatError{Content: schemas.FormatCSV, What: "text", Said: schemas.FormatXLSX, By: SaidByMapping},
			[]string{"the mapping test.yaml says xlsx but the content is text"}},
		{"mapping_parquet_content_arrow", "x.parquet", "format: parquet\n", Options{}, arrowBytes(t, false),
			FormatError{Content: schemas.FormatArrow, What: "an Arrow IPC file", Said: schemas.FormatParquet, By: SaidByMapping},
			[]string{"says parquet but the content is an Arrow IPC file"}},
		{"option_xlsx_content_parquet", "x.xlsx", "", Options{Format: schemas.FormatXLSX}, parquetBytes(t),
			FormatError{Content: schemas.FormatParquet, What: "a Parquet file", Said: schemas.FormatXLSX, By: SaidByOption},
			[]string{"the format option says xlsx but the content is a Parquet file"}},
		{"name_xlsx_content_text", "x.xlsx", "", Options{}, csv,
			FormatError{Content: schemas.FormatCSV, What: "text", Said: schemas.FormatXLSX, By: SaidByName},
			[]string{"the name says xlsx but the content is text", "set format: csv"}},
		{"pdf_named_csv", "x.csv", "", Options{}, []byte("%PDF-1.4\n"),
			FormatError{What: "a PDF document"},
			[]string{"cannot read this file: the content is a PDF document"}},
		{"unknown_binary", "x.csv", "", Options{}, randomBytes(1000),
			FormatError{What: "binary data of an unknown kind (it starts 86 AD 05 DC 98 7F 80 62)"},
			[]string{"cannot read this file", "binary data of an unknown kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := writeFile(t, tt.file, tt.bytes)
			_, err := Open(p, mustMapping(t, testMapping+tt.extra), tt.opts)
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) {
				t.Fatalf("Open() error = %v, want a FormatError", err)
			}
			tt.want.Path, tt.want.Mapping = p, "test.yaml"
			if diff := cmp.Diff(&tt.want, fe); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			for _, s := range append(tt.says, p) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// TestOpenFormatAgrees: a mapping or an option that says what the content
// is, is not refused, whatever the name.
func TestOpenFormatAgrees(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "users.xls", []byte("编号,姓名,身份证号,手机号\nA1,张三,11010519491231002X,13912349071\nA2,王𠮷,440524188001010014,\n"))
	gotRows, f := readAll(t, p, mustMapping(t, testMapping+"format: csv\n"), Options{})
	if diff := cmp.Diff(sniffRows, gotRows); diff != "" || f.Format != schemas.FormatCSV {
		t.Errorf("format %s, rows mismatch (-want +got):\n%s", f.Format, diff)
	}
	p = writeFile(t, "users.csv", xlsxBytes(t))
	gotRows, f = readAll(t, p, mustMapping(t, testMapping+"format: xlsx\n"), Options{Format: schemas.FormatXLSX})
	if diff := cmp.Diff(sniffRows, gotRows); diff != "" || f.Format != schemas.FormatXLSX {
		t.Errorf("format %s, rows mismatch (-want +got):\n%s", f.Format, diff)
	}
}
