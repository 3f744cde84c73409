package cleanse

import (
	"strings"
	"time"
	"unicode"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/idfusion/idfusion/schemas"
)

// Stats counts what a Stage did. Rejected rows are counted once, under the
// code that rejected them; warnings are counted per finding.
type Stats struct {
	Read     int64
	Accepted int64
	Rejected int64
	Warnings int64
	ByCode   map[schemas.Code]int64
}

// Add adds o to s.
func (s *Stats) Add(o Stats) {
	s.Read += o.Read
	s.Accepted += o.Accepted
	s.Rejected += o.Rejected
	s.Warnings += o.Warnings
	if s.ByCode == nil {
		s.ByCode = map[schemas.Code]int64{}
	}
	for c, n := range o.ByCode {
		s.ByCode[c] += n
	}
}

// Stage is the batch cleanse stage for one department's files: records of
// the mapping's entity's raw schema in (RawPerson or RawLegal), its clean
// schema (CleanPerson or CleanLegal) and Finding records out. Each row is
// decided before anything is appended, so no record is filtered afterwards
// (arrow's Filter kernel is slow on strings). A Stage is not safe for
// concurrent use; use one per goroutine.
type Stage struct {
	m   *schemas.Mapping
	loc *time.Location
	// legal is whether the rows are legal persons' (legalRow).
	legal bool
	// fields are the entity's fields; tail is the raw column of id_numeric
	// (defect and defect_field follow); srcKey the raw source key column.
	fields []schemas.Field
	tail   int
	srcKey int
	// required are the positions in fields of the fields a row must have
	// besides the key (ID number or credit code) and the name, checked on
	// their own.
	required []int
	stats    Stats

	clean *array.RecordBuilder
	find  *array.RecordBuilder
	// cs and fs are the string columns of the clean schema and Finding by
	// index (nil for others), built outside the record builders for speed.
	cs    [schemas.LegalPriority + 1]*schemas.StringColumn
	cRow  *array.Int64Builder
	cDate *array.Date32Builder // birth date; a legal person's rep_id_start
	cEnd  *array.Date32Builder // a legal person's rep_id_end
	cUpd  *array.TimestampBuilder
	cPri  *array.Int32Builder
	fs    [schemas.FindValue + 1]*schemas.StringColumn
	fRow  *array.Int64Builder
}

// NewStage returns a Stage for rows read through m. alloc may be nil.
func NewStage(m *schemas.Mapping, alloc memory.Allocator) *Stage {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	s := &Stage{m: m, loc: m.Location(), stats: Stats{ByCode: map[schemas.Code]int64{}},
		legal: m.Entity == schemas.EntityLegal, fields: m.Entity.Fields(), tail: m.Entity.RawTail()}
	key := m.Entity.KeyField()
	for i, f := range s.fields {
		if f == schemas.FieldSourceKey {
			s.srcKey = schemas.RawFirstField + i
		}
		if f != key && f != schemas.FieldName && m.IsRequired(f) {
			s.required = append(s.required, i)
		}
	}
	s.clean = array.NewRecordBuilder(alloc, m.Entity.Clean())
	s.find = array.NewRecordBuilder(alloc, schemas.Finding)
	for i, b := range s.clean.Fields() {
		switch b := b.(type) {
		case *array.StringBuilder:
			s.cs[i] = schemas.NewStringColumn(schemas.BatchRows, 20)
		case *array.Int64Builder:
			s.cRow = b
		case *array.Date32Builder:
			if s.cDate == nil {
				s.cDate = b
			} else {
				s.cEnd = b
			}
		case *array.TimestampBuilder:
			s.cUpd = b
		case *array.Int32Builder:
			s.cPri = b
		}
	}
	for i, b := range s.find.Fields() {
		switch b := b.(type) {
		case *array.StringBuilder:
			s.fs[i] = schemas.NewStringColumn(1024, 8)
		case *array.Int64Builder:
			s.fRow = b
		}
	}
	return s
}

// Entity is the kind of record the stage cleanses.
func (s *Stage) Entity() schemas.Entity { return s.m.Entity }

// Stats returns the counts so far.
func (s *Stage) Stats() Stats { return s.stats }

