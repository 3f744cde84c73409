package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/internal/pipeline"
	"github.com/idfusion/idfusion/internal/sample"
	"github.com/idfusion/idfusion/schemas"
)

// runCLI runs the fusion command in-process and returns its exit code and
// standard output.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, log: newLogger(os.Stderr), getenv: func(string) string { return "" }}
	code := run(context.Background(), e, args)
	if errb.Len() > 0 {
		t.Logf("stderr: %s", errb.String())
	}
	return code, out.String()
}

// TestGenCheckMatchesTruth: fusion gen, then fusion check on every
// department's file; the counts per file and per reason equal the
// generator's truth exactly.
func TestGenCheckMatchesTruth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _ := runCLI(t, "gen", "--out", dir, "--rows", "6000", "--seed", "7"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	var truth sample.Truth
	readJSON(t, filepath.Join(dir, "truth.json"), &truth)

	args := []string{"check", "--json", "--mapping-dir", filepath.Join(dir, "mappings"), "--out", filepath.Join(dir, "out")}
	for _, f := range truth.Files {
		args = append(args, filepath.Join(dir, f.Path))
	}
	code, stdout := runCLI(t, args...)
	if code != exitRejects {
		t.Fatalf("check exit code %d, want %d (rejects found)", code, exitRejects)
	}
	var res pipeline.CheckResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("check --json output: %v\n%s", err, stdout)
	}
	want := map[string]sample.TruthFile{}
	got := map[string]sample.TruthFile{}
	var rejected int64
	for _, f := range truth.Files {
		want[f.Dept] = f
		rejected += f.Rejected
	}
	for _, f := range res.Files {
		rel, _ := filepath.Rel(dir, f.Path)
		got[f.Dept] = sample.TruthFile{
			Dept: f.Dept, Path: rel, Rows: f.Read, Accepted: f.Accepted, Rejected: f.Rejected, Warnings: f.Warnings,
			Rejects: f.Rejects, WarningCodes: f.WarningCodes,
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("check vs truth mismatch (-want +got):\n%s", diff)
	}
	// Every dirt kind the generator knows shows up at this size.
	seen := map[schemas.Code]bool{}
	for _, f := range truth.Files {
		for c := range f.Rejects {
			seen[c] = true
		}
		for c := range f.WarningCodes {
			seen[c] = true
		}
	}
	if len(seen) < 17 {
		t.Errorf("only %d reason codes exercised: %v", len(seen), seen)
	}

	// The feedback workbooks list every rejected row; the Parquet file too,
	// with no ID number in clear.
	var listed int64
	for _, p := range res.Feedback {
		switch {
		case strings.HasSuffix(p, ".xlsx"):
			listed += int64(sheetRows(t, p, "拒收明细"))
		case strings.HasSuffix(p, "-feedback-rejects.csv"): // what a long list leaves out
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			listed += int64(len(lines) - 1)
		}
	}
	if listed != rejected {
		t.Errorf("feedback workbooks list %d rejected rows, want %d", listed, rejected)
	}
	if n, clear := parquetRejects(t, res.RejectsParquet); n != rejected || clear > 0 {
		t.Errorf("rejects.parquet has %d rows (want %d), %d with a clear ID number", n, rejected, clear)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// sheetRows counts the data rows (below the header) of a sheet.
func sheetRows(t *testing.T, path, sheet string) int {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	return len(rows) - 1
}

var clearID = regexp.MustCompile(`[0-9]{15}`)

func parquetRejects(t *testing.T, path string) (rows, clear int64) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	col := tbl.Column(schemas.FindValue)
	for _, chunk := range col.Data().Chunks() {
		for i := 0; i < chunk.Len(); i++ {
			if clearID.MatchString(chunk.ValueStr(i)) {
				clear++
			}
		}
	}
	return tbl.NumRows(), clear
}

// TestCheckUnusableInput: a bad mapping or a file without a mapped column
// exits 2, names the problem, and the other files are still checked.
func TestCheckUnusableInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _ := runCLI(t, "gen", "--out", dir, "--rows", "200", "--depts", "gongan"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	bad := filepath.Join(dir, "exports", "gongan_missing.csv")
	if err := os.WriteFile(bad, []byte("人员编号,姓名\nGA1,张三\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "exports", "gongan_users.csv")
	code, out := runCLI(t, "check", "--json", "--mapping", filepath.Join(dir, "mappings", "gongan.yaml"), "--out", filepath.Join(dir, "out"), good, bad)
	if code != exitUsage {
		t.Fatalf("exit code %d, want %d", code, exitUsage)
	}
	var res pipeline.CheckResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Files[0].Error != "" || res.Files[0].Read == 0 {
		t.Errorf("the good file was not checked: %+v", res.Files[0])
	}
	if e := res.Files[1].Error; !regexp.MustCompile(`gongan_missing.csv.*公民身份号码`).MatchString(e) {
		t.Errorf("error %q does not name the file and the missing column", e)
	}

	clean := filepath.Join(dir, "exports", "gongan_clean.csv")
	if err := os.WriteFile(clean, []byte("人员编号,姓名,公民身份号码,性别,出生日期,联系电话,户籍地址,更新时间\nGA1,张三,11010519491231002X,女,1949-12-31,13912349071,北京,2024-01-02 03:04:05\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _ := runCLI(t, "check", "--mapping", filepath.Join(dir, "mappings", "gongan.yaml"), "--out", filepath.Join(dir, "out2"), clean); code != exitOK {
		t.Errorf("clean file: exit code %d, want %d", code, exitOK)
	}

	badMapping := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badMapping, []byte("department: {code: ga}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _ := runCLI(t, "check", "--mapping", badMapping, good); code != exitUsage {
		t.Errorf("bad mapping: exit code %d, want %d", code, exitUsage)
	}
}
