package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/idfusion/idfusion/schemas"
)

const testMapping = `
department: {code: test, name: 测试厅}
priority: 1
columns:
  name: 姓名
  id_number: 身份证号
  phone: 手机号
  source_key: 编号
`

func mustMapping(t testing.TB, yaml string) *schemas.Mapping {
	t.Helper()
	m, err := schemas.ParseMapping("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// got is one RawPerson row, reduced to what the tests compare.
type got struct {
	Row                  int64
	Name, ID, Phone, Key string
	Address              string
	Numeric              bool
	Defect, DefectField  string
}

func readAll(t testing.TB, path string, m *schemas.Mapping, opts Options) ([]got, File) {
	t.Helper()
	r, err := Open(path, m, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []got
	for {
		rec, err := r.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rows(rec)...)
		rec.Release()
	}
	return out, r.File()
}

func rows(rec arrow.Record) []got {
	s := func(c int) *array.String { return rec.Column(c).(*array.String) }
	var out []got
	for i := 0; i < int(rec.NumRows()); i++ {
		out = append(out, got{
			Row:         rec.Column(schemas.ColRow).(*array.Int64).Value(i),
			Name:        s(schemas.RawName).Value(i),
			ID:          s(schemas.RawIDNumber).Value(i),
			Phone:       s(schemas.RawPhone).Value(i),
			Key:         s(schemas.RawSourceKey).Value(i),
			Address:     s(schemas.RawAddress).Value(i),
			Numeric:     rec.Column(schemas.RawIDNumeric).(*array.Boolean).Value(i),
			Defect:      s(schemas.RawDefect).Value(i),
			DefectField: s(schemas.RawDefectField).Value(i),
		})
	}
	return out
}

func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gbk(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(b)
}

func TestCSVEncodings(t *testing.T) {
	t.Parallel()
	const text = "编号,姓名,身份证号,手机号\r\nA1,张三,11010519491231002X,13912349071\r\n\r\nA2,阿卜杜拉·买买提,\"440524188001010014\",\r\n"
	want := []got{
		{Row: 2, Name: "张三", ID: "11010519491231002X", Phone: "13912349071", Key: "A1"},
		{Row: 4, Name: "阿卜杜拉·买买提", ID: "440524188001010014", Key: "A2"},
	}
	tests := []struct {
		name     string
		bytes    []byte
		encoding string
		wantEnc  schemas.Encoding
	}{
		{"utf8", []byte(text), "", schemas.EncodingUTF8},
		{"utf8_bom", append([]byte("\uFEFF"), text...), "", schemas.EncodingUTF8},
		{"gbk_detected", gbk(t, text), "", schemas.EncodingGB18030},
		{"gbk_declared", gbk(t, text), "encoding: gbk\n", schemas.EncodingGBK},
		{"gb18030_declared", gbk(t, text), "encoding: gb18030\n", schemas.EncodingGB18030},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := mustMapping(t, testMapping+tt.encoding)
			gotRows, f := readAll(t, writeFile(t, "x.csv", tt.bytes), m, Options{})
			if diff := cmp.Diff(want, gotRows); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
			if f.Encoding != tt.wantEnc {
				t.Errorf("encoding = %s, want %s", f.Encoding, tt.wantEnc)
			}
		})
	}
}

func TestCSVRowDefects(t *testing.T) {
	t.Parallel()
	var b []byte
	b = append(b, gbk(t, "编号,姓名,身份证号,手机号\nA1,张三,11010519491231002X,139\nA2,李四,1,2,多余\nA3,王")...)
	b = append(b, 0xAA, 0xA1) // user-defined area: a rare name character with no Unicode mapping
	b = append(b, gbk(t, "五,11010519491231002X,\nA4,赵六\n")...)
	m := mustMapping(t, testMapping+"encoding: gbk\n")
	gotRows, _ := readAll(t, writeFile(t, "x.csv", b), m, Options{BatchRows: 2})
	want := []got{
		{Row: 2, Name: "张三", ID: "11010519491231002X", Phone: "139", Key: "A1"},
		{Row: 3, Name: "李四", ID: "1", Phone: "2", Key: "A2", Defect: "ROW_FIELD_COUNT"},
		{Row: 4, Name: "王\uFFFD五", ID: "11010519491231002X", Key: "A3", Defect: "FIELD_UNDECODABLE", DefectField: "name"},
		{Row: 5, Name: "赵六", Key: "A4", Defect: "ROW_FIELD_COUNT"},
	}
	if diff := cmp.Diff(want, gotRows); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}

func TestCSVInvalidUTF8(t *testing.T) {
	t.Parallel()
	b := []byte("\uFEFF编号,姓名,身份证号,手机号\nA1,张\xff三,11010519491231002X,\n")
	gotRows, _ := readAll(t, writeFile(t, "x.csv", b), mustMapping(t, testMapping), Options{})
	want := []got{{Row: 2, Name: "张\uFFFD三", ID: "11010519491231002X", Key: "A1", Defect: "FIELD_UNDECODABLE", DefectField: "name"}}
	if diff := cmp.Diff(want, gotRows); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}

func TestMissingColumn(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "dept.csv", []byte("编号,姓名,手机号\nA1,张三,139\n"))
	_, err := Open(p, mustMapping(t, testMapping), Options{})
	var ce *ColumnError
	if !errors.As(err, &ce) || !errors.Is(err, ErrMissingColumn) {
		t.Fatalf("Open() error = %v, want a ColumnError", err)
	}
	if diff := cmp.Diff(&ColumnError{Path: p, Column: "身份证号", Field: schemas.FieldIDNumber}, ce); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "dept.csv") || !strings.Contains(err.Error(), "身份证号") {
		t.Errorf("error %q does not name the file and the column", err)
	}
}