// Release frees the builders.
func (s *Stage) Release() {
	s.clean.Release()
	s.find.Release()
}

// rawCols is the number of columns of the widest raw schema.
const rawCols = schemas.RawFirstField + 14 + 3

// rawRow gives by-index access to one raw row.
type rawRow struct {
	cols [rawCols]*array.String
	num  *array.Int64
	idn  *array.Boolean
	i    int
}

func (r *rawRow) str(col int) string { return r.cols[col].Value(r.i) }

// field is the raw value of f in the row, "" for a field the entity lacks.
func (s *Stage) field(r *rawRow, f schemas.Field) string {
	for i, g := range s.fields {
		if g == f {
			return r.str(schemas.RawFirstField + i)
		}
	}
	return ""
}

// Process cleanses one record of the entity's raw schema. The caller
// releases both results.
func (s *Stage) Process(raw arrow.Record) (clean, findings arrow.Record) {
	var r rawRow
	for i := range min(len(r.cols), int(raw.NumCols())) {
		if a, ok := raw.Column(i).(*array.String); ok {
			r.cols[i] = a
		}
	}
	r.num = raw.Column(schemas.ColRow).(*array.Int64)
	r.idn = raw.Column(s.tail).(*array.Boolean)
	n := int(raw.NumRows())
	if s.legal {
		for r.i = 0; r.i < n; r.i++ {
			s.legalRow(&r)
		}
	} else {
		for r.i = 0; r.i < n; r.i++ {
			s.row(&r)
		}
	}
	s.stats.Read += int64(n)
	return assemble(s.clean, s.cs[:]), assemble(s.find, s.fs[:])
}

