package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const addressMapping = testMapping + "  address: 地址\n"

// The addresses of testdata/multiline_*, as every reader must store them:
// a line break is LF whether the writer stored LF, CRLF, "&#13;" plus LF or
// "_x000D_" plus LF.
const (
	mlID    = "11010519491231002X"
	mlAddr1 = "北京市海淀区中关村大街1号\n3单元501室"
	mlAddr2 = "海南省三亚市\n天涯区"
	mlAddr3 = "海口市龙华路1号"
	mlAddr4 = "Flat 3, Block B\nKowloon, Hong Kong"
)

// TestMultilineCellsEveryWriter: an export with Alt+Enter line breaks in
// addresses, as Excel's CSV, LibreOffice's CSV, openpyxl and XlsxWriter
// write it, is read whole, every address the same; a CSV row is numbered by
// the line where it starts, so the rows after a multi-line one keep their
// real line numbers.
func TestMultilineCellsEveryWriter(t *testing.T) {
	t.Parallel()
	csvRows := []got{
		{Row: 2, Key: "A1", Name: "张三", ID: mlID, Phone: "13912349071", Address: mlAddr1},
		{Row: 4, Key: "A2", Name: "李四", ID: mlID, Address: mlAddr2},
		{Row: 6, Key: "A3", Name: "王五", ID: mlID, Phone: "13912349073", Address: mlAddr3},
		{Row: 7, Key: "A4", Name: "赵六", ID: mlID, Address: mlAddr4},
	}
	xlsxRows := []got{
		{Row: 2, Key: "A1", Name: "张三", ID: mlID, Phone: "13912349071", Address: mlAddr1},
		{Row: 3, Key: "A2", Name: "李四", ID: mlID, Address: mlAddr2},
		{Row: 4, Key: "A3", Name: "王五", ID: mlID, Phone: "13912349073", Address: mlAddr3},
		{Row: 5, Key: "A4", Name: "赵六", ID: mlID, Address: mlAddr4},
	}
	for _, tt := range []struct {
		file string
		want []got
	}{
		{"multiline_excel.csv", csvRows},
		{"multiline_libreoffice.csv", csvRows},
		{"multiline_openpyxl.xlsx", xlsxRows},
		{"multiline_xlsxwriter.xlsx", xlsxRows},
	} {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			gotRows, _ := readAll(t, filepath.Join("testdata", tt.file), mustMapping(t, addressMapping), Options{})
			if diff := cmp.Diff(tt.want, gotRows); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCSVTruncatedInQuotedField: a copy cut off inside a quoted field
// rejects that row as truncated, whatever the cut value looks like; the
// rows before it are read as usual. A cut between fields or right after a
// closing quote is no open quote.
func TestCSVTruncatedInQuotedField(t *testing.T) {
	t.Parallel()
	excel, err := os.ReadFile(filepath.Join("testdata", "multiline_excel.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lo, err := os.ReadFile(filepath.Join("testdata", "multiline_libreoffice.csv"))
	if err != nil {
		t.Fatal(err)
	}
	before := []got{
		{Row: 2, Key: "A1", Name: "张三", ID: mlID, Phone: "13912349071", Address: mlAddr1},
		{Row: 4, Key: "A2", Name: "李四", ID: mlID, Address: mlAddr2},
		{Row: 6, Key: "A3", Name: "王五", ID: mlID, Phone: "13912349073", Address: mlAddr3},
	}
	cut := func(b []byte, after string) []byte {
		i := bytes.LastIndex(b, []byte(after))
		if i < 0 {
			t.Fatalf("%q not in the fixture", after)
		}
		return b[:i+len(after)]
	}
	a4 := func(addr, defect string) []got {
		return append(before[:3:3], got{Row: 7, Key: "A4", Name: "赵六", ID: mlID, Address: addr, Defect: defect})
	}
	tests := []struct {
		name  string
		bytes []byte
		want  []got
	}{
		{"inside_the_second_line_of_a_cell", cut(excel, "Kow"), a4("Flat 3, Block B\nKow", "ROW_TRUNCATED")},
		{"right_after_a_line_break_in_a_cell", cut(excel, "Block B\n"), a4("Flat 3, Block B\n", "ROW_TRUNCATED")},
		{"right_after_the_opening_quote", cut(excel, `,,"`), a4("", "ROW_TRUNCATED")},
		{"one_line_cell_every_field_quoted", cut(lo, `"A3","王`), append(before[:2:2], got{Row: 6, Key: "A3", Name: "王", Defect: "ROW_TRUNCATED"})},
		{"after_the_closing_quote", cut(excel, `Hong Kong"`), a4(mlAddr4, "")},
		{"after_the_last_line_break", excel, a4(mlAddr4, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gotRows, _ := readAll(t, writeFile(t, "x.csv", tt.bytes), mustMapping(t, addressMapping), Options{})
			if diff := cmp.Diff(tt.want, gotRows); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCSVStrayQuoteSwallowsRecords: a value that starts with a quote, from
// an exporter that writes values as they are, opens a quoted field that runs
// over the ends of lines until some later quote closes it. The swallowed
// text holds a whole record's delimiters: that row is refused as
// ROW_MULTILINE, and the rows after it keep their line numbers. A quoted
// cell with a line break and fewer delimiters than a record has is an
// Alt+Enter, and is kept.
func TestCSVStrayQuoteSwallowsRecords(t *testing.T) {
	t.Parallel()
	const hdr = "编号,姓名,身份证号,手机号\r\n"
	const id = mlID
	tests := []struct {
		name string
		text string
		want []got
	}{
		// The next record quotes the same column: the merged record has
		// the right number of fields, and the swallowed record's
		// delimiters lie on both sides of the line break.
		{"closed_by_the_next_record_same_column",
			hdr + `A1,"张三"先生,` + id + ",139\r\nA2,\"李四\"," + id + ",138\r\nA3,王五," + id + ",137\r\n",
			[]got{
				{Row: 2, Key: "A1", Name: `张三"先生,` + id + ",139\nA2,\"李四", ID: id, Phone: "138", Defect: "ROW_MULTILINE"},
				{Row: 4, Key: "A3", Name: "王五", ID: id, Phone: "137"},
			}},
		{"two_records_swallowed",
			hdr + `A1,"张三"先生,` + id + ",139\nA2,李四," + id + ",138\nA3,\"王五\"," + id + ",137\nA4,赵六," + id + ",136\n",
			[]got{
				{Row: 2, Key: "A1", Name: `张三"先生,` + id + ",139\nA2,李四," + id + ",138\nA3,\"王五", ID: id, Phone: "137", Defect: "ROW_MULTILINE"},
				{Row: 5, Key: "A4", Name: "赵六", ID: id, Phone: "136"},
			}},
		{"never_closed_swallows_to_the_end",
			hdr + `A1,"张三"先生,` + id + ",139\nA2,李四," + id + ",138\n",
			[]got{{Row: 2, Key: "A1", Name: `张三"先生,` + id + ",139\nA2,李四," + id + ",138\n", Defect: "ROW_MULTILINE"}}},
		{"line_break_and_fewer_delimiters_than_a_record",
			hdr + "A1,\"张三,\n李,四\"," + id + ",139\r\nA2,李四," + id + ",138\r\n",
			[]got{
				{Row: 2, Key: "A1", Name: "张三,\n李,四", ID: id, Phone: "139"},
				{Row: 4, Key: "A2", Name: "李四", ID: id, Phone: "138"},
			}},
		{"line_break_and_a_record_of_delimiters",
			hdr + "A1,\"张三,\n李,四,五\"," + id + ",139\r\nA2,李四," + id + ",138\r\n",
			[]got{
				{Row: 2, Key: "A1", Name: "张三,\n李,四,五", ID: id, Phone: "139", Defect: "ROW_MULTILINE"},
				{Row: 4, Key: "A2", Name: "李四", ID: id, Phone: "138"},
			}},
		{"a_record_of_delimiters_and_a_line_break_in_another_cell",
			hdr + "\"A\n1\",\"张,三,李,四\"," + id + ",139\r\n",
			[]got{{Row: 2, Key: "A\n1", Name: "张,三,李,四", ID: id, Phone: "139"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gotRows, _ := readAll(t, writeFile(t, "x.csv", []byte(tt.text)), mustMapping(t, testMapping), Options{})
			if diff := cmp.Diff(tt.want, gotRows); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestXLSXLineBreaksAreLF: every way a sheet stores a line break in text
// (LF, "&#13;" or "_x000D_" before LF, a lone CR, CRLF in the XML itself)
// reads as LF, in shared, inline and formula strings alike.
func TestXLSXLineBreaksAreLF(t *testing.T) {
	t.Parallel()
	sst, err := readSharedStrings(bytes.NewReader([]byte(`<sst><si><t>a_x000D_
b</t></si><si><r><t>a&#13;</t></r><r><t>
b</t></r></si><si><t>a_x000D_b</t></si></sst>`)), 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	sheet := xlsxTestSheet(`<row r="1"><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="s"><v>2</v></c>` +
		`<c t="inlineStr"><is><t>a&#13;&#10;b</t></is></c><c t="inlineStr"><is><t>a&#xD;b</t></is></c><c t="inlineStr"><is><t>a` + "\r\n" + `b</t></is></c>` +
		`<c t="str"><f>A1</f><v>a_x000D_` + "\n" + `b</v></c><c t="str"><v>a_x000d_b</v></c></row>`)
	rows, err := scanAll(bytes.NewReader([]byte(sheet)), 1<<16, sst)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`1 ["a\nb" "a\nb" "a\nb" "a\nb" "a\nb" "a\nb" "a\nb" "a\nb"] [false false false false false false false false]`}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}
