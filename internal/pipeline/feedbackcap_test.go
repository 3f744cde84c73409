package pipeline

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/ingest"
	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/output"
	"github.com/idfusion/idfusion/schemas"
)

// cappedInputs are two files of department ga with 10 and 13 rejected rows
// among valid ones, and a warning: more rejects than a cap of 5.
func cappedInputs(t *testing.T, dir string) []Input { return rejectInputs(t, dir, 10, 13) }

// rejectInputs are two files of department ga, a.csv with a and b.csv with
// b rejected rows first, then valid ones and a warning.
func rejectInputs(t *testing.T, dir string, a, b int) []Input {
	t.Helper()
	ga := failMapping(t, "ga", 1, "")
	file := func(name string, rejects, offset int) Input {
		var rows [][]string
		for i := range rejects {
			rows = append(rows, []string{fmt.Sprintf("R%d", offset+i), "张三", "123", "", ""})
		}
		for i := range 3 {
			rows = append(rows, []string{fmt.Sprintf("V%d", offset+i), "李四", validID("110105", "19800101", offset+i), "13912340000", "北京"})
		}
		rows = append(rows, []string{fmt.Sprintf("W%d", offset), "王五", validID("110105", "19800101", offset+50), "12345", "北京"})
		return Input{Path: failCSV(t, filepath.Join(dir, name), rows), Mapping: ga}
	}
	return []Input{file("b.csv", b, 100), file("a.csv", a, 200)}
}

// wantRejectRows are the rejected rows of cappedInputs, as file:row in the
// order the feedback lists them.
func wantRejectRows() []string { return rejectRows(10, 13) }

// rejectRows are the rejected rows of rejectInputs(a, b).
func rejectRows(a, b int) []string {
	var out []string
	for _, f := range []struct {
		name string
		n    int
	}{{"a.csv", a}, {"b.csv", b}} {
		for i := range f.n {
			out = append(out, fmt.Sprintf("%s:%d", f.name, i+2))
		}
	}
	return out
}

// cappedFeedback reads department ga's workbook and rejects CSV in out and
// returns the rejected rows each lists (file:row), checking the workbook's
// note, its summary's line and the CSV's BOM and header on the way.
func cappedFeedback(t *testing.T, out string, perSheet, total int) (sheet, extra []string) {
	t.Helper()
	const csvName = "ga-feedback-rejects.csv"
	f, err := excelize.OpenFile(filepath.Join(out, "ga-feedback.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("拒收明细")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != perSheet+3 {
		t.Fatalf("rejects sheet has %d lines, want the header, %d rows, a blank line and the note: %q", len(rows), perSheet, rows)
	}
	note := fmt.Sprintf("本表仅列出前 %d 行，其余 %d 行见随附文件 %s（UTF-8 编码，列与本表相同）", perSheet, total-perSheet, csvName)
	if diff := cmp.Diff([][]string{nil, {note}}, rows[perSheet+1:]); diff != "" {
		t.Errorf("rejects sheet's end (-want +got):\n%s", diff)
	}
	for _, r := range rows[1 : perSheet+1] {
		sheet = append(sheet, r[0]+":"+r[1])
	}
	summary, err := f.GetRows("汇总")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"拒收明细", fmt.Sprint(total), csvName, note}; !slices.ContainsFunc(summary, func(r []string) bool { return slices.Equal(r, want) }) {
		t.Errorf("summary %q lacks the line %q", summary, want)
	}
	if warnings, _ := f.GetRows("警告明细"); len(warnings) != 3 {
		t.Errorf("warnings sheet %q, want the header and one warning per file", warnings)
	}
	b, err := os.ReadFile(filepath.Join(out, csvName))
	if err != nil {
		t.Fatal(err)
	}
	body, ok := strings.CutPrefix(string(b), "\uFEFF")
	if !ok {
		t.Errorf("%s does not start with a UTF-8 BOM", csvName)
	}
	lines, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rows[0], lines[0]); diff != "" {
		t.Errorf("CSV header (-sheet +csv):\n%s", diff)
	}
	for _, l := range lines[1:] {
		extra = append(extra, l[0]+":"+l[1])
	}
	if _, err := os.Stat(filepath.Join(out, "ga-feedback-warnings.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a warnings CSV for warnings within the cap: %v", err)
	}
	return sheet, extra
}