// assemble makes a record from the builder's non-string columns and the
// string columns.
func assemble(b *array.RecordBuilder, strs []*schemas.StringColumn) arrow.Record {
	cols := make([]arrow.Array, len(b.Fields()))
	var n int64
	for i, f := range b.Fields() {
		if strs[i] != nil {
			cols[i] = strs[i].NewArray()
		} else {
			cols[i] = f.NewArray()
		}
		n = int64(cols[i].Len())
	}
	rec := array.NewRecord(b.Schema(), cols, n)
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// row decides one row: the first problem that rejects it, or the accepted
// values with their warnings.
func (s *Stage) row(r *rawRow) {
	if d := r.str(schemas.RawDefect); d != "" {
		f := schemas.Field(r.str(schemas.RawDefectField))
		s.reject(r, schemas.Code(d), f, s.field(r, f))
		return
	}
	rawID := r.str(schemas.RawIDNumber)
	rawType := r.str(schemas.RawIDType)
	want, ok := s.m.IDTypeOf(rawType)
	if !ok {
		s.reject(r, schemas.IDTypeUnknown, schemas.FieldIDType, rawType)
		return
	}
	id, code := ParseID(rawID, want, r.idn.Value(r.i))
	if code != "" {
		s.reject(r, code, schemas.FieldIDNumber, rawID)
		return
	}
	rawName := r.str(schemas.RawName)
	name, code := NormalizeName(rawName)
	if code != "" {
		s.reject(r, code, schemas.FieldName, rawName)
		return
	}
	for _, i := range s.required {
		if blank(r.str(schemas.RawName + i)) {
			s.reject(r, schemas.RequiredMissing, schemas.Fields[i], "")
			return
		}
	}

	// Accepted: warnings from here on never drop the row.
	for _, w := range id.Warnings {
		s.warn(r, w, schemas.FieldIDNumber, rawID)
	}
	gender := id.Gender
	if v := r.str(schemas.RawGender); !blank(v) {
		g, ok := ParseGender(v)
		switch {
		case !ok:
			s.warn(r, schemas.GenderInvalid, schemas.FieldGender, v)
		case gender != 0 && g != gender:
			s.warn(r, schemas.GenderMismatch, schemas.FieldGender, v)
		case gender == 0:
			gender = g
		}
	}
	birth := id.Birth
	if v := r.str(schemas.RawBirthDate); !blank(v) {
		d, ok := ParseDate(v, s.m.DateFormats, s.loc)
		switch {
		case !ok:
			s.warn(r, schemas.BirthDateInvalid, schemas.FieldBirthDate, v)
		case !birth.IsZero() && !sameDay(d, birth):
			s.warn(r, schemas.BirthDateMismatch, schemas.FieldBirthDate, v)
		case birth.IsZero():
			birth = d
		}
	}
	var phone string
	if v := r.str(schemas.RawPhone); !blank(v) {
		p, ok := NormalizePhone(v)
		if ok {
			phone = p
		} else {
			s.warn(r, schemas.PhoneInvalid, schemas.FieldPhone, v)
		}
	}
	var updated time.Time
	if v := r.str(schemas.RawUpdatedAt); !blank(v) {
		t, ok := ParseDate(v, s.m.UpdatedAtFormats, s.loc)
		if ok {
			updated = t
		} else {
			s.warn(r, schemas.UpdatedAtInvalid, schemas.FieldUpdatedAt, v)
		}
	}

	s.stats.Accepted++
	s.cs[schemas.ColDept].Append(r.str(schemas.ColDept))
	s.cs[schemas.ColFile].Append(r.str(schemas.ColFile))
	s.cRow.Append(r.num.Value(r.i))
	s.cs[schemas.CleanSourceKey].Append(trim(r.str(schemas.RawSourceKey)))
	s.cs[schemas.CleanIDType].Append(string(id.Type))
	s.cs[schemas.CleanIDNumber].Append(id.Number)
	s.cs[schemas.CleanName].Append(name)
	switch gender {
	case 'M':
		s.cs[schemas.CleanGender].Append("M")
	case 'F':
		s.cs[schemas.CleanGender].Append("F")
	default:
		s.cs[schemas.CleanGender].Append("")
	}
	if birth.IsZero() {
		s.cDate.AppendNull()
	} else {
		s.cDate.Append(arrow.Date32FromTime(time.Date(birth.Year(), birth.Month(), birth.Day(), 0, 0, 0, 0, time.UTC)))
	}
	s.cs[schemas.CleanPhone].Append(phone)
	s.cs[schemas.CleanAddress].Append(trim(r.str(schemas.RawAddress)))
	if updated.IsZero() {
		s.cUpd.AppendNull()
	} else {
		s.cUpd.Append(arrow.Timestamp(updated.UnixMilli()))
	}
	s.cPri.Append(int32(s.m.Priority))
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// trim is strings.TrimSpace with a fast path for values that need none.
func trim(s string) string {
	if s == "" || (s[0] > ' ' && s[0] < 0x80 && s[len(s)-1] > ' ' && s[len(s)-1] < 0x80) {
		return s
	}
	if len(s) > 0 && s[0] >= 0x80 && s[len(s)-1] > ' ' && s[len(s)-1] < 0x80 {
		return strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	return strings.TrimSpace(s)
}

// blank reports whether s is empty or only white space, without the cost
// of trimming in the common non-blank case.
func blank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			if s[i] < 0x80 {
				return false
			}
			return strings.TrimSpace(s[i:]) == ""
		}
	}
	return true
}

func (s *Stage) reject(r *rawRow, c schemas.Code, f schemas.Field, value string) {
	s.stats.Rejected++
	s.stats.ByCode[c]++
	s.finding(r, schemas.Reject, c, f, value)
}

func (s *Stage) warn(r *rawRow, c schemas.Code, f schemas.Field, value string) {
	s.stats.Warnings++
	s.stats.ByCode[c]++
	s.finding(r, schemas.Warning, c, f, value)
}

func (s *Stage) finding(r *rawRow, sev schemas.Severity, c schemas.Code, f schemas.Field, value string) {
	s.fs[schemas.ColDept].Append(r.str(schemas.ColDept))
	s.fs[schemas.ColFile].Append(r.str(schemas.ColFile))
	s.fRow.Append(r.num.Value(r.i))
	s.fs[schemas.FindSourceKey].Append(trim(r.str(s.srcKey)))
	s.fs[schemas.FindSeverity].Append(string(sev))
	s.fs[schemas.FindCode].Append(string(c))
	s.fs[schemas.FindField].Append(string(f))
	s.fs[schemas.FindValue].Append(value)
}
