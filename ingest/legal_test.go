package ingest

import (
	"context"
	"errors"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/schemas"
)

const legalXLSXMapping = `
department: {code: scjg, name: 省市场监管局}
priority: 1
entity: legal
columns:
  credit_code: 统一社会信用代码
  name: 企业名称
  rep_name: 法定代表人
  rep_id_number: 法定代表人证件号码
  phone: 联系电话
`

// TestReaderLegal: a legal mapping's file is read into RawLegal records,
// each field in its column, and id_numeric is about the representative's
// ID cell (stored as a number in the workbook).
func TestReaderLegal(t *testing.T) {
	t.Parallel()
	m, err := schemas.ParseMapping("scjg.yaml", []byte(legalXLSXMapping))
	if err != nil {
		t.Fatal(err)
	}
	path := writeXLSX(t, false, xlsxSheet{name: "Sheet1", rows: map[int][]any{
		1: {"企业名称", "统一社会信用代码", "联系电话", "法定代表人", "法定代表人证件号码"},
		2: {"某某科技有限公司", "91350100M000100Y43", "13912349071", "张三", "11010519491231002X"},
		3: {"某某贸易有限公司", "914403001922038216", 13912349072, "李四", 110105194912310000},
	}})
	r, err := Open(path, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if !rec.Schema().Equal(schemas.RawLegal) {
		t.Fatalf("schema %v, want RawLegal", rec.Schema())
	}
	var got [][]string
	for i := range int(rec.NumRows()) {
		var row []string
		for j := range schemas.EntityLegal.RawTail() + 3 {
			row = append(row, rec.Column(j).ValueStr(i))
		}
		got = append(got, row[schemas.RawFirstField:])
	}
	want := [][]string{
		{"某某科技有限公司", "91350100M000100Y43", "", "张三", "", "11010519491231002X", "", "", "", "", "13912349071", "", "", "", "false", "", ""},
		{"某某贸易有限公司", "914403001922038216", "", "李四", "", "110105194912310000", "", "", "", "", "13912349072", "", "", "", "true", "", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if n := rec.Column(schemas.EntityLegal.RawTail()).(*array.Boolean); n.Value(0) {
		t.Error("a text cell is not numeric")
	}
}

// TestReaderLegalMissingColumn: a mapped legal column missing from the
// header refuses the file, naming the field.
func TestReaderLegalMissingColumn(t *testing.T) {
	t.Parallel()
	m, err := schemas.ParseMapping("scjg.yaml", []byte(legalXLSXMapping))
	if err != nil {
		t.Fatal(err)
	}
	path := writeXLSX(t, false, xlsxSheet{name: "Sheet1", rows: map[int][]any{
		1: {"企业名称", "统一社会信用代码", "联系电话", "法定代表人"},
	}})
	_, err = Open(path, m, Options{})
	var ce *ColumnError
	if !errors.As(err, &ce) || ce.Field != schemas.FieldRepIDNumber {
		t.Fatalf("Open() = %v, want a ColumnError for rep_id_number", err)
	}
}