// TestCheckFeedbackCapped: with more rejects than a detail sheet lists, the
// workbook lists the first ones and says where the rest are; the CSV beside
// it has exactly the rest, so that together they are every rejected row
// once, in file and row order.
func TestCheckFeedbackCapped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	res, err := Check(context.Background(), cappedInputs(t, dir), out, Options{FeedbackRows: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(out, "ga-feedback.xlsx"), filepath.Join(out, "ga-feedback-rejects.csv")}
	if diff := cmp.Diff(want, res.Feedback); diff != "" {
		t.Errorf("feedback files (-want +got):\n%s", diff)
	}
	sheet, extra := cappedFeedback(t, out, 5, 23)
	if diff := cmp.Diff(wantRejectRows(), append(sheet, extra...)); diff != "" {
		t.Errorf("rejected rows in the workbook, then the CSV (-want +got):\n%s", diff)
	}
}

// TestCheckFeedbackSpilled: a file with more findings than the Collector
// keeps in memory once it is read gives the same workbook, CSV and
// rejects, and the findings written out are gone after the run.
func TestCheckFeedbackSpilled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	n := spillMin + 10
	res, err := Check(context.Background(), rejectInputs(t, dir, 7, n), out, Options{FeedbackRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	sheet, extra := cappedFeedback(t, out, 1000, n+7)
	if diff := cmp.Diff(rejectRows(7, n), append(sheet, extra...)); diff != "" {
		t.Errorf("rejected rows in the workbook, then the CSV (-want +got):\n%s", diff)
	}
	pf, err := file.OpenParquetFile(res.RejectsParquet, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if got := pf.NumRows(); got != int64(n+7) {
		t.Errorf("rejects.parquet has %d rows, want %d", got, n+7)
	}
	if diff := cmp.Diff([]string{"ga-feedback-rejects.csv", "ga-feedback.xlsx", "rejects.parquet"}, dirNames(t, out)); diff != "" {
		t.Errorf("output folder (-want +got):\n%s", diff)
	}

	// The same path given twice is checked once: the same rows, none lost
	// or listed twice.
	inputs := rejectInputs(t, dir, 7, n)
	twice := filepath.Join(dir, "twice")
	if _, err := Check(context.Background(), append(inputs, inputs...), twice, Options{FeedbackRows: 1000}); err != nil {
		t.Fatal(err)
	}
	sheet, extra = cappedFeedback(t, twice, 1000, n+7)
	if diff := cmp.Diff(rejectRows(7, n), append(sheet, extra...)); diff != "" {
		t.Errorf("a path given twice: rejected rows (-want +got):\n%s", diff)
	}
}

func dirNames(t *testing.T, dir string) []string {
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

// TestImportFeedbackCapped: the import writes the same, and only if its run
// commits: a run cancelled after the workbooks were started leaves neither
// the workbook nor the CSV.
func TestImportFeedbackCapped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	inputs := cappedInputs(t, dir)
	pool := dbtest.New(t)
	ctx := context.Background()

	// A run cancelled while it waits to copy its rejects, after the
	// workbooks were started into its set. (EXCLUSIVE: the run may read
	// the table, so it finds it empty, cannot lock it to truncate, and
	// waits at its COPY, past the workbooks' start.)
	holder, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(ctx)
	if _, err := holder.Exec(ctx, `LOCK TABLE import_reject IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	failed := filepath.Join(dir, "failed")
	importCancelledAt(t, ctx, pool, "COPY%import_reject%", inputs, ImportConfig{Keyring: testKeyring(t), OutDir: failed, Options: Options{FeedbackRows: 5}})
	if err := holder.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(failed); err != nil || len(entries) != 0 {
		t.Errorf("a failed run left %v in its output folder (%v)", entries, err)
	}

	out := filepath.Join(dir, "out")
	res, err := Import(ctx, pool, inputs, ImportConfig{Keyring: testKeyring(t), OutDir: out, Options: Options{FeedbackRows: 5}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(out, "ga-feedback.xlsx"), filepath.Join(out, "ga-feedback-rejects.csv")}
	if diff := cmp.Diff(want, res.Feedback); diff != "" {
		t.Errorf("feedback files (-want +got):\n%s", diff)
	}
	sheet, extra := cappedFeedback(t, out, 5, 23)
	if diff := cmp.Diff(wantRejectRows(), append(sheet, extra...)); diff != "" {
		t.Errorf("rejected rows in the workbook, then the CSV (-want +got):\n%s", diff)
	}
	var stored int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM import_reject`).Scan(&stored); err != nil || stored != 23 {
		t.Errorf("import_reject holds %d rows (%v), want 23", stored, err)
	}
}

// TestWriteFeedbackOrder: whatever order the findings came in, the
// workbook and its CSV list them by file name, then row, then reason, a
// department's findings only in its own workbook, and those of a
// department without a report in none.
func TestWriteFeedbackOrder(t *testing.T) {
	t.Parallel()
	c := NewCollector()
	c.DetailRows = 3
	reject := func(code schemas.Code) findingKind { return findingKind{schemas.Reject, code, schemas.FieldIDNumber} }
	files := map[string]ingest.File{}
	for _, f := range []struct{ dept, path string }{{"ga", "/in/b.csv"}, {"ga", "/in/a.csv"}, {"rs", "/in/r.csv"}, {"xx", "/in/x.csv"}} {
		file := ingest.File{Dept: f.dept, SHA256: "sha-" + f.path, Path: f.path}
		files[f.path] = file
		ff := newFileFindings(f.dept, file.SHA256, filepath.Base(f.path))
		for row := int64(5); row >= 2; row-- { // last row first, the later reason first
			ff.add(row, reject(schemas.RequiredMissing), fmt.Sprint("K", row), "")
			ff.add(row, reject(schemas.IDBadChecksum), fmt.Sprint("K", row), "x")
		}
		ff.add(3, findingKind{schemas.Warning, schemas.PhoneInvalid, schemas.FieldPhone}, "K3", "12")
		c.files[keyOf(file)] = ff
	}
	var reports []FileReport
	for _, p := range []string{"/in/b.csv", "/in/a.csv", "/in/r.csv"} {
		m := &schemas.Mapping{Department: schemas.Department{Code: files[p].Dept, Name: "部门"}}
		reports = append(reports, FileReport{Input: Input{Path: p, Mapping: m}, File: files[p]})
	}
	dir := t.TempDir()
	set, err := output.NewSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if err := c.WriteFeedback(set, reports); err != nil {
		t.Fatal(err)
	}
	paths, err := set.Commit()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	if diff := cmp.Diff([]string{"ga-feedback.xlsx", "ga-feedback-rejects.csv", "rs-feedback.xlsx", "rs-feedback-rejects.csv"}, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	var want []string
	for _, file := range []string{"a.csv", "b.csv"} {
		for row := 2; row <= 5; row++ {
			want = append(want, fmt.Sprintf("%s:%d:%s", file, row, schemas.IDBadChecksum), fmt.Sprintf("%s:%d:%s", file, row, schemas.RequiredMissing))
		}
	}
	f, err := excelize.OpenFile(filepath.Join(dir, "ga-feedback.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	rows, _ := f.GetRows("拒收明细")
	for _, r := range rows[1:4] {
		got = append(got, r[0]+":"+r[1]+":"+r[5])
	}
	b, err := os.ReadFile(filepath.Join(dir, "ga-feedback-rejects.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines[1:] {
		got = append(got, l[0]+":"+l[1]+":"+l[5])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rejects listed (-want +got):\n%s", diff)
	}
	if warnings, _ := f.GetRows("警告明细"); len(warnings) != 3 || warnings[1][0] != "a.csv" || warnings[2][0] != "b.csv" {
		t.Errorf("warnings %q, want a.csv's then b.csv's", warnings)
	}
}

// TestSpillRoundTrip: a file's findings written out come back the same,
// in the same order, while the file's arrays are let go; dropping them
// removes the file.
func TestSpillRoundTrip(t *testing.T) {
	t.Parallel()
	ff := newFileFindings("ga", "sha", "a.csv")
	for i := range 50 {
		row := int64((i * 37) % 50) // rows out of order
		ff.add(row, findingKind{schemas.Reject, schemas.IDBadChecksum, schemas.FieldIDNumber}, fmt.Sprint("键", row), strings.Repeat("x", i))
		if i%3 == 0 {
			ff.add(row, findingKind{schemas.Warning, schemas.PhoneInvalid, schemas.FieldPhone}, "", "电话")
		}
	}
	var errBefore, errAfter error
	before := slices.Collect(ff.all(&errBefore))
	dir := t.TempDir()
	if err := ff.spill(dir); err != nil {
		t.Fatal(err)
	}
	if ff.len() != 0 || len(dirNames(t, dir)) != 1 {
		t.Errorf("after spilling: %d findings held, %q in the folder", ff.len(), dirNames(t, dir))
	}
	after := slices.Collect(ff.all(&errAfter))
	if errBefore != nil || errAfter != nil {
		t.Fatal(errBefore, errAfter)
	}
	if len(before) != 67 {
		t.Errorf("%d findings, want 67", len(before))
	}
	if diff := cmp.Diff(before, after, cmp.AllowUnexported(finding{})); diff != "" {
		t.Errorf("findings read back (-before +after):\n%s", diff)
	}
	ff.drop()
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("after drop: %q", names)
	}
}

// TestCollectorSpillsReadFiles: once a file with many findings is read to
// its end, the Collector writes them out to SpillDir and holds none of
// them; a file with few keeps them; Abandon and Close remove what was
// written out.
func TestCollectorSpillsReadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := NewCollector()
	c.SpillDir = dir
	kind := findingKind{schemas.Reject, schemas.IDBadChecksum, schemas.FieldIDNumber}
	files := []ingest.File{{Dept: "ga", SHA256: "big", Path: "/in/big.csv"}, {Dept: "ga", SHA256: "small", Path: "/in/small.csv"}, {Dept: "ga", SHA256: "gone", Path: "/in/gone.csv"}}
	for i, f := range files {
		ff := newFileFindings(f.Dept, f.SHA256, filepath.Base(f.Path))
		for row := range map[int]int{0: spillMin, 1: spillMin - 1, 2: spillMin}[i] {
			ff.add(int64(row+2), kind, "K", "v")
		}
		c.files[keyOf(f)] = ff
		if err := c.Done(f, cleanse.Stats{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := []int{c.files[keyOf(files[0])].len(), c.files[keyOf(files[1])].len()}; !slices.Equal(got, []int{0, spillMin - 1}) {
		t.Errorf("findings held %v, want none of the big file's and all of the small one's", got)
	}
	if n := len(dirNames(t, dir)); n != 2 {
		t.Errorf("%d files written out, want 2", n)
	}
	c.Abandon(files[2])
	if n := len(dirNames(t, dir)); n != 1 {
		t.Errorf("after Abandon: %d files written out, want 1", n)
	}
	var readErr error
	if n := len(slices.Collect(c.rejects(&readErr))); n != 2*spillMin-1 || readErr != nil {
		t.Errorf("%d rejects (%v), want %d", n, readErr, 2*spillMin-1)
	}
	c.Close()
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("after Close: %q", names)
	}
}

// TestSpilledFindingsDamaged: findings that cannot be read back whole fail
// the writing of the feedback, which then never appears, rather than
// giving a workbook that lacks rows.
func TestSpilledFindingsDamaged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := NewCollector()
	c.SpillDir = dir
	f := ingest.File{Dept: "ga", SHA256: "sha", Path: "/in/a.csv"}
	ff := newFileFindings(f.Dept, f.SHA256, "a.csv")
	for row := range spillMin {
		ff.add(int64(row+2), findingKind{schemas.Reject, schemas.IDBadChecksum, schemas.FieldIDNumber}, "K", "v")
	}
	c.files[keyOf(f)] = ff
	if err := c.Done(f, cleanse.Stats{}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := os.Truncate(ff.spilled.Name(), 100); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	set, err := output.NewSet(out)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	m := &schemas.Mapping{Department: schemas.Department{Code: "ga", Name: "部门"}}
	if err := c.WriteFeedback(set, []FileReport{{Input: Input{Path: f.Path, Mapping: m}, File: f}}); err == nil || !strings.Contains(err.Error(), "a.csv") {
		t.Errorf("WriteFeedback of damaged findings: err = %v, want one naming the file", err)
	}
}

// A run removes the findings folders runs that died left in its output
// folder (their process is gone), and keeps a live run's.
func TestDeadRunsSpillsRemoved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadDir := filepath.Join(out, fmt.Sprintf("%s%d-123", spillPrefix, dead.Process.Pid))
	liveDir := filepath.Join(out, fmt.Sprintf("%s%d-456", spillPrefix, os.Getpid()))
	oldDir := filepath.Join(out, spillPrefix+"789")
	// An older version's findings folder of a dead run goes too.
	olderDeadDir := filepath.Join(out, fmt.Sprintf(".findings-%d-321", dead.Process.Pid))
	for _, d := range []string{deadDir, liveDir, oldDir, olderDeadDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "findings-1.bin"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Check(context.Background(), rejectInputs(t, dir, 1, 1), out, Options{}); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{deadDir: false, liveDir: true, oldDir: true, olderDeadDir: false} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(d), err == nil, want)
		}
	}
}

// A later run into the same output folder whose sheets fit writes no CSV,
// and removes the one an earlier run left (its values in clear, its
// findings not the new workbook's).
func TestStaleOverflowCSVRemoved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	for _, d := range []string{first, second} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Check(context.Background(), rejectInputs(t, first, 7, 30), out, Options{FeedbackRows: 5}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ga-feedback-rejects.csv", "ga-feedback.xlsx", "rejects.parquet"}, dirNames(t, out)); diff != "" {
		t.Fatalf("first run's output folder (-want +got):\n%s", diff)
	}
	if _, err := Check(context.Background(), rejectInputs(t, second, 1, 1), out, Options{FeedbackRows: 5}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ga-feedback.xlsx", "rejects.parquet"}, dirNames(t, out)); diff != "" {
		t.Errorf("second run's output folder (-want +got):\n%s", diff)
	}
}
