package merge

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// Row is one accepted input row, as merge needs it.
type Row struct {
	ID, IDType, Name, Gender, Phone, Address string
	// Birth is days since the Unix epoch; HasBirth is false when unknown.
	Birth     int32
	HasBirth  bool
	SourceKey string
	Source
}

func (r *Row) candidate(v string) Candidate { return Candidate{Value: v, Source: r.Source} }

// Mismatch is a department's gender or birth date that disagrees with the
// ID number (a cleanse warning), kept as a conflict for review.
type Mismatch struct {
	Field schemas.Field
	Value string // as the department sent it
	Source
}

// Merger collects the clean rows of a run from many files and goroutines
// and groups them into persons. Grouping and survivorship give the same
// persons whatever the order of files and rows.
type Merger struct {
	mu   sync.Mutex
	recs []arrow.Record
	// chunks are the rows of each record added: appending records to one
	// growing slice would copy every row again and again.
	chunks [][]Row
	// mismatch holds the mismatches by row number (with the file in each
	// Mismatch): an integer key hashes far faster than a file hash.
	mismatch map[int64][]Mismatch
}

// NewMerger returns an empty Merger.
func NewMerger() *Merger { return &Merger{mismatch: map[int64][]Mismatch{}} }

// AddClean takes the rows of a CleanPerson record. It copies the values it
// needs into one buffer per record and does not retain the record: a run
// holds every row until the load, so the columns merge does not need
// (provenance repeated per row, dates already parsed) must not stay.
func (m *Merger) AddClean(rec arrow.Record) {
	str := func(c int) *array.String { return rec.Column(c).(*array.String) }
	n := int(rec.NumRows())
	if n == 0 {
		return
	}
	key, idType, id, name := str(schemas.CleanSourceKey), str(schemas.CleanIDType), str(schemas.CleanIDNumber), str(schemas.CleanName)
	gender, phone, addr := str(schemas.CleanGender), str(schemas.CleanPhone), str(schemas.CleanAddress)
	size := 0
	for _, c := range []*array.String{key, idType, id, name, gender, phone, addr} {
		size += len(c.ValueBytes())
	}
	arena := make([]byte, 0, size)
	// take copies v into the arena; the arena never grows past its
	// capacity, so earlier strings stay valid.
	take := func(v string) string {
		if v == "" {
			return ""
		}
		start := len(arena)
		arena = append(arena, v...)
		return unsafe.String(&arena[start], len(v))
	}
	// A record normally holds one file's rows: department and file are
	// copied once per change, not per row.
	depts, files := str(schemas.ColDept), str(schemas.ColFile)
	var dept, file string
	nums := rec.Column(schemas.ColRow).(*array.Int64)
	birth := rec.Column(schemas.CleanBirthDate).(*array.Date32)
	upd := rec.Column(schemas.CleanUpdatedAt).(*array.Timestamp)
	prio := rec.Column(schemas.CleanPriority).(*array.Int32)
	rows := make([]Row, n)
	for i := range rows {
		r := &rows[i]
		r.ID, r.IDType, r.Name, r.Gender = take(id.Value(i)), take(idType.Value(i)), take(name.Value(i)), take(gender.Value(i))
		// Free text may hold an ID number or phone in the wrong column:
		// the store keeps it masked.
		r.Phone, r.Address, r.SourceKey = take(phone.Value(i)), take(pii.Redact(addr.Value(i))), take(pii.Redact(key.Value(i)))
		if birth.IsValid(i) {
			r.Birth, r.HasBirth = int32(birth.Value(i)), true
		}
		if d := depts.Value(i); d != dept {
			dept = strings.Clone(d)
		}
		if f := files.Value(i); f != file {
			file = strings.Clone(f)
		}
		r.Dept, r.File, r.Row, r.Priority = dept, file, nums.Value(i), prio.Value(i)
		if upd.IsValid(i) {
			r.UpdatedAt = int64(upd.Value(i))
		}
	}
	m.mu.Lock()
	m.chunks = append(m.chunks, rows)
	m.mu.Unlock()
}

// AddFindings keeps the gender and birth date mismatches of a Finding
// record; priority is the department's.
func (m *Merger) AddFindings(rec arrow.Record, priority int32) {
	str := func(c int) *array.String { return rec.Column(c).(*array.String) }
	code, dept, file, value := str(schemas.FindCode), str(schemas.ColDept), str(schemas.ColFile), str(schemas.FindValue)
	nums := rec.Column(schemas.ColRow).(*array.Int64)
	var retained bool
	for i := 0; i < int(rec.NumRows()); i++ {
		var f schemas.Field
		switch schemas.Code(code.Value(i)) {
		case schemas.GenderMismatch:
			f = schemas.FieldGender
		case schemas.BirthDateMismatch:
			f = schemas.FieldBirthDate
		default:
			continue
		}
		if !retained {
			rec.Retain()
			retained = true
			m.mu.Lock()
			m.recs = append(m.recs, rec)
			m.mu.Unlock()
		}
		mm := Mismatch{Field: f, Value: value.Value(i), Source: Source{Dept: dept.Value(i), File: file.Value(i), Row: nums.Value(i), Priority: priority}}
		m.mu.Lock()
		m.mismatch[mm.Row] = append(m.mismatch[mm.Row], mm)
		m.mu.Unlock()
	}
}