func TestHeaderMatchingIsForgiving(t *testing.T) {
	t.Parallel()
	// Full-width letters, stray spaces and a header row below a title.
	b := []byte("用户导出,,,\n 编号 ,姓 名,身份证号,手机号\nA1,张三,11010519491231002X,\n")
	m := mustMapping(t, testMapping+"header_row: 2\n")
	gotRows, _ := readAll(t, writeFile(t, "x.csv", b), m, Options{})
	want := []got{{Row: 3, Name: "张三", ID: "11010519491231002X", Key: "A1"}}
	if diff := cmp.Diff(want, gotRows); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}

func TestDetectEncoding(t *testing.T) {
	t.Parallel()
	zh := []byte("张三")
	tests := []struct {
		name   string
		sample []byte
		whole  bool
		want   schemas.Encoding
	}{
		{"ascii", []byte("a,b\n"), true, schemas.EncodingUTF8},
		{"utf8", zh, true, schemas.EncodingUTF8},
		{"utf8_cut_by_sample_end", zh[:4], false, schemas.EncodingUTF8},
		{"utf8_truncated_file", zh[:4], true, schemas.EncodingGB18030},
		{"gbk", gbk(t, "张三"), true, schemas.EncodingGB18030},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := detectEncoding(tt.sample, false, tt.whole); got != tt.want {
				t.Errorf("detectEncoding() = %s, want %s", got, tt.want)
			}
		})
	}
}

// FuzzCSVReader: any bytes give rows or an error naming the file, never a
// panic; row numbers stay within the file's lines and increase; a line
// break in a value is LF; only the last row can be cut by the end of the
// file.
func FuzzCSVReader(f *testing.F) {
	f.Add([]byte("编号,姓名,身份证号,手机号\nA1,张三,11010519491231002X,139\n"))
	f.Add([]byte("编号,姓名,身份证号,手机号\n\"A1\n,x\",\"\"\"\",1\n"))
	f.Add([]byte("编号,姓名,身份证号,手机号\r\nA1,\"张\r\n三\",1,2\r\nA2,\"李\r四,1,2"))
	f.Add([]byte("编号,姓名,身份证号,手机号\nA1,\"张三\"先生,1,2\nA2,\"李四\",1,2\n"))
	f.Add(append([]byte("\xef\xbb\xbf编号,姓名,身份证号,手机号\n"), 0xAA, 0xA1, ',', 0xff))
	f.Add(utf16Bytes("编号\t姓名\t身份证号\t手机号\r\nA1\t张三\t11010519491231002X\t139\r\n", binary.LittleEndian, true))
	m := mustMapping(f, testMapping)
	f.Fuzz(func(t *testing.T, b []byte) {
		p := writeFile(t, "f.csv", b)
		r, err := Open(p, m, Options{BatchRows: 3})
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		defer r.Close()
		lines := int64(strings.Count(string(b), "\n") + 1)
		last, truncated := int64(0), false
		for {
			rec, err := r.Next(context.Background())
			if err == io.EOF {
				return
			}
			if err != nil {
				if !strings.Contains(err.Error(), p) {
					t.Fatalf("error %q does not name the file", err)
				}
				return
			}
			for _, g := range rows(rec) {
				if g.Row < 2 || g.Row > lines {
					t.Fatalf("row %d out of range [2, %d]", g.Row, lines)
				}
				if g.Row <= last || truncated {
					t.Fatalf("row %d after row %d (truncated: %v)", g.Row, last, truncated)
				}
				last, truncated = g.Row, g.Defect == string(schemas.RowTruncated)
				for _, v := range []string{g.Name, g.ID, g.Phone, g.Key} {
					if !utf8Valid(v) {
						t.Fatalf("invalid UTF-8 %q in a record", v)
					}
					if strings.IndexByte(v, '\r') >= 0 {
						t.Fatalf("CR in %q", v)
					}
				}
			}
			rec.Release()
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

// TestCSVAwkwardExports: what real exporters write, read the way the
// department meant it, or rejected where a row cannot be trusted.
func TestCSVAwkwardExports(t *testing.T) {
	t.Parallel()
	const id = "11010519491231002X"
	tests := []struct {
		name  string
		bytes []byte
		extra string
		want  []got
	}{
		{"trailing_delimiter_on_every_line", []byte("编号,姓名,身份证号,手机号,\nA1,张三," + id + ",139,\n"), "",
			[]got{{Row: 2, Name: "张三", ID: id, Phone: "139", Key: "A1"}}},
		{"unclosed_quote_swallows_lines", []byte("编号,姓名,身份证号,手机号\nA1,\"张三," + id + ",139\nA2,李四," + id + ",138\nA3,王五," + id + ",137\n"), "",
			[]got{{Row: 2, Name: "张三," + id + ",139\nA2,李四," + id + ",138\nA3,王五," + id + ",137\n", Key: "A1", Defect: "ROW_MULTILINE"}}},
		{"gbk_pipe_delimiter_inside_a_character", gbk(t, "编号|姓名|身份证号|手机号\nA1|陈瑋|"+id+"|139\n"), "encoding: gbk\ndelimiter: \"|\"\n",
			[]got{{Row: 2, Name: "陈瑋", ID: id, Phone: "139", Key: "A1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gotRows, _ := readAll(t, writeFile(t, "x.csv", tt.bytes), mustMapping(t, testMapping+tt.extra), Options{})
			if tt.name == "unclosed_quote_swallows_lines" && len(gotRows) == 1 {
				gotRows[0].ID, gotRows[0].Phone = "", "" // the swallowed lines fill the first field; only the verdict matters
			}
			if diff := cmp.Diff(tt.want, gotRows); diff != "" {
				t.Errorf("rows mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
