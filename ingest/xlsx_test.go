package ingest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/schemas"
)

// xlsxRow is a rawRow copied out of the source (cells are only valid until
// the next call).
type xlsxRow struct {
	Num     int64
	Cells   []string
	Numeric []bool
}

// readXLSX reads a whole file through newXLSXSource and checks progress.
func readXLSX(t testing.TB, path string, m *schemas.Mapping) ([]string, []xlsxRow, error) {
	t.Helper()
	src, err := newXLSXSource(path, m)
	if err != nil {
		return nil, nil, err
	}
	defer src.close()
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

// styled is a cell value with a number format, for the test workbooks.
type styled struct {
	v      any
	numFmt int
	custom string
}

// xlsxSheet is a sheet of a test workbook: row number → values from column
// A; nil values leave the cell out.
type xlsxSheet struct {
	name string
	rows map[int][]any
}

// writeXLSX writes sheets with excelize: with SetCellValue (shared
// strings) or with a StreamWriter (inline strings).
func writeXLSX(t testing.TB, stream bool, sheets ...xlsxSheet) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	styles := map[styled]int{}
	style := func(s styled) int {
		key := styled{numFmt: s.numFmt, custom: s.custom}
		if id, ok := styles[key]; ok {
			return id
		}
		st := &excelize.Style{NumFmt: s.numFmt}
		if s.custom != "" {
			st.CustomNumFmt = &s.custom
		}
		id, err := f.NewStyle(st)
		if err != nil {
			t.Fatal(err)
		}
		styles[key] = id
		return id
	}
	for i, sh := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", sh.name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(sh.name); err != nil {
			t.Fatal(err)
		}
		maxRow := 0
		for r := range sh.rows {
			maxRow = max(maxRow, r)
		}
		var sw *excelize.StreamWriter
		if stream {
			var err error
			if sw, err = f.NewStreamWriter(sh.name); err != nil {
				t.Fatal(err)
			}
		}
		for r := 1; r <= maxRow; r++ {
			vals, ok := sh.rows[r]
			if !ok {
				continue
			}
			if stream {
				row := make([]any, len(vals))
				for c, v := range vals {
					if s, ok := v.(styled); ok {
						v = excelize.Cell{StyleID: style(s), Value: s.v}
					}
					row[c] = v
				}
				if err := sw.SetRow(fmt.Sprintf("A%d", r), row); err != nil {
					t.Fatal(err)
				}
				continue
			}
			for c, v := range vals {
				if v == nil {
					continue
				}
				cell, _ := excelize.CoordinatesToCellName(c+1, r)
				var err error
				switch v := v.(type) {
				case styled:
					if err = f.SetCellValue(sh.name, cell, v.v); err == nil {
						err = f.SetCellStyle(sh.name, cell, cell, style(v))
					}
				case []excelize.RichTextRun:
					err = f.SetCellRichText(sh.name, cell, v)
				default:
					err = f.SetCellValue(sh.name, cell, v)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if stream {
			if err := sw.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "export.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestXLSXSource(t *testing.T) {
	t.Parallel()
	birth := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	updated := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name       string
		sheets     []xlsxSheet
		sheet      string // mapping.Sheet
		headerRow  int
		wantHeader []string
		wantRows   []xlsxRow
	}{
		{
			name: "text ids numbers dates",
			sheets: []xlsxSheet{{name: "Sheet1", rows: map[int][]any{
				1: {"姓名", "身份证号", "手机", "出生日期", "更新时间", "启用"},
				2: {"张三", "460102199001011011", int64(13912345678), styled{v: birth, numFmt: 14}, styled{v: updated, numFmt: 22}, true},
				3: {"李四", int64(460102199001011011), float64(13912345678), styled{v: 33239.0, custom: `yyyy"年"m"月"d"日"`}, styled{v: 45000.5, custom: "yyyy/m/d h:mm"}, false},
				4: {"王五", 4.60102199001011011e17, 1.5, styled{v: 12.5, numFmt: 2}, styled{v: 45000.0, numFmt: 57}, "否"},
			}}},
			wantHeader: []string{"姓名", "身份证号", "手机", "出生日期", "更新时间", "启用"},
			wantRows: []xlsxRow{
				{2, []string{"张三", "460102199001011011", "13912345678", "1990-01-01", "2023-05-06 07:08:09", "TRUE"}, []bool{false, false, true, false, false, false}},
				{3, []string{"李四", "460102199001011011", "13912345678", "1991-01-01", "2023-03-15 12:00:00", "FALSE"}, []bool{false, true, true, false, false, false}},
				// A float ID keeps Excel's 15 significant digits: "…000".
				{4, []string{"王五", "460102199001011000", "1.5", "12.5", "2023-03-15", "否"}, []bool{false, true, true, true, false, false}},
			},
		},
		{
			name: "header below a title, sparse and empty rows",
			sheets: []xlsxSheet{{name: "Sheet1", rows: map[int][]any{
				1: {"某某局用户导出 2024"},
				3: {" 姓名 ", "证件号码", "电话", "地址", nil, "  "},
				4: {""},
				5: {"孙七", nil, nil, "海口市"},
				6: {nil, nil, "13800000000"},
				7: {nil, ""},
				9: {"周八"},
			}}},
			headerRow:  3,
			wantHeader: []string{"姓名", "证件号码", "电话", "地址"},
			wantRows: []xlsxRow{
				{5, []string{"孙七", "", "", "海口市"}, []bool{false, false, false, false}},
				{6, []string{"", "", "13800000000", ""}, []bool{false, false, false, false}},
				{9, []string{"周八", "", "", ""}, []bool{false, false, false, false}},
			},
		},
		{
			name: "named sheet",
			sheets: []xlsxSheet{
				{name: "说明", rows: map[int][]any{1: {"这一页不是数据"}}},
				{name: "户籍", rows: map[int][]any{1: {"姓名", "身份证号"}, 2: {"吴九", "11010519491231002X"}}},
			},
			sheet:      "户籍",
			wantHeader: []string{"姓名", "身份证号"},
			wantRows:   []xlsxRow{{2, []string{"吴九", "11010519491231002X"}, []bool{false, false}}},
		},
		{
			name: "sheet name matched case-insensitively",
			sheets: []xlsxSheet{
				{name: "Notes", rows: map[int][]any{1: {"x"}}},
				{name: "Users", rows: map[int][]any{1: {"name"}, 2: {"a"}}},
			},
			sheet:      "users",
			wantHeader: []string{"name"},
			wantRows:   []xlsxRow{{2, []string{"a"}, []bool{false}}},
		},
		{
			name: "rows wider than the header",
			sheets: []xlsxSheet{{name: "Sheet1", rows: map[int][]any{
				1: {"a", "b", "c"},
				2: {"1", "2", "3", nil, "extra"},
				3: {"1", nil, nil, "", ""},
				4: {nil, nil, nil, nil, "only extra"},
			}}},
			wantHeader: []string{"a", "b", "c"},
			wantRows: []xlsxRow{
				{2, []string{"1", "2", "3", "", "extra"}, []bool{false, false, false, false, false}},
				{3, []string{"1", "", ""}, []bool{false, false, false}},
				{4, []string{"", "", "", "", "only extra"}, []bool{false, false, false, false, false}},
			},
		},
		{
			name: "entities whitespace and escapes",
			sheets: []xlsxSheet{{name: "Sheet1", rows: map[int][]any{
				1: {"a&b", "<c>", `"d"`, "e'", "f", "g", "h"},
				// Not "_x0041_": excelize writes it unescaped to shared strings,
				// where Excel (and excelize) then read "A".
				2: {`Tom & "Jerry" <tj>`, "  two spaces  ", "line1\nline2", "tab\there", "_x literal_", "😀 𠮷", "'0123"},
				3: {[]excelize.RichTextRun{{Text: "欧阳"}, {Text: "娜娜", Font: &excelize.Font{Bold: true}}}},
			}}},
			wantHeader: []string{"a&b", "<c>", `"d"`, "e'", "f", "g", "h"},
			wantRows: []xlsxRow{
				{2, []string{`Tom & "Jerry" <tj>`, "  two spaces  ", "line1\nline2", "tab\there", "_x literal_", "😀 𠮷", "'0123"}, make([]bool, 7)},
				{3, []string{"欧阳娜娜", "", "", "", "", "", ""}, make([]bool, 7)},
			},
		},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name + "/shared strings"
			if stream {
				name = tt.name + "/inline strings"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				path := writeXLSX(t, stream, tt.sheets...)
				hdr, rows, err := readXLSX(t, path, &schemas.Mapping{Sheet: tt.sheet, HeaderRow: tt.headerRow})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.wantHeader, hdr); diff != "" {
					t.Errorf("header mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.wantRows, rows); diff != "" {
					t.Errorf("rows mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// Hand-written package parts, for what excelize does not write.
const (
	xlsxTestContentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>`
	xlsxTestRootRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`
	xlsxTestWorkbookRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet2.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
<Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet" Target="chartsheets/sheet1.xml"/>
</Relationships>`
	xlsxTestStyles = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot; h:mm"/><numFmt numFmtId="165" formatCode="0.00&quot;d&quot;"/></numFmts>
<cellXfs count="6"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="164"/><xf numFmtId="57"/><xf numFmtId="165"/><xf numFmtId="49"/></cellXfs>
</styleSheet>`
	xlsxTestSST = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="6" uniqueCount="6">
<si><t>姓名</t></si><si><t>身份证号</t></si>
<si><r><t>出生</t></r><r><rPr><sz val="11"/><rFont val="宋体"/></rPr><t>日期</t></r><rPh sb="0" eb="2"><t>shengri</t></rPh><phoneticPr fontId="1"/></si>
<si><t xml:space="preserve">Tom &amp; Jerry </t></si>
<si><t>a_x000D_b_x005F_x0041__xD83D__xDE00_</t></si>
<si/>
</sst>`
)

func xlsxTestWorkbook(pr string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` + pr + `
<sheets><sheet name="图表" sheetId="3" r:id="rId5"/><sheet name="数据" sheetId="1" r:id="rId1"/><sheet name="Prefixed" sheetId="2" r:id="rId2"/></sheets></workbook>`
}

func xlsxTestSheet(rows string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><dimension ref="A1:G9"/><sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>
<sheetData>
` + rows + `
</sheetData><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells><pageMargins left="0.7"/></worksheet>`
}

// writeZip writes a package from its parts, in a stable order.
func writeZip(t testing.TB, parts map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"} {
		body, ok := parts[name]
		if !ok {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "hand.xlsx")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// xlsxTestParts is a complete hand-written package with the given sheet
// rows and workbookPr.
func xlsxTestParts(rows, pr string) map[string]string {
	return map[string]string{
		"[Content_Types].xml":        xlsxTestContentTypes,
		"_rels/.rels":                xlsxTestRootRels,
		"xl/workbook.xml":            xlsxTestWorkbook(pr),
		"xl/_rels/workbook.xml.rels": xlsxTestWorkbookRels,
		"xl/styles.xml":              xlsxTestStyles,
		"xl/sharedStrings.xml":       xlsxTestSST,
		"xl/worksheets/sheet1.xml":   xlsxTestSheet(rows),
		"xl/worksheets/sheet2.xml": `<?xml version="1.0" encoding="UTF-8"?>
<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>
<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>ID</x:t></x:is></x:c><x:c r="B1" t="s"><x:v>0</x:v></x:c></x:row>
<x:row r="2"><x:c r="A2"><x:v>110105194912310021</x:v></x:c><x:c r="B2" t="s"><x:v>3</x:v></x:c></x:row>
</x:sheetData></x:worksheet>`,
	}
}

// xlsxTestRows exercise what excelize does not write: cells and rows without
// r, rich text runs, formulas, CDATA, comments, escapes, date edge cases.
const xlsxTestRows = `<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="inlineStr"><is><t>手机</t></is></c><c t="s"><v>2</v></c><c t="inlineStr"><is><t xml:space="preserve"> 备注 </t></is></c></row>
<row><c t="inlineStr"><is><r><rPr><b/></rPr><t>欧阳</t></r><r><t>娜娜</t></r><rPh sb="0" eb="2"><t>ouyang</t></rPh></is></c><c><v>4.6010219900101101E+17</v></c><c t="n"><v>13912345678.0</v></c><c s="1"><v>32874</v></c><c t="str"><f>A2&amp;"x"</f><v>a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#20013;&#x6587;</v></c></row>
<row r="5" spans="1:5" x14ac:dyDescent="0.25"><c r="A5" t="s"><v>3</v></c><c r="C5" s="1"/><c t="b"><v>1</v></c><c r="E5" t="e"><v>#N/A</v></c></row>
<row r="6"><c r="A6" s="2"><v>45000.5</v></c><c r="B6" s="3"><v>33239</v></c><c r="C6" s="4"><v>12</v></c><c r="D6" t="d"><v>2023-04-05T06:07:08Z</v></c><c r="E6" s="5"><v>110105194912310021</v></c></row>
<row r="7"><!-- a comment --><c r="A7"><v></v></c><c r="B7" t="s"/><c r="C7"><f>1+1</f></c><?pi x?></row>
<row r="8"><c r="A8" t="inlineStr"><is><t><![CDATA[x<y & z]]></t></is></c><c r="B8" t="s"><v>4</v></c><c r="C8" t="s"><v>5</v></c><c r="G8"><v>7</v></c></row>
<row r="9"><c r="A9" s="1"><v>60</v></c><c r="B9" s="1"><v>59</v></c><c r="C9" s="1"><v>61</v></c><c r="D9" s="1"><v>-1</v></c><c r="E9" s="1"><v>0.25</v></c></row>
<row r="10"/>`

func TestXLSXSourceHandWritten(t *testing.T) {
	t.Parallel()
	f5 := []bool{false, false, false, false, false}
	tests := []struct {
		name       string
		parts      map[string]string
		sheet      string
		wantHeader []string
		wantRows   []xlsxRow
	}{
		{
			name:       "first worksheet, not the chart sheet",
			parts:      xlsxTestParts(xlsxTestRows, ""),
			wantHeader: []string{"姓名", "身份证号", "手机", "出生日期", "备注"},
			wantRows: []xlsxRow{
				{2, []string{"欧阳娜娜", "4.6010219900101101E+17", "13912345678", "1990-01-01", `a&b <c> "d" 'e' 中文`}, []bool{false, true, true, false, false}},
				{5, []string{"Tom & Jerry ", "", "", "TRUE", "#N/A"}, f5},
				{6, []string{"2023-03-15 12:00:00", "1991-01-01", "12", "2023-04-05 06:07:08", "110105194912310021"}, []bool{false, false, true, false, true}},
				{8, []string{"x<y & z", "a\nb_x0041_😀", "", "", "", "", "7"}, []bool{false, false, false, false, false, false, true}},
				// Serial 60 is Excel's 1900-02-29; a negative serial is no date.
				{9, []string{"1900-02-29", "1900-02-28", "1900-03-01", "-1", "1899-12-31 06:00:00"}, f5},
			},
		},
		{
			name:       "date1904",
			parts:      xlsxTestParts(`<row r="1"><c r="A1" t="inlineStr"><is><t>d</t></is></c></row><row r="2"><c r="A2" s="1"><v>0</v></c></row><row r="3"><c r="A3" s="1"><v>43101.75</v></c></row>`, `<workbookPr date1904="1"/>`),
			wantHeader: []string{"d"},
			wantRows: []xlsxRow{
				{2, []string{"1904-01-01"}, []bool{false}},
				{3, []string{"2022-01-02 18:00:00"}, []bool{false}},
			},
		},
		{
			name:       "namespace prefix, absolute target",
			parts:      xlsxTestParts("", ""),
			sheet:      "Prefixed",
			wantHeader: []string{"ID", "姓名"},
			wantRows:   []xlsxRow{{2, []string{"110105194912310021", "Tom & Jerry "}, []bool{true, false}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hdr, rows, err := readXLSX(t, writeZip(t, tt.parts), &schemas.Mapping{Sheet: tt.sheet})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantHeader, hdr); diff != "" {
				t.Errorf("header mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRows, rows); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestXLSXSourceErrors(t *testing.T) {
	t.Parallel()
	hdr := `<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c></row>`
	tests := []struct {
		name  string
		file  func(t *testing.T) string
		sheet string
		want  []string // in the error text, besides the path
	}{
		{
			name: "not a zip",
			file: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "x.xlsx")
				os.WriteFile(p, []byte("姓名,身份证号\n"), 0o600)
				return p
			},
			want: []string{"not an XLSX (zip) package"},
		},
		{
			name: "encrypted workbook",
			file: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "x.xlsx")
				os.WriteFile(p, append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...), 0o600)
				return p
			},
			want: []string{"password-protected"},
		},
		{
			name:  "unknown sheet",
			file:  func(t *testing.T) string { return writeZip(t, xlsxTestParts(hdr, "")) },
			sheet: "户口",
			want:  []string{`no sheet "户口"`, `"数据"`},
		},
		{
			name:  "chart sheet",
			file:  func(t *testing.T) string { return writeZip(t, xlsxTestParts(hdr, "")) },
			sheet: "图表",
			want:  []string{"not a worksheet"},
		},
		{
			name: "missing header row",
			file: func(t *testing.T) string { return writeZip(t, xlsxTestParts("", "")) },
			want: []string{"no header row (row 1)"},
		},
		{
			name: "empty header row",
			file: func(t *testing.T) string {
				return writeZip(t, xlsxTestParts(`<row r="1"><c r="A1" t="inlineStr"><is><t> </t></is></c></row><row r="2"><c r="A2"><v>1</v></c></row>`, ""))
			},
			want: []string{"header row 1 is empty"},
		},
		{
			name: "mismatched end tag",
			file: func(t *testing.T) string {
				return writeZip(t, xlsxTestParts(hdr+`<row r="2"><c r="A2"><v>1</v></c></row><row r="3"><c r="A3"><v>1</v></row>`, ""))
			},
			want: []string{`sheet "数据"`, "row 3", "</row>"},
		},
		{
			name: "truncated sheet",
			file: func(t *testing.T) string {
				p := xlsxTestParts("", "")
				p["xl/worksheets/sheet1.xml"] = `<worksheet><sheetData>` + hdr + `<row r="2"><c r="A2"><v>12`
				return writeZip(t, p)
			},
			want: []string{"row 2", "unexpected end"},
		},
		{
			name: "shared string out of range",
			file: func(t *testing.T) string {
				return writeZip(t, xlsxTestParts(hdr+`<row r="2"><c r="B2" t="s"><v>99</v></c></row>`, ""))
			},
			want: []string{"row 2", "cell B2", "shared string"},
		},
		{
			name: "bad cell reference",
			file: func(t *testing.T) string {
				return writeZip(t, xlsxTestParts(hdr+`<row r="2"><c r="2B"><v>1</v></c></row>`, ""))
			},
			want: []string{"row 2", `bad cell reference "2B"`},
		},
		{
			name: "row number out of range",
			file: func(t *testing.T) string {
				return writeZip(t, xlsxTestParts(hdr+`<row r="1048577"><c><v>1</v></c></row>`, ""))
			},
			want: []string{"after row 1", `bad row number "1048577"`},
		},
		{
			name: "corrupt compressed sheet",
			file: func(t *testing.T) string {
				p := xlsxTestParts(hdr+strings.Repeat(`<row><c t="inlineStr"><is><t>张三</t></is></c><c><v>460102199001011011</v></c></row>`, 2000), "")
				path := writeZip(t, p)
				zr, err := zip.OpenReader(path)
				if err != nil {
					t.Fatal(err)
				}
				var off, size int64
				for _, f := range zr.File {
					if f.Name == "xl/worksheets/sheet1.xml" {
						off, _ = f.DataOffset()
						size = int64(f.CompressedSize64)
					}
				}
				zr.Close()
				b, _ := os.ReadFile(path)
				for i := off + size/2; i < off+size/2+16; i++ {
					b[i] ^= 0x5A
				}
				os.WriteFile(path, b, 0o600)
				return path
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.file(t)
			_, _, err := readXLSX(t, path, &schemas.Mapping{Sheet: tt.sheet, HeaderRow: 1})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append([]string{path}, tt.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
