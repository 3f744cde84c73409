package cleanse

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/schemas"
)

// in is one raw row for a stage test; fields not set are "".
type in struct {
	name, idType, id, gender, birth, phone, updated string
	numeric                                         bool
	defect, defectField                             string
}

func rawRecord(t *testing.T, rows []in) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemas.RawPerson)
	defer b.Release()
	s := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	for i, r := range rows {
		s(schemas.ColDept).Append("ga")
		s(schemas.ColFile).Append("sha")
		b.Field(schemas.ColRow).(*array.Int64Builder).Append(int64(i + 2))
		for _, v := range []struct {
			col int
			v   string
		}{
			{schemas.RawName, r.name}, {schemas.RawIDType, r.idType}, {schemas.RawIDNumber, r.id},
			{schemas.RawGender, r.gender}, {schemas.RawBirthDate, r.birth}, {schemas.RawPhone, r.phone},
			{schemas.RawAddress, ""}, {schemas.RawUpdatedAt, r.updated}, {schemas.RawSourceKey, "k"},
			{schemas.RawDefect, r.defect}, {schemas.RawDefectField, r.defectField},
		} {
			s(v.col).Append(v.v)
		}
		b.Field(schemas.RawIDNumeric).(*array.BooleanBuilder).Append(r.numeric)
	}
	return b.NewRecord()
}

// TestStageDecisions: each row is accepted with normalized values or
// rejected with exactly one code; warnings never drop a row.
func TestStageDecisions(t *testing.T) {
	t.Parallel()
	const id = "11010519491231002X" // GB 11643-1999's own example: female, 1949-12-31
	tests := []struct {
		name  string
		row   in
		clean []string // id_type, id, name, gender, birth, phone, updated_at
		finds []string // "severity code field"
	}{
		{"clean", in{name: "张三", id: id, gender: "女", birth: "1949-12-31", phone: "13912349071", updated: "2024-03-01 08:00:00"},
			[]string{"resident", id, "张三", "F", "1949-12-31", "13912349071", "2024-03-01 00:00:00Z"}, nil},
		{"defect_first", in{name: "张三", id: "", defect: "ROW_FIELD_COUNT"},
			nil, []string{"reject ROW_FIELD_COUNT "}},
		{"undecodable", in{name: "王\uFFFD", id: id, defect: "FIELD_UNDECODABLE", defectField: "name"},
			nil, []string{"reject FIELD_UNDECODABLE name"}},
		{"id_type_unknown", in{name: "张三", idType: "军官证", id: id},
			nil, []string{"reject ID_TYPE_UNKNOWN id_type"}},
		{"bad_checksum", in{name: "张三", id: "110105194912310021"},
			nil, []string{"reject ID_BAD_CHECKSUM id_number"}},
		{"foreign_card", in{name: "JOHN SMITH", idType: "外国人永久居留身份证", id: foreign2023},
			[]string{"foreign_pr", foreign2023, "JOHN SMITH", "M", "1990-01-01", "", "(null)"}, nil},
		{"foreign_card_bad_nationality", in{name: "JOHN SMITH", idType: "外国人永久居留身份证", id: withCheck("91100019900101001")},
			nil, []string{"reject ID_BAD_NATIONALITY id_number"}},
		{"numeric_cell", in{name: "张三", id: "110105194912310000", numeric: true},
			nil, []string{"reject ID_SCIENTIFIC_NOTATION id_number"}},
		{"name_empty", in{name: " ", id: id},
			nil, []string{"reject NAME_EMPTY name"}},
		{"warnings_keep_row", in{name: "张三", id: id, gender: "男", birth: "1950-01-01", phone: "12345", updated: "soon"},
			[]string{"resident", id, "张三", "F", "1949-12-31", "", "(null)"},
			[]string{"warning GENDER_MISMATCH gender", "warning BIRTH_DATE_MISMATCH birth_date", "warning PHONE_INVALID phone", "warning UPDATED_AT_INVALID updated_at"}},
		{"legacy15", in{name: "张三", id: "110105491231002"},
			[]string{"resident", id, "张三", "F", "1949-12-31", "", "(null)"},
			[]string{"warning ID_LEGACY_15 id_number"}},
	}
	m, err := schemas.ParseMapping("t.yaml", []byte("department: {code: ga, name: x}\npriority: 3\ncolumns: {id_number: a, name: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := NewStage(m, nil)
			defer st.Release()
			raw := rawRecord(t, []in{tt.row})
			defer raw.Release()
			clean, finds := st.Process(raw)
			defer clean.Release()
			defer finds.Release()
			var gotClean []string
			if clean.NumRows() == 1 {
				for _, c := range []int{schemas.CleanIDType, schemas.CleanIDNumber, schemas.CleanName, schemas.CleanGender, schemas.CleanBirthDate, schemas.CleanPhone, schemas.CleanUpdatedAt} {
					gotClean = append(gotClean, clean.Column(c).ValueStr(0))
				}
				if p := clean.Column(schemas.CleanPriority).(*array.Int32).Value(0); p != 3 {
					t.Errorf("priority = %d, want 3", p)
				}
			}
			var gotFinds []string
			for i := 0; i < int(finds.NumRows()); i++ {
				gotFinds = append(gotFinds, finds.Column(schemas.FindSeverity).ValueStr(i)+" "+
					finds.Column(schemas.FindCode).ValueStr(i)+" "+finds.Column(schemas.FindField).ValueStr(i))
			}
			if diff := cmp.Diff(tt.clean, gotClean); diff != "" {
				t.Errorf("clean row mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.finds, gotFinds); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s", diff)
			}
			if s := st.Stats(); s.Read != 1 || s.Accepted+s.Rejected != 1 {
				t.Errorf("stats %+v: read 1 = accepted + rejected", s)
			}
		})
	}
}

// TestStageNumericDates: a mapping that declares numbers reads them for
// both the birth date (an Excel serial, checked against the ID like text)
// and the update time (Unix milliseconds, an instant).
func TestStageNumericDates(t *testing.T) {
	t.Parallel()
	const id = "11010519491231002X" // born 1949-12-31
	m, err := schemas.ParseMapping("t.yaml", []byte("department: {code: ga, name: x}\npriority: 3\ncolumns: {id_number: a, name: b}\n"+
		"date_formats: [excel_serial]\nupdated_at_formats: [unix_ms]\n"))
	if err != nil {
		t.Fatal(err)
	}
	st := NewStage(m, nil)
	defer st.Release()
	raw := rawRecord(t, []in{
		{name: "张三", id: id, birth: "18263", updated: "1709251200000"},
		{name: "张三", id: id, birth: "18264", updated: "1709251200"}, // a day later; seconds, not milliseconds
	})
	defer raw.Release()
	clean, finds := st.Process(raw)
	defer clean.Release()
	defer finds.Release()
	var got []string
	for i := range int(clean.NumRows()) {
		got = append(got, clean.Column(schemas.CleanBirthDate).ValueStr(i)+" "+clean.Column(schemas.CleanUpdatedAt).ValueStr(i))
	}
	for i := range int(finds.NumRows()) {
		got = append(got, finds.Column(schemas.ColRow).ValueStr(i)+" "+finds.Column(schemas.FindCode).ValueStr(i))
	}
	want := []string{"1949-12-31 2024-03-01 00:00:00Z", "1949-12-31 (null)", "3 BIRTH_DATE_MISMATCH", "3 UPDATED_AT_INVALID"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}
