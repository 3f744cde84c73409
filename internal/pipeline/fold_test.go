package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/ingest"
	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/feedback"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// TestFold: where a warning stops being listed row by row and becomes one
// finding for the file — both sides of each line.
func TestFold(t *testing.T) {
	t.Parallel()
	type add func(ff *fileFindings)
	warnings := func(code schemas.Code, field schemas.Field, n int, from int64) add {
		return func(ff *fileFindings) {
			for i := range n {
				row := from + int64(n-1-i) // in reverse row order: the example is the first row all the same
				ff.add(row, findingKind{schemas.Warning, code, field}, fmt.Sprint("K", row), fmt.Sprint("v", row))
			}
		}
	}
	rejects := func(n int) add {
		return func(ff *fileFindings) {
			for i := range n {
				ff.add(int64(i+2), findingKind{schemas.Reject, schemas.IDBadChecksum, schemas.FieldIDNumber}, "R", "x")
			}
		}
	}
	upd := func(rows, accepted int64) []feedback.Folded {
		return []feedback.Folded{{Code: schemas.UpdatedAtInvalid, Field: schemas.FieldUpdatedAt, Rows: rows, Accepted: accepted, Example: "v2"}}
	}
	tests := []struct {
		name       string
		finds      []add
		accepted   int64
		wantListed int
		wantFolded []feedback.Folded
	}{
		{"every row", []add{warnings(schemas.UpdatedAtInvalid, schemas.FieldUpdatedAt, 100, 2)}, 100, 0, upd(100, 100)},
		{"95 percent", []add{warnings(schemas.UpdatedAtInvalid, schemas.FieldUpdatedAt, 95, 2)}, 100, 0, upd(95, 100)},
		{"94 percent", []add{warnings(schemas.UpdatedAtInvalid, schemas.FieldUpdatedAt, 94, 2)}, 100, 94, nil},
		{"20 rows", []add{warnings(schemas.UpdatedAtInvalid, schemas.FieldUpdatedAt, 20, 2)}, 20, 0, upd(20, 20)},
		{"19 rows", []add{warnings(schemas.UpdatedAtInvalid, schemas.FieldUpdatedAt, 19, 2)}, 19, 19, nil},
		{"rejects stay", []add{rejects(100)}, 0, 100, nil},
		{"rejects stay beside folded warnings", []add{rejects(5), warnings(schemas.UpdatedAtInvalid, schemas.FieldUpdatedAt, 100, 2)}, 100, 5, upd(100, 100)},
		{"only the kind in every row folds",
			[]add{warnings(schemas.PhoneInvalid, schemas.FieldPhone, 30, 2), warnings(schemas.UpdatedAtInvalid, schemas.FieldUpdatedAt, 100, 2)}, 100, 30, upd(100, 100)},
		{"the same code on two fields folds apart",
			[]add{warnings(schemas.UpdatedAtInvalid, schemas.FieldUpdatedAt, 60, 2), warnings(schemas.UpdatedAtInvalid, schemas.FieldBirthDate, 40, 62)}, 100, 100, nil},
	}
	for _, tt := range tests {
		ff := newFileFindings("weijian", "ab", "w.csv")
		for _, a := range tt.finds {
			a(ff)
		}
		ff.fold(tt.accepted)
		if ff.len() != tt.wantListed {
			t.Errorf("%s: %d findings listed, want %d", tt.name, ff.len(), tt.wantListed)
		}
		if diff := cmp.Diff(tt.wantFolded, ff.folded); diff != "" {
			t.Errorf("%s: folded (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestFileFindingsKeepText: each finding comes back with its own source
// key and value, before and after folding others away.
func TestFileFindingsKeepText(t *testing.T) {
	t.Parallel()
	ff := newFileFindings("weijian", "ab", "w.csv")
	phone := findingKind{schemas.Warning, schemas.PhoneInvalid, schemas.FieldPhone}
	ff.add(7, phone, "K7", "139")
	for i := range 30 {
		ff.add(int64(i+2), findingKind{schemas.Warning, schemas.UpdatedAtInvalid, schemas.FieldUpdatedAt}, "", fmt.Sprint(1700000000+i))
	}
	ff.add(9, findingKind{schemas.Reject, schemas.IDBadChecksum, schemas.FieldIDNumber}, "K9", "")
	want := []finding{
		{dept: "weijian", sha: "ab", severity: schemas.Warning, row: feedback.Row{File: "w.csv", Row: 7, SourceKey: "K7", Field: schemas.FieldPhone, Value: "139", Code: schemas.PhoneInvalid}},
		{dept: "weijian", sha: "ab", severity: schemas.Reject, row: feedback.Row{File: "w.csv", Row: 9, SourceKey: "K9", Field: schemas.FieldIDNumber, Value: "", Code: schemas.IDBadChecksum}},
	}
	if got := ff.at(1).row.Value; got != "1700000000" {
		t.Errorf("second finding's value %q, want 1700000000", got)
	}
	ff.fold(30)
	var got []finding
	for i := range ff.len() {
		got = append(got, ff.at(i))
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(finding{})); diff != "" {
		t.Errorf("findings after folding (-want +got):\n%s", diff)
	}
}

// healthExport writes a CSV as a health system exports it: update times as
// Unix seconds, one a second from 1700000000; the last rejects rows have an
// ID number with a wrong check digit.
func healthExport(t *testing.T, path string, rows, rejects int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("编号,姓名,身份证号,更新时间\n")
	for i := range rows {
		id := validID("110105", "19800101", 100+i)
		if i >= rows-rejects {
			id = id[:17] + map[bool]string{true: "1", false: "2"}[id[17] != '1']
		}
		fmt.Fprintf(&b, "K%d,张三,%s,%d\n", i, id, 1700000000+i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func healthMapping(t *testing.T, extra string) *schemas.Mapping {
	t.Helper()
	m, err := schemas.ParseMapping("weijian.yaml", []byte(`
department: {code: weijian, name: 省卫健委}
priority: 3
columns: {source_key: 编号, name: 姓名, id_number: 身份证号, updated_at: 更新时间}
`+extra))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestUnixUpdateTimesUndeclared: a file whose update times are all Unix
// seconds, read with the default layouts, yields one finding for the file
// that points at the mapping, not a warning per row; every row is still
// counted, and the rejects are still listed one by one.
func TestUnixUpdateTimesUndeclared(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := healthExport(t, filepath.Join(dir, "weijian_2026.csv"), 300, 2)
	res, err := Check(context.Background(), []Input{{path, healthMapping(t, "")}}, t.TempDir(), Options{BatchRows: 64})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Files[0]
	if f.Read != 300 || f.Accepted != 298 || f.Rejected != 2 || f.Warnings != 298 || f.WarningCodes[schemas.UpdatedAtInvalid] != 298 {
		t.Errorf("file summary %+v: want 298 accepted, 2 rejected, 298 warnings all UPDATED_AT_INVALID", f)
	}
	if len(f.FileFindings) != 1 || f.FileFindings[0].Rows != 298 || !strings.HasPrefix(f.FileFindings[0].Message, "更新时间在 100% 的行中") {
		t.Errorf("file findings in the report %+v, want the one of UPDATED_AT_INVALID", f.FileFindings)
	}
	book, err := excelize.OpenFile(res.Feedback[0])
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	sheet := func(name string) [][]string {
		rows, err := book.GetRows(name)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	if got := len(sheet("警告明细")); got != 1 {
		t.Errorf("warning sheet has %d rows, want the header only", got)
	}
	if got := len(sheet("拒收明细")); got != 3 {
		t.Errorf("reject sheet has %d rows, want the header and the 2 rejects", got)
	}
	var folded, counted []string
	for _, r := range sheet("汇总") {
		if len(r) == 5 && r[2] == string(schemas.UpdatedAtInvalid) {
			folded = r
		}
		if len(r) == 4 && r[0] == string(schemas.UpdatedAtInvalid) {
			counted = r
		}
	}
	want := []string{"weijian_2026.csv", "更新时间", "UPDATED_AT_INVALID", "298",
		"更新时间在 100% 的行中出现同一问题（已接收 298 行中的 298 行，例如“1700000000”）：更新时间格式无法识别，已忽略该字段。" +
			"逐行明细从略，请检查映射的格式（updated_at_formats：日期格式，或数字时间 unix、unix_ms、excel_serial）"}
	if diff := cmp.Diff(want, folded); diff != "" {
		t.Errorf("file-level finding (-want +got):\n%s", diff)
	}
	if len(counted) < 3 || counted[2] != "298" {
		t.Errorf("reason count row %q, want 298 UPDATED_AT_INVALID", counted)
	}
}

// TestUnixUpdateTimesDeclared: with updated_at_formats: [unix] the same
// file loads without a warning and each row keeps its instant.
func TestUnixUpdateTimesDeclared(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := healthExport(t, filepath.Join(dir, "weijian_2026.csv"), 50, 0)
	pool := dbtest.New(t)
	res, err := Import(context.Background(), pool, []Input{{path, healthMapping(t, "updated_at_formats: [unix, \"2006-01-02 15:04:05\"]\n")}},
		ImportConfig{Keyring: testKeyring(t), OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Files[0]; f.Accepted != 50 || f.Warnings != 0 || f.FileFindings != nil {
		t.Errorf("file summary %+v: want 50 accepted, no warning", f)
	}
	rows, err := pool.Query(context.Background(), `SELECT row_num, record_updated_at FROM account_lineage ORDER BY row_num`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var row int64
		var at time.Time
		if err := rows.Scan(&row, &at); err != nil {
			t.Fatal(err)
		}
		if want := time.Unix(1700000000+row-2, 0); !at.Equal(want) { // data rows start at line 2
			t.Errorf("row %d updated at %v, want %v", row, at, want)
		}
		n++
	}
	if err := rows.Err(); err != nil || n != 50 {
		t.Errorf("%d lineage rows (%v), want 50", n, err)
	}
}

// TestFileFindingMasked: the run report's file-level finding masks its
// example as the rejects table does; the department's workbook has it in
// clear, like every value it lists.
func TestFileFindingMasked(t *testing.T) {
	t.Parallel()
	m := healthMapping(t, "")
	f := ingest.File{Path: "weijian_2026.csv", Dept: "weijian", SHA256: "ab"}
	c := NewCollector()
	ff := newFileFindings(f.Dept, f.SHA256, f.Path)
	id := validID("469999", "19800101", 100)
	for i := range 30 {
		ff.add(int64(i+2), findingKind{schemas.Warning, schemas.IDUnknownCounty, schemas.FieldIDNumber}, "", id)
	}
	ff.fold(30)
	c.files[keyOf(f)] = ff
	s := c.summarize(FileReport{Input: Input{Path: f.Path, Mapping: m}, File: f})
	if len(s.FileFindings) != 1 || strings.Contains(s.FileFindings[0].Message, id) || !strings.Contains(s.FileFindings[0].Message, pii.MaskID(id)) {
		t.Errorf("report's file findings %+v: want the one, with %s masked", s.FileFindings, id)
	}
	if ff.folded[0].Example != id {
		t.Errorf("workbook's example %q, want %q in clear", ff.folded[0].Example, id)
	}
}
