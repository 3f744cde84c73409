// Package feedback writes a department's feedback workbook: what was read
// from each of its files, and every rejected row and warning with its row
// number, field, value and reason in Chinese, so the department can fix its
// export and send it again.
package feedback

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/internal/output"
	"github.com/idfusion/idfusion/schemas"
)

// Row is one finding about one row of a department's file.
type Row struct {
	File      string // base name of the file
	Row       int64
	SourceKey string
	Field     schemas.Field
	Value     string // as the department sent it
	Code      schemas.Code
}

// File summarizes one file of the department.
type File struct {
	Name     string
	SHA256   string
	Read     int64
	Accepted int64
	Rejected int64
	Warnings int64
	// Error is why the whole file could not be used ("" when it was read).
	Error string
	// Folded are the warnings found in (nearly) every row, said once for
	// the file; their rows are not among the Workbook's Warnings.
	Folded []Folded
}

// Workbook is the content of one department's feedback.
type Workbook struct {
	Dept     schemas.Department
	Files    []File
	Rejects  List
	Warnings List
}

// A List is a detail sheet's findings in the order the sheet lists them
// (file, row, reason). It is ranged more than once (the summary counts it
// before the sheet and the CSV list it), so that its rows can come one at
// a time from where the run keeps them, never all at once. A nil List has
// no findings.
type List iter.Seq[Row]

// Rows lists rows in file, row and reason order (it sorts rows).
func Rows(rows ...Row) List {
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Row, b.Row), cmp.Compare(a.Code, b.Code))
	})
	return List(slices.Values(rows))
}

// DetailCap is how many findings a detail sheet lists at most; the rest go
// to an accompanying CSV with the same columns. A department reads and
// fixes its rows by hand or filters them in Excel: a hundred thousand
// lines is already far beyond a hand's reach, opens in Excel in seconds,
// and keeps the workbook a few megabytes, where Excel's own limit
// (a million rows) takes minutes and gigabytes to open and excelize would
// zip it in one piece. The CSV is what a script or a filter wants for the
// rest, and costs the run nothing but a stream of lines.
const DetailCap = 100_000

// sheet is one detail sheet and its accompanying CSV.
type sheet struct {
	name   string // the sheet's name
	suffix string // the CSV's name: <dept>-feedback-<suffix>.csv
	list   List
	rows   int64 // findings in the list
	csv    string
}

// sheets returns wb's detail sheets, counted, with the counts by reason
// that the summary shows.
func sheets(wb Workbook, perSheet int) ([]*sheet, map[schemas.Code]int64) {
	counts := map[schemas.Code]int64{}
	out := []*sheet{{name: "拒收明细", suffix: "rejects", list: wb.Rejects}, {name: "警告明细", suffix: "warnings", list: wb.Warnings}}
	for _, s := range out {
		if s.list == nil {
			continue
		}
		for r := range s.list {
			counts[r.Code]++
			s.rows++
		}
		if s.rows > int64(perSheet) {
			s.csv = csvName(wb.Dept.Code, s.suffix)
		}
	}
	return out, counts
}

// csvName is the file name of the CSV beside dept's workbook that holds the
// rest of a detail sheet (suffix rejects or warnings).
func csvName(dept, suffix string) string { return dept + "-feedback-" + suffix + ".csv" }

// Name is the file name of dept's workbook.
func Name(dept string) string { return dept + "-feedback.xlsx" }

// Write writes wb into set: the workbook (see Name) and, for a detail sheet
// with more than perSheet findings (DetailCap when perSheet <= 0), the CSV
// of the rest beside it.
func Write(set *output.Set, wb Workbook, perSheet int) error {
	if perSheet <= 0 {
		perSheet = DetailCap
	}
	// The header, the rows, a blank line and the note fit an Excel sheet.
	perSheet = min(perSheet, excelize.TotalRows-3)
	lists, counts := sheets(wb, perSheet)
	if err := set.File(Name(wb.Dept.Code), output.Shared, func(w io.Writer) error { return encode(w, wb, lists, counts, perSheet) }); err != nil {
		return err
	}
	for _, s := range lists {
		if s.csv == "" {
			// An earlier run's CSV of this sheet (values in clear, older
			// findings) goes with the new workbook.
			set.Remove(csvName(wb.Dept.Code, s.suffix))
			continue
		}
		if err := set.File(s.csv, output.Shared, func(w io.Writer) error { return writeCSV(w, s.list, perSheet) }); err != nil {
			return err
		}
	}
	return nil
}

// Encode writes wb's workbook as XLSX to w: a detail sheet lists its first
// DetailCap findings and says where the rest are (Write writes them).
func Encode(w io.Writer, wb Workbook) error {
	lists, counts := sheets(wb, DetailCap)
	return encode(w, wb, lists, counts, DetailCap)
}

