package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/schemas"
)

// TestCheckTruncatedCSV: a CSV copy cut off inside a quoted address (the
// Excel-written fixture of package ingest, cut in its last record) is no
// longer reported clean: its last row is refused, and the department's
// workbook says the file looks truncated; the rows before it are accepted.
func TestCheckTruncatedCSV(t *testing.T) {
	t.Parallel()
	whole, err := os.ReadFile(filepath.Join("..", "..", "ingest", "testdata", "multiline_excel.csv"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "dept.csv")
	if err := os.WriteFile(path, whole[:bytes.LastIndex(whole, []byte("Kowloon"))+3], 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := schemas.ParseMapping("dept.yaml", []byte(`
department: {code: dept, name: 某厅}
priority: 1
columns: {source_key: 编号, name: 姓名, id_number: 身份证号, phone: 手机号, address: 地址}
`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Check(context.Background(), []Input{{Path: path, Mapping: m}}, filepath.Join(dir, "out"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Files[0]
	if f.Read != 4 || f.Accepted != 3 || f.Rejected != 1 || f.Rejects[schemas.RowTruncated] != 1 {
		t.Fatalf("file summary %+v: want 4 read, 3 accepted, 1 rejected as %s", f, schemas.RowTruncated)
	}
	wb, err := excelize.OpenFile(res.Feedback[0])
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	rows, err := wb.GetRows("拒收明细")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"文件名", "行号", "源系统编号", "字段", "原值", "原因代码", "原因说明"},
		{"dept.csv", "7", "A4", "整行", "", "ROW_TRUNCATED", "文件在该行中途结束（引号内的字段没有结束），疑似传输或复制不完整，请重新导出完整文件"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rejects sheet (-want +got):\n%s", diff)
	}
}
