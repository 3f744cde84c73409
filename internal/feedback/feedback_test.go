package feedback

import (
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/internal/output"
	"github.com/idfusion/idfusion/schemas"
)

// readBook reads every sheet of the workbook at path back: the sheet names
// in order, and each sheet's rows as the department's Excel shows them. It
// fails the test if any cell holds a formula: the workbook's cells are text
// and numbers only.
func readBook(t *testing.T, path string) (names []string, sheets map[string][][]string) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets = map[string][][]string{}
	for _, name := range f.GetSheetList() {
		rows, err := f.GetRows(name)
		if err != nil {
			t.Fatal(err)
		}
		sheets[name] = rows
		for r, row := range rows {
			for c := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if formula, err := f.GetCellFormula(name, cell); err != nil || formula != "" {
					t.Errorf("%s!%s holds formula %q (err %v)", name, cell, formula, err)
				}
			}
		}
	}
	return f.GetSheetList(), sheets
}

var header = []string{"文件名", "行号", "源系统编号", "字段", "原值", "原因代码", "原因说明"}

// TestWrite: the summary counts each file and each reason, and every
// reject and warning has its own row with file, row number, source key,
// field, the value in clear (the department's own data) and the reason in
// Chinese, in file and row order whatever order they came in.
func TestWrite(t *testing.T) {
	t.Parallel()
	wb := Workbook{
		Dept: schemas.Department{Code: "gongan", Name: "省公安厅"},
		Files: []File{
			{Name: "b.csv", SHA256: "bb", Read: 5, Accepted: 3, Rejected: 2, Warnings: 2},
			{Name: "a.xlsx", SHA256: "aa", Error: "缺少列：证件号码"},
		},
		Rejects: Rows(
			Row{File: "b.csv", Row: 7, SourceKey: "K7", Field: schemas.FieldIDNumber, Value: "460102199001011235", Code: schemas.IDBadChecksum},
			Row{File: "b.csv", Row: 3, SourceKey: "K3", Field: schemas.FieldPhone, Value: "", Code: schemas.RequiredMissing},
		),
		Warnings: Rows(
			Row{File: "b.csv", Row: 9, SourceKey: "K9", Field: schemas.FieldPhone, Value: "1391234907", Code: schemas.PhoneInvalid},
			Row{File: "b.csv", Row: 3, SourceKey: "K3", Field: schemas.FieldIDNumber, Value: "469999199001011234", Code: schemas.IDUnknownCounty},
			Row{File: "a.csv", Row: 12, SourceKey: "K12", Field: schemas.FieldPhone, Value: "12", Code: schemas.PhoneInvalid},
		),
	}
	path := filepath.Join(t.TempDir(), "gongan-feedback.xlsx")
	if err := writeBook(path, wb); err != nil {
		t.Fatal(err)
	}
	names, sheets := readBook(t, path)
	if diff := cmp.Diff([]string{"汇总", "拒收明细", "警告明细"}, names); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	const (
		county = "证件号码中的区县代码不在现行行政区划代码表中（可能为已撤销的旧代码），已保留"
		phone  = "手机号码格式不正确，已忽略该字段"
	)
	want := map[string][][]string{
		"汇总": {
			{"部门", "省公安厅（gongan）"},
			nil,
			{"文件名", "文件 SHA-256", "读取行数", "接收行数", "拒收行数", "警告数", "文件问题"},
			{"b.csv", "bb", "5", "3", "2", "2"},
			{"a.xlsx", "aa", "0", "0", "0", "0", "缺少列：证件号码"},
			nil,
			{"原因代码", "处理", "数量", "说明"},
			{"ID_BAD_CHECKSUM", "拒收", "1", "证件号码校验位错误"},
			{"ID_UNKNOWN_COUNTY", "警告（已接收）", "1", county},
			{"PHONE_INVALID", "警告（已接收）", "2", phone},
			{"REQUIRED_MISSING", "拒收", "1", "必填字段为空"},
		},
		"拒收明细": {
			header,
			{"b.csv", "3", "K3", "手机号码", "", "REQUIRED_MISSING", "必填字段为空"},
			{"b.csv", "7", "K7", "证件号码", "460102199001011235", "ID_BAD_CHECKSUM", "证件号码校验位错误"},
		},
		"警告明细": {
			header,
			{"a.csv", "12", "K12", "手机号码", "12", "PHONE_INVALID", phone},
			{"b.csv", "3", "K3", "证件号码", "469999199001011234", "ID_UNKNOWN_COUNTY", county},
			{"b.csv", "9", "K9", "手机号码", "1391234907", "PHONE_INVALID", phone},
		},
	}
	if diff := cmp.Diff(want, sheets); diff != "" {
		t.Errorf("workbook (-want +got):\n%s", diff)
	}
}

