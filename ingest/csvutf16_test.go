package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/schemas"
)

// unicodeTextMapping reads the UTF-16 exports below. The address is mapped
// to source_key so that the compared rows show it.
const unicodeTextMapping = `
department: {code: test, name: 测试厅}
priority: 1
columns:
  name: 姓名
  id_number: 证件号码
  phone: 手机号
  source_key: 地址
`

// excelUnicodeText is a sheet as Excel's "Unicode text" export lays it
// out: tab-separated, CRLF, fields with quotes or tabs in quotes.
const excelUnicodeText = "编号\t姓名\t证件号码\t手机号\t地址\r\n" +
	"A1\t张三\t11010519491231002X\t13912349071\t海南省海口市龙华区滨海大道1号\r\n" +
	"A2\t王𠮷\t440524188001010014\t\t\"海口市\"\"滨海\"\"大道, 2号\"\r\n"

// unicodeTextRows are the rows of excelUnicodeText and of the fixtures
// written from the same sheet.
var unicodeTextRows = []got{
	{Row: 2, Name: "张三", ID: "11010519491231002X", Phone: "13912349071", Key: "海南省海口市龙华区滨海大道1号"},
	{Row: 3, Name: "王𠮷", ID: "440524188001010014", Key: `海口市"滨海"大道, 2号`},
}

// utf16Bytes encodes s as UTF-16 in the given byte order with the
// standard library, independently of the x/text decoder the reader uses;
// bom prepends U+FEFF.
func utf16Bytes(s string, order binary.AppendByteOrder, bom bool) []byte {
	if bom {
		s = "\uFEFF" + s
	}
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = order.AppendUint16(b, u)
	}
	return b
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUTF16Text(t *testing.T) {
	t.Parallel()
	// PowerShell's Export-Csv -Encoding Unicode: UTF-16LE with commas and
	// every field quoted.
	powershell := `"编号","姓名","证件号码","手机号","地址"` + "\r\n" +
		`"A1","张三","11010519491231002X","13912349071","海南省海口市龙华区滨海大道1号"` + "\r\n" +
		`"A2","王𠮷","440524188001010014","","海口市""滨海""大道, 2号"` + "\r\n"
	tests := []struct {
		name     string
		bytes    []byte
		encoding string
		wantEnc  schemas.Encoding
	}{
		{"excel_unicode_text", utf16Bytes(excelUnicodeText, binary.LittleEndian, true), "", schemas.EncodingUTF16LE},
		{"libreoffice_unicode_text", fixture(t, "unicode_text_libreoffice.txt"), "", schemas.EncodingUTF16LE},
		{"big_endian", fixture(t, "unicode_text_be.txt"), "", schemas.EncodingUTF16BE},
		{"big_endian_generated", utf16Bytes(excelUnicodeText, binary.BigEndian, true), "", schemas.EncodingUTF16BE},
		{"declared_utf16_with_bom", utf16Bytes(excelUnicodeText, binary.LittleEndian, true), "encoding: utf-16\n", schemas.EncodingUTF16LE},
		{"declared_utf16_be_bom", utf16Bytes(excelUnicodeText, binary.BigEndian, true), "encoding: utf-16\n", schemas.EncodingUTF16BE},
		{"declared_utf16le_with_bom", utf16Bytes(excelUnicodeText, binary.LittleEndian, true), "encoding: utf-16le\n", schemas.EncodingUTF16LE},
		{"declared_utf16_without_bom", utf16Bytes(excelUnicodeText, binary.LittleEndian, false), "encoding: utf-16\n", schemas.EncodingUTF16LE},
		{"declared_utf16le_without_bom", utf16Bytes(excelUnicodeText, binary.LittleEndian, false), "encoding: utf-16le\n", schemas.EncodingUTF16LE},
		{"declared_utf16be_without_bom", utf16Bytes(excelUnicodeText, binary.BigEndian, false), "encoding: utf-16be\n", schemas.EncodingUTF16BE},
		{"powershell_comma_separated", utf16Bytes(powershell, binary.LittleEndian, true), "", schemas.EncodingUTF16LE},
		{"declared_tab", utf16Bytes(excelUnicodeText, binary.LittleEndian, true), "delimiter: \"\\t\"\n", schemas.EncodingUTF16LE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := mustMapping(t, unicodeTextMapping+tt.encoding)
			gotRows, f := readAll(t, writeFile(t, "dept.txt", tt.bytes), m, Options{})
			if diff := cmp.Diff(unicodeTextRows, gotRows); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
			if f.Encoding != tt.wantEnc || f.Format != schemas.FormatCSV {
				t.Errorf("format, encoding = %s, %s; want csv, %s", f.Format, f.Encoding, tt.wantEnc)
			}
		})
	}
}

// TestUTF16DeclaredDelimiterWins: a delimiter the mapping sets is used
// even where the header line suggests another.
func TestUTF16DeclaredDelimiterWins(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "dept.txt", utf16Bytes(excelUnicodeText, binary.LittleEndian, true))
	_, err := Open(p, mustMapping(t, unicodeTextMapping+"delimiter: \",\"\n"), Options{})
	if !strings.Contains(err.Error(), `"姓名" (name) not found in header`) {
		t.Fatalf("Open() error = %v, want the tab-separated header unmatched", err)
	}
}