// Abandon drops the rows and mismatches of a file (by sha256) that failed
// after some of its rows were added.
func (m *Merger) Abandon(file string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, c := range m.chunks {
		m.chunks[i] = slices.DeleteFunc(c, func(r Row) bool { return r.File == file })
	}
	for k, mms := range m.mismatch {
		if mms = slices.DeleteFunc(mms, func(mm Mismatch) bool { return mm.File == file }); len(mms) == 0 {
			delete(m.mismatch, k)
		} else {
			m.mismatch[k] = mms
		}
	}
}

// Release frees the retained records; persons and rows must not be used
// afterwards.
func (m *Merger) Release() {
	for _, r := range m.recs {
		r.Release()
	}
	m.recs, m.chunks = nil, nil
}

// Rows is the number of rows collected.
func (m *Merger) Rows() int {
	n := 0
	for _, c := range m.chunks {
		n += len(c)
	}
	return n
}

// Person is everything a run knows about one ID number.
type Person struct {
	ID     string
	IDType string
	Gender string
	Birth  int32
	// HasBirth is false when neither the ID nor any department has one.
	HasBirth bool
	Name     Candidate
	Phone    Candidate // Value "" when no department has a valid phone
	Address  Candidate
	// Names are the distinct names with the best source of each, in
	// survivorship order, when there is more than one: a conflict.
	Names []Candidate
	// Mismatches are the departments' genders and birth dates that
	// disagree with the ID number.
	Mismatches []Mismatch
	// Rows are the person's input rows, for lineage.
	Rows []Row
}

// Persons groups the collected rows by ID number and applies survivorship
// within the run. Persons are sorted by ID number.
func (m *Merger) Persons() []Person {
	rows, groups := sortRows(m.chunks)
	m.chunks = [][]Row{rows}
	out := make([]Person, 0, groups)
	cands := make([]Candidate, 0, 8)
	for lo := 0; lo < len(rows); {
		hi := lo + 1
		for hi < len(rows) && rows[hi].ID == rows[lo].ID {
			hi++
		}
		group := rows[lo:hi]
		p := Person{ID: group[0].ID, Rows: group}
		pick := func(rule Rule, v func(*Row) string) Candidate {
			cands = cands[:0]
			for i := range group {
				cands = append(cands, group[i].candidate(v(&group[i])))
			}
			best, _ := rule.Best(cands)
			return best
		}
		p.Name = pick(Survivorship[schemas.FieldName], func(r *Row) string { return r.Name })
		p.Phone = pick(Survivorship[schemas.FieldPhone], func(r *Row) string { return r.Phone })
		p.Address = pick(Survivorship[schemas.FieldAddress], func(r *Row) string { return r.Address })
		for i := range group {
			r := &group[i]
			if r.Source == p.Name.Source {
				p.IDType, p.Gender, p.Birth, p.HasBirth = r.IDType, r.Gender, r.Birth, r.HasBirth
			}
			for _, mm := range m.mismatch[r.Row] {
				if mm.File == r.File {
					p.Mismatches = append(p.Mismatches, mm)
				}
			}
		}
		if len(group) > 1 {
			if names := distinctNames(group); len(names) > 1 {
				p.Names = names
			}
		}
		out = append(out, p)
		lo = hi
	}
	return out
}

// sortKey orders rows by ID number, then department, file and row. The
// first 16 bytes of the ID, packed big-endian, decide almost every
// comparison without reading the row.
type sortKey struct {
	hi, lo uint64
	row    *Row
}

func newSortKey(r *Row) sortKey {
	var b [16]byte
	copy(b[:], r.ID)
	return sortKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), r}
}

func compareKeys(a, b sortKey) int {
	if c := cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo)); c != 0 {
		return c
	}
	ra, rb := a.row, b.row
	return cmp.Or(cmp.Compare(ra.ID, rb.ID), cmp.Compare(ra.Dept, rb.Dept), cmp.Compare(ra.File, rb.File), cmp.Compare(ra.Row, rb.Row))
}

// sortRows returns the rows of all chunks in one slice sorted by ID
// number, then department, file and row, and the number of distinct ID
// numbers. The two halves sort on two goroutines.
func sortRows(chunks [][]Row) ([]Row, int) {
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	keys := make([]sortKey, 0, n)
	for _, c := range chunks {
		for i := range c {
			keys = append(keys, newSortKey(&c[i]))
		}
	}
	half := len(keys) / 2
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(keys[:half], compareKeys) })
	slices.SortFunc(keys[half:], compareKeys)
	wg.Wait()
	rows := make([]Row, n)
	a, b := keys[:half], keys[half:]
	groups := 0
	var prev *Row
	for i := range rows {
		var k sortKey
		if len(b) == 0 || len(a) > 0 && compareKeys(a[0], b[0]) <= 0 {
			k, a = a[0], a[1:]
		} else {
			k, b = b[0], b[1:]
		}
		rows[i] = *k.row
		if prev == nil || prev.ID != k.row.ID {
			groups++
		}
		prev = k.row
	}
	return rows, groups
}

// distinctNames returns each distinct name once with its best source, in
// survivorship order.
func distinctNames(group []Row) []Candidate {
	var names []Candidate
	rule := Survivorship[schemas.FieldName]
	for i := range group {
		c := group[i].candidate(group[i].Name)
		j := slices.IndexFunc(names, func(n Candidate) bool { return n.Value == c.Value })
		if j < 0 {
			names = append(names, c)
		} else if rule.compare(c, names[j]) < 0 {
			names[j] = c
		}
	}
	slices.SortFunc(names, rule.compare)
	return names
}