// TestWriteNothingFound: a department whose files had no finding still
// gets both detail sheets, with their header only.
func TestWriteNothingFound(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "renshe-feedback.xlsx")
	if err := writeBook(path, Workbook{Dept: schemas.Department{Code: "renshe", Name: "省人社厅"},
		Files: []File{{Name: "r.csv", SHA256: "rr", Read: 1, Accepted: 1}}}); err != nil {
		t.Fatal(err)
	}
	names, sheets := readBook(t, path)
	if diff := cmp.Diff([]string{"汇总", "拒收明细", "警告明细"}, names); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	for _, name := range []string{"拒收明细", "警告明细"} {
		if diff := cmp.Diff([][]string{header}, sheets[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	summary := [][]string{
		{"部门", "省人社厅（renshe）"},
		nil,
		{"文件名", "文件 SHA-256", "读取行数", "接收行数", "拒收行数", "警告数", "文件问题"},
		{"r.csv", "rr", "1", "1", "0", "0"},
		nil,
		{"原因代码", "处理", "数量", "说明"},
	}
	if diff := cmp.Diff(summary, sheets["汇总"]); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

// TestWriteEscapesFormulas: every text the department sent (file name,
// source key, value, its own name and code, a file's problem) that would
// start a formula in Excel or a CSV re-save starts with a quote instead;
// other text is left as it is.
func TestWriteEscapesFormulas(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"=HYPERLINK(\"http://x\",\"点击\")", "'=HYPERLINK(\"http://x\",\"点击\")"},
		{"+86 139", "'+86 139"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(1+1)", "'@SUM(1+1)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"张=三", "张=三"},
		{"1-2", "1-2"},
		{"'quoted", "'quoted"},
		{" =1", " =1"},
	}
	for _, tt := range tests {
		t.Run(strings.NewReplacer("\t", "TAB", "\r", "CR").Replace(tt.in), func(t *testing.T) {
			t.Parallel()
			wb := Workbook{
				Dept:     schemas.Department{Code: tt.in, Name: tt.in},
				Files:    []File{{Name: tt.in, SHA256: "s", Error: tt.in}},
				Rejects:  Rows(Row{File: tt.in, Row: 2, SourceKey: tt.in, Field: schemas.FieldName, Value: tt.in, Code: schemas.NameBadChars}),
				Warnings: Rows(Row{File: tt.in, Row: 3, SourceKey: tt.in, Field: schemas.FieldPhone, Value: tt.in, Code: schemas.PhoneInvalid}),
			}
			path := filepath.Join(t.TempDir(), "x-feedback.xlsx")
			if err := writeBook(path, wb); err != nil {
				t.Fatal(err)
			}
			_, sheets := readBook(t, path)
			w := tt.want
			got := [][]string{
				{sheets["汇总"][0][1]},
				{sheets["汇总"][3][0], sheets["汇总"][3][6]},
				{sheets["拒收明细"][1][0], sheets["拒收明细"][1][2], sheets["拒收明细"][1][4]},
				{sheets["警告明细"][1][0], sheets["警告明细"][1][2], sheets["警告明细"][1][4]},
			}
			want := [][]string{{w + "（" + w + "）"}, {w, w}, {w, w, w}, {w, w, w}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEscape: the rule itself, which the golden CSV export shares.
func TestEscape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"": "", "=1": "'=1", "+1": "'+1", "-1": "'-1", "@a": "'@a", "\ta": "'\ta", "\ra": "'\ra",
		"a=1": "a=1", "\na": "\na", "张三": "张三", "13912349071": "13912349071",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWriteCapsLists: a detail sheet lists its first perSheet findings
// and says, as the summary does, how many more are in which CSV; the CSV
// (UTF-8 with a BOM, the sheet's columns) holds exactly the rest, so that
// the two together are every finding once, in order. A list within the cap
// has no CSV, and nothing appears before the set commits.
func TestWriteCapsLists(t *testing.T) {
	t.Parallel()
	rows := func(n int) List {
		out := make([]Row, n)
		for i := range out {
			out[i] = Row{File: "f.csv", Row: int64(n - i + 1), Field: schemas.FieldPhone, Value: "=x", Code: schemas.PhoneInvalid}
		}
		return Rows(out...)
	}
	dir := t.TempDir()
	set, err := output.NewSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if err := Write(set, Workbook{Dept: schemas.Department{Code: "x", Name: "某厅"}, Rejects: rows(5), Warnings: rows(2)}, 2); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{".pending-"}, prefixes(list(t, dir))); diff != "" {
		t.Errorf("folder before commit (-want +got):\n%s", diff)
	}
	if _, err := set.Commit(); err != nil {
		t.Fatal(err)
	}
	set.Close()
	if diff := cmp.Diff([]string{"x-feedback-rejects.csv", "x-feedback.xlsx"}, list(t, dir)); diff != "" {
		t.Fatalf("folder (-want +got):\n%s", diff)
	}
	names, sheets := readBook(t, filepath.Join(dir, "x-feedback.xlsx"))
	if diff := cmp.Diff([]string{"汇总", "拒收明细", "警告明细"}, names); diff != "" {
		t.Fatalf("sheets (-want +got):\n%s", diff)
	}
	line := func(row string) []string {
		return []string{"f.csv", row, "", "手机号码", "'=x", "PHONE_INVALID", "手机号码格式不正确，已忽略该字段"}
	}
	note := "本表仅列出前 2 行，其余 3 行见随附文件 x-feedback-rejects.csv（UTF-8 编码，列与本表相同）"
	want := map[string][][]string{
		"拒收明细": {header, line("2"), line("3"), nil, {note}},
		"警告明细": {header, line("2"), line("3")},
	}
	summary := sheets["汇总"]
	delete(sheets, "汇总")
	if diff := cmp.Diff(want, sheets); diff != "" {
		t.Errorf("detail sheets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{nil, {"明细表", "明细行数", "随附文件", "说明"}, {"拒收明细", "5", "x-feedback-rejects.csv", note}}, summary[len(summary)-3:]); diff != "" {
		t.Errorf("summary's end (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile(filepath.Join(dir, "x-feedback-rejects.csv"))
	if err != nil {
		t.Fatal(err)
	}
	body, ok := strings.CutPrefix(string(b), "\uFEFF")
	if !ok {
		t.Errorf("CSV starts %q, want a UTF-8 BOM", b[:min(len(b), 3)])
	}
	got, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{header, line("4"), line("5"), line("6")}, got); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

// prefixes returns the names up to and including their first '-'.
func prefixes(names []string) []string {
	var out []string
	for _, n := range names {
		if i := strings.IndexByte(n, '-'); i >= 0 {
			n = n[:i+1]
		}
		out = append(out, n)
	}
	return out
}

// TestWriteFile: the workbook replaces an earlier one whole, readable by
// owner and group only (it holds ID numbers) whatever the earlier file's
// mode, and leaves no temporary file behind, also when it fails.
func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "gongan-feedback.xlsx")
	if err := os.WriteFile(path, []byte("an earlier run's workbook"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := writeBook(path, Workbook{Dept: schemas.Department{Code: "gongan", Name: "省公安厅"}}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want -rw-r-----", st.Mode().Perm())
	}
	if _, sheets := readBook(t, path); sheets["汇总"][0][1] != "省公安厅（gongan）" {
		t.Errorf("the earlier file was not replaced: %q", sheets["汇总"])
	}
	if diff := cmp.Diff([]string{"gongan-feedback.xlsx"}, list(t, dir)); diff != "" {
		t.Errorf("folder after writing (-want +got):\n%s", diff)
	}

	// A folder where the workbook should go: the rename fails, and the
	// temporary file goes with the error.
	taken := filepath.Join(dir, "renshe-feedback.xlsx")
	if err := os.Mkdir(taken, 0o755); err != nil {
		t.Fatal(err)
	}
	err = writeBook(taken, Workbook{Dept: schemas.Department{Code: "renshe", Name: "省人社厅"}})
	if err == nil || !strings.Contains(err.Error(), taken) {
		t.Errorf("Write over a folder: err = %v, want one naming the path", err)
	}
	if diff := cmp.Diff([]string{"gongan-feedback.xlsx", "renshe-feedback.xlsx"}, list(t, dir)); diff != "" {
		t.Errorf("folder after a failed write (-want +got):\n%s", diff)
	}
}

// list returns the names in dir.
func list(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestWriteFolded: a warning found in (nearly) every row of a file is said
// once, in the summary, with the real share, an example and what in the
// mapping to check; its rows still count under their code, and only the
// other warnings are listed row by row.
func TestWriteFolded(t *testing.T) {
	t.Parallel()
	wb := Workbook{
		Dept: schemas.Department{Code: "weijian", Name: "省卫健委"},
		Files: []File{{Name: "w.csv", SHA256: "ww", Read: 1000, Accepted: 1000, Warnings: 1001, Folded: []Folded{
			{Code: schemas.UpdatedAtInvalid, Field: schemas.FieldUpdatedAt, Rows: 1000, Accepted: 1000, Example: "1700000000"},
		}}, {Name: "v.csv", SHA256: "vv", Read: 40, Accepted: 40, Warnings: 39, Folded: []Folded{
			{Code: schemas.PhoneInvalid, Field: schemas.FieldPhone, Rows: 39, Accepted: 40, Example: "=1"},
		}}},
		Warnings: Rows(Row{File: "w.csv", Row: 5, SourceKey: "K5", Field: schemas.FieldPhone, Value: "12", Code: schemas.PhoneInvalid}),
	}
	path := filepath.Join(t.TempDir(), "weijian-feedback.xlsx")
	if err := writeBook(path, wb); err != nil {
		t.Fatal(err)
	}
	_, sheets := readBook(t, path)
	const phone = "手机号码格式不正确，已忽略该字段"
	want := [][]string{
		{"部门", "省卫健委（weijian）"},
		nil,
		{"文件名", "文件 SHA-256", "读取行数", "接收行数", "拒收行数", "警告数", "文件问题"},
		{"w.csv", "ww", "1000", "1000", "0", "1001"},
		{"v.csv", "vv", "40", "40", "0", "39"},
		nil,
		{"整个文件的问题（几乎每行都有，逐行明细从略）"},
		{"文件名", "字段", "原因代码", "行数", "说明"},
		{"w.csv", "更新时间", "UPDATED_AT_INVALID", "1000", "更新时间在 100% 的行中出现同一问题（已接收 1000 行中的 1000 行，例如“1700000000”）：" +
			"更新时间格式无法识别，已忽略该字段。逐行明细从略，请检查映射的格式（updated_at_formats：日期格式，或数字时间 unix、unix_ms、excel_serial）"},
		{"v.csv", "手机号码", "PHONE_INVALID", "39", "手机号码在 97% 的行中出现同一问题（已接收 40 行中的 39 行，例如“=1”）：" +
			phone + "。逐行明细从略，多为映射与文件不符，请检查映射中该字段对应的列（columns）"},
		nil,
		{"原因代码", "处理", "数量", "说明"},
		{"PHONE_INVALID", "警告（已接收）", "40", phone},
		{"UPDATED_AT_INVALID", "警告（已接收）", "1000", "更新时间格式无法识别，已忽略该字段"},
	}
	if diff := cmp.Diff(want, sheets["汇总"]); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{header, {"w.csv", "5", "K5", "手机号码", "12", "PHONE_INVALID", phone}}, sheets["警告明细"]); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// writeBook writes wb to path as the pipeline does: encoded, through the
// atomic writer.
func writeBook(path string, wb Workbook) error {
	return output.File(path, output.Shared, func(w io.Writer) error { return Encode(w, wb) })
}