func encode(w io.Writer, wb Workbook, lists []*sheet, counts map[schemas.Code]int64, perSheet int) error {
	f := excelize.NewFile()
	defer f.Close()
	const summary = "汇总"
	if err := f.SetSheetName("Sheet1", summary); err != nil {
		return err
	}
	if err := writeSummary(f, summary, wb, lists, counts, perSheet); err != nil {
		return err
	}
	for _, s := range lists {
		if err := writeRows(f, s, perSheet); err != nil {
			return err
		}
	}
	return f.Write(w)
}

// detailHeader is the header of a detail sheet and of its CSV.
var detailHeader = []string{"文件名", "行号", "源系统编号", "字段", "原值", "原因代码", "原因说明"}

// cells returns r as a detail line, the department's own text escaped.
func cells(r Row) []string {
	return []string{Escape(r.File), strconv.FormatInt(r.Row, 10), Escape(r.SourceKey), r.Field.Label(), Escape(r.Value), string(r.Code), r.Code.Message()}
}

// overflowNote says in Chinese how many findings of s are in its CSV.
func overflowNote(s *sheet, perSheet int) string {
	return fmt.Sprintf("本表仅列出前 %d 行，其余 %d 行见随附文件 %s（UTF-8 编码，列与本表相同）", perSheet, s.rows-int64(perSheet), s.csv)
}

// utf8BOM starts the CSV so that Excel reads it as UTF-8.
const utf8BOM = "\uFEFF"

// writeCSV writes the findings of list after the first skip to w as CSV:
// a BOM, the header, a line each.
func writeCSV(w io.Writer, list List, skip int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.WriteString(utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	if err := cw.Write(detailHeader); err != nil {
		return err
	}
	i := 0
	for r := range list {
		if i++; i <= skip {
			continue
		}
		if err := cw.Write(cells(r)); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

func writeSummary(f *excelize.File, name string, wb Workbook, lists []*sheet, counts map[schemas.Code]int64, perSheet int) error {
	rows := [][]any{
		{"部门", Escape(wb.Dept.Name) + "（" + Escape(wb.Dept.Code) + "）"},
		{},
		{"文件名", "文件 SHA-256", "读取行数", "接收行数", "拒收行数", "警告数", "文件问题"},
	}
	for _, fl := range wb.Files {
		rows = append(rows, []any{Escape(fl.Name), fl.SHA256, fl.Read, fl.Accepted, fl.Rejected, fl.Warnings, Escape(fl.Error)})
	}
	var folded [][]any
	for _, fl := range wb.Files {
		for _, fd := range fl.Folded {
			counts[fd.Code] += fd.Rows
			folded = append(folded, []any{Escape(fl.Name), fd.Field.Label(), string(fd.Code), fd.Rows, Escape(fd.Text())})
		}
	}
	if len(folded) > 0 {
		rows = append(rows, []any{}, []any{"整个文件的问题（几乎每行都有，逐行明细从略）"}, []any{"文件名", "字段", "原因代码", "行数", "说明"})
		rows = append(rows, folded...)
	}
	codes := make([]schemas.Code, 0, len(counts))
	for c := range counts {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	rows = append(rows, []any{}, []any{"原因代码", "处理", "数量", "说明"})
	for _, c := range codes {
		action := "拒收"
		if c.Severity() == schemas.Warning {
			action = "警告（已接收）"
		}
		rows = append(rows, []any{string(c), action, counts[c], c.Message()})
	}
	for i, s := range slices.DeleteFunc(slices.Clone(lists), func(s *sheet) bool { return s.csv == "" }) {
		if i == 0 {
			rows = append(rows, []any{}, []any{"明细表", "明细行数", "随附文件", "说明"})
		}
		rows = append(rows, []any{s.name, s.rows, s.csv, overflowNote(s, perSheet)})
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(name, cell, &r); err != nil {
			return err
		}
	}
	return f.SetColWidth(name, "A", "G", 18)
}

func writeRows(f *excelize.File, s *sheet, perSheet int) error {
	if _, err := f.NewSheet(s.name); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(s.name)
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, 7, 18); err != nil {
		return err
	}
	header := make([]any, len(detailHeader))
	for i, h := range detailHeader {
		header[i] = h
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	line := 1
	if s.list != nil {
		cells := make([]any, 7)
		for r := range s.list {
			if line > perSheet {
				break
			}
			line++
			cells[0] = Escape(r.File)
			cells[1] = r.Row
			cells[2] = Escape(r.SourceKey)
			cells[3] = r.Field.Label()
			cells[4] = Escape(r.Value)
			cells[5] = string(r.Code)
			cells[6] = r.Code.Message()
			cell, _ := excelize.CoordinatesToCellName(1, line)
			if err = sw.SetRow(cell, cells); err != nil {
				return err
			}
		}
	}
	if s.csv != "" {
		// A blank line keeps the note out of Excel's filter of the list.
		cell, _ := excelize.CoordinatesToCellName(1, line+2)
		if err := sw.SetRow(cell, []any{overflowNote(s, perSheet)}); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// Escape defuses a value against formula injection when the workbook is
// opened or re-saved as CSV (OWASP CSV injection): a value starting with
// = + - @ or a tab/carriage return is prefixed with a single quote.
func Escape(s string) string {
	if s == "" {
		return s
	}
	if strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
