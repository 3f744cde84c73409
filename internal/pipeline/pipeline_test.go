package pipeline

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/ingest"
	"github.com/idfusion/idfusion/schemas"
)

var sameRows = [][]string{
	{"编号", "姓名", "身份证号", "性别", "出生日期", "手机号", "地址", "更新时间"},
	{"A1", "张三", "11010519491231002X", "女", "1949-12-31", "13912349071", "北京市朝阳区", "2024-03-01 08:00:00"},
	{"A2", "阿卜杜拉·买买提", "'440524188001010014", "男", "1880-01-01", "+86 139-1234-9072", "海南省三亚市", "2023-01-02 09:30:00"},
	{"A3", "单 小曾", "110105491231002", "", "", "139 1234 9073", "", ""},
	{"A4", "解晓东", "１１０１０５１９４９１２３１００２ｘ", "女", "", "12345", "海口市\"龙华\"路1号", "not a time"},
	{"A5", "王五", "11010519491231002Y", "男", "", "", "", ""},
	{"A6", "", "46010219900101123X", "", "", "", "", ""},
	{"A7", "符=SUM", `="460102199001011231"`, "", "", "", "", ""},
	{"A8", "钱七", "11010519491231002X", "女", "", "", "北京市海淀区中关村大街1号\n3单元501室", ""}, // Alt+Enter
}

const sameMapping = `
department: {code: same, name: 同一文件}
priority: 1
columns:
  source_key: 编号
  name: 姓名
  id_number: 身份证号
  gender: 性别
  birth_date: 出生日期
  phone: 手机号
  address: 地址
  updated_at: 更新时间
`

// collect is a Sink that keeps accepted rows and findings as text.
type collect struct {
	mu    sync.Mutex
	clean [][]string
	finds [][]string
}

func recordText(rec arrow.Record, skip int) [][]string {
	var out [][]string
	for i := 0; i < int(rec.NumRows()); i++ {
		var row []string
		for c := skip; c < int(rec.NumCols()); c++ {
			row = append(row, rec.Column(c).ValueStr(i))
		}
		out = append(out, row)
	}
	return out
}

// Clean keeps rows without the file hash, which differs per format.
func (c *collect) Clean(_ ingest.File, rec arrow.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clean = append(c.clean, recordText(rec, schemas.ColRow)...)
	return nil
}

func (c *collect) Abandon(ingest.File) {}

func (c *collect) Done(ingest.File, cleanse.Stats) error { return nil }

func (c *collect) Findings(_ ingest.File, rec arrow.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finds = append(c.finds, recordText(rec, schemas.ColRow)...)
	return nil
}

// TestSameFileAnyFormat: one export saved as UTF-8 CSV, GBK CSV, GB18030
// CSV, XLSX (shared and inline strings) and Parquet gives the same accepted
// rows and the same findings, a multi-line address included.
func TestSameFileAnyFormat(t *testing.T) {
	t.Parallel()
	m, err := schemas.ParseMapping("same.yaml", []byte(sameMapping))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"utf8":    writeCSV(t, filepath.Join(dir, "u.csv"), "utf8"),
		"gbk":     writeCSV(t, filepath.Join(dir, "g.csv"), "gbk"),
		"gb18030": writeCSV(t, filepath.Join(dir, "g18.csv"), "gb18030"),
		"xlsx":    writeXLSX(t, filepath.Join(dir, "x.xlsx"), false),
		"xlsx_sw": writeXLSX(t, filepath.Join(dir, "s.xlsx"), true),
		"parquet": writeParquet(t, filepath.Join(dir, "p.parquet")),
	}
	results := map[string]*collect{}
	for name, path := range files {
		c := &collect{}
		reps, err := Run(context.Background(), []Input{{Path: path, Mapping: m}}, c, Options{})
		if err != nil || reps[0].Err != nil {
			t.Fatalf("%s: %v %v", name, err, reps[0].Err)
		}
		results[name] = c
	}
	want := results["utf8"]
	if len(want.clean) != 5 || len(want.finds) == 0 {
		t.Fatalf("utf8: %d accepted rows, %d findings; want 5 and some", len(want.clean), len(want.finds))
	}
	for name, got := range results {
		if diff := cmp.Diff(want.clean, got.clean); diff != "" {
			t.Errorf("%s: accepted rows differ from UTF-8 (-utf8 +%s):\n%s", name, name, diff)
		}
		if diff := cmp.Diff(want.finds, got.finds); diff != "" {
			t.Errorf("%s: findings differ from UTF-8 (-utf8 +%s):\n%s", name, name, diff)
		}
	}
}

func writeCSV(t *testing.T, path, enc string) string {
	t.Helper()
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.WriteAll(sameRows)
	text := b.String()
	switch enc {
	case "gbk":
		var err error
		if text, err = simplifiedchinese.GBK.NewEncoder().String(text); err != nil {
			t.Fatal(err)
		}
	case "gb18030":
		var err error
		if text, err = simplifiedchinese.GB18030.NewEncoder().String(text); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeXLSX(t *testing.T, path string, stream bool) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	var sw *excelize.StreamWriter
	if stream {
		var err error
		if sw, err = f.NewStreamWriter("Sheet1"); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range sameRows {
		cells := make([]any, len(r))
		for j, v := range r {
			cells[j] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		var err error
		if stream {
			err = sw.SetRow(cell, cells)
		} else {
			err = f.SetSheetRow("Sheet1", cell, &cells)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if stream {
		if err := sw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeParquet(t *testing.T, path string) string {
	t.Helper()
	var fields []arrow.Field
	for _, h := range sameRows[0] {
		fields = append(fields, arrow.Field{Name: h, Type: arrow.BinaryTypes.String})
	}
	sc := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, r := range sameRows[1:] {
		for j, v := range r {
			b.Field(j).(*array.StringBuilder).Append(v)
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMatchInputs(t *testing.T) {
	t.Parallel()
	ms := map[string]*schemas.Mapping{"gongan": {}, "renshe": {}}
	tests := []struct {
		path    string
		want    string
		wantErr bool
	}{
		{"exports/gongan_users.csv", "gongan", false},
		{"exports/renshe-2026-11.xlsx", "renshe", false},
		{"inbox/renshe/users.csv", "renshe", false},
		{"exports/weijian_users.csv", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			got, err := MatchInputs([]string{tt.path}, ms)
			if (err != nil) != tt.wantErr {
				t.Fatalf("MatchInputs() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && got[0].Mapping != ms[tt.want] {
				t.Errorf("MatchInputs(%q) picked the wrong department", tt.path)
			}
		})
	}
}