func TestUTF16Undecodable(t *testing.T) {
	t.Parallel()
	b := utf16Bytes("编号\t姓名\t证件号码\t手机号\t地址\r\nA1\t王", binary.LittleEndian, true)
	b = binary.LittleEndian.AppendUint16(b, 0xD842) // a high surrogate without its low half
	b = append(b, utf16Bytes("\t11010519491231002X\t\t海口\r\nA2\t李四\t440524188001010014\t\t海", binary.LittleEndian, false)...)
	b = append(b, 0x77) // half a code unit: the file was cut
	gotRows, _ := readAll(t, writeFile(t, "dept.txt", b), mustMapping(t, unicodeTextMapping), Options{})
	want := []got{
		{Row: 2, Name: "王\uFFFD", ID: "11010519491231002X", Key: "海口", Defect: "FIELD_UNDECODABLE", DefectField: "name"},
		{Row: 3, Name: "李四", ID: "440524188001010014", Key: "海\uFFFD", Defect: "FIELD_UNDECODABLE", DefectField: "source_key"},
	}
	if diff := cmp.Diff(want, gotRows); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}

// TestUTF16EncodingConflict: a mapping whose encoding the byte order mark
// contradicts is an error naming both.
func TestUTF16EncodingConflict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, encoding string
		bytes          []byte
		want           []string
	}{
		{"gbk_but_utf16le", "gbk", utf16Bytes(excelUnicodeText, binary.LittleEndian, true), []string{"encoding gbk", "UTF-16LE byte order mark"}},
		{"utf8_but_utf16be", "utf-8", utf16Bytes(excelUnicodeText, binary.BigEndian, true), []string{"encoding utf-8", "UTF-16BE byte order mark"}},
		{"utf16be_but_utf16le", "utf-16be", utf16Bytes(excelUnicodeText, binary.LittleEndian, true), []string{"encoding utf-16be", "UTF-16LE byte order mark"}},
		{"utf16_but_utf8", "utf-16", append([]byte("\uFEFF"), excelUnicodeText...), []string{"encoding utf-16", "UTF-8 byte order mark"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := writeFile(t, "dept.txt", tt.bytes)
			_, err := Open(p, mustMapping(t, unicodeTextMapping+"encoding: "+tt.encoding+"\n"), Options{})
			if err == nil {
				t.Fatal("Open() succeeded")
			}
			for _, w := range append(tt.want, p, "test.yaml") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestSniffDelimiter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		headerRow  int
		want       byte
	}{
		{"tabs", "姓名\t证件号码\r\n", 1, '\t'},
		{"commas", "姓名,证件号码\r\n", 1, ','},
		{"single_column", "姓名\r\n", 1, ','},
		{"commas_inside_a_tabbed_header", "姓名\t\"证件,号码,类型\"\r\n", 1, '\t'},
		{"tabs_inside_a_comma_header", "\"证件\t号码\t类型\",姓名\n", 1, ','},
		{"header_below_a_title", "用户导出, 2024\r\n姓名\t证件号码\r\n", 2, '\t'},
		{"header_row_beyond_the_text", "姓名\t证件号码", 3, '\t'},
		{"empty", "", 1, ','},
	}
	for _, tt := range tests {
		if got := sniffDelimiter(tt.text, tt.headerRow); got != tt.want {
			t.Errorf("%s: sniffDelimiter() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// FuzzUTF16Reader: any bytes read as UTF-16 give rows or an error naming
// the file, never a panic; row numbers stay within the file's lines and
// values are valid UTF-8.
func FuzzUTF16Reader(f *testing.F) {
	f.Add(utf16Bytes(excelUnicodeText, binary.LittleEndian, true))
	f.Add(utf16Bytes(excelUnicodeText, binary.BigEndian, true))
	f.Add(utf16Bytes(excelUnicodeText, binary.LittleEndian, false))
	f.Add(append(utf16Bytes("编号\t姓名\t证件号码\r\nA1\t王", binary.LittleEndian, true), 0x42, 0xD8, 0x09))
	m := mustMapping(f, unicodeTextMapping+"encoding: utf-16\n")
	f.Fuzz(func(t *testing.T, b []byte) {
		p := writeFile(t, "f.txt", b)
		var order binary.ByteOrder = binary.LittleEndian
		if bytes.HasPrefix(b, bomUTF16BE) {
			order = binary.BigEndian
		}
		lines := int64(1)
		for i := 0; i+1 < len(b); i += 2 {
			if order.Uint16(b[i:]) == '\n' {
				lines++
			}
		}
		r, err := Open(p, m, Options{BatchRows: 3})
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		defer r.Close()
		for {
			rec, err := r.Next(context.Background())
			if err == io.EOF {
				return
			}
			if err != nil {
				if !strings.Contains(err.Error(), p) {
					t.Fatalf("error %q does not name the file", err)
				}
				return
			}
			for _, g := range rows(rec) {
				if g.Row < 2 || g.Row > lines {
					t.Fatalf("row %d out of range [2, %d]", g.Row, lines)
				}
				for _, v := range []string{g.Name, g.ID, g.Phone, g.Key} {
					if !utf8Valid(v) {
						t.Fatalf("invalid UTF-8 %q in a record", v)
					}
				}
			}
			rec.Release()
		}
	})
}
