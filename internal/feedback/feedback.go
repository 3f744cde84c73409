// Package feedback writes a department's feedback workbook: what was read
// from each of its files, and every rejected row and warning with its row
// number, field, value and reason in Chinese, so the department can fix its
// export and send it again.
package feedback

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"

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
	Rejects  []Row
	Warnings []Row
}

// maxSheetRows is Excel's row limit less the header; longer lists continue
// on another sheet.
const maxSheetRows = excelize.TotalRows - 1

// Encode writes wb as XLSX to w.
func Encode(w io.Writer, wb Workbook) error { return encode(w, wb, maxSheetRows) }

// encode is Encode with perSheet findings at most on a sheet (a test's
// small number stands for Excel's limit).
func encode(w io.Writer, wb Workbook, perSheet int) error {
	f := excelize.NewFile()
	defer f.Close()
	const summary = "汇总"
	if err := f.SetSheetName("Sheet1", summary); err != nil {
		return err
	}
	if err := writeSummary(f, summary, wb); err != nil {
		return err
	}
	for _, part := range []struct {
		name string
		rows []Row
	}{{"拒收明细", wb.Rejects}, {"警告明细", wb.Warnings}} {
		sortRows(part.rows)
		for i, start := 0, 0; start < len(part.rows) || i == 0; i, start = i+1, start+perSheet {
			name := part.name
			if i > 0 {
				name = fmt.Sprintf("%s%d", part.name, i+1)
			}
			end := min(start+perSheet, len(part.rows))
			if err := writeRows(f, name, part.rows[start:end]); err != nil {
				return err
			}
		}
	}
	return f.Write(w)
}

func sortRows(rows []Row) {
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Row, b.Row), cmp.Compare(a.Code, b.Code))
	})
}

func writeSummary(f *excelize.File, sheet string, wb Workbook) error {
	rows := [][]any{
		{"部门", Escape(wb.Dept.Name) + "（" + Escape(wb.Dept.Code) + "）"},
		{},
		{"文件名", "文件 SHA-256", "读取行数", "接收行数", "拒收行数", "警告数", "文件问题"},
	}
	for _, fl := range wb.Files {
		rows = append(rows, []any{Escape(fl.Name), fl.SHA256, fl.Read, fl.Accepted, fl.Rejected, fl.Warnings, Escape(fl.Error)})
	}
	counts := map[schemas.Code]int64{}
	for _, r := range wb.Rejects {
		counts[r.Code]++
	}
	for _, r := range wb.Warnings {
		counts[r.Code]++
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
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			return err
		}
	}
	return f.SetColWidth(sheet, "A", "G", 18)
}

func writeRows(f *excelize.File, sheet string, rows []Row) error {
	if _, err := f.NewSheet(sheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, 7, 18); err != nil {
		return err
	}
	if err := sw.SetRow("A1", []any{"文件名", "行号", "源系统编号", "字段", "原值", "原因代码", "原因说明"}); err != nil {
		return err
	}
	cells := make([]any, 7)
	for i, r := range rows {
		cells[0] = Escape(r.File)
		cells[1] = r.Row
		cells[2] = Escape(r.SourceKey)
		cells[3] = r.Field.Label()
		cells[4] = Escape(r.Value)
		cells[5] = string(r.Code)
		cells[6] = r.Code.Message()
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, cells); err != nil {
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
