package merge

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// Row is one accepted input row, as merge needs it.
type Row struct {
	ID, IDType, Name, Gender, Phone, Address string
	// Key is the blind index of the ID number.
	Key Key
	// Birth is days since the Unix epoch; HasBirth is false when unknown.
	Birth     int32
	HasBirth  bool
	SourceKey string
	Source
	// Legal holds a legal person's own values (ID is then the credit code,
	// Key its blind index); nil for a natural person's row, which grows by
	// no more than this pointer.
	Legal *LegalRow
}

// LegalRow is what a legal person's row has besides a person's values.
type LegalRow struct {
	Type                                      schemas.LegalType // "" when the department sent none
	RepName, RepIDType, RepID, RepNationality string
	// RepKey is the blind index of RepID in the citizens' domain (a
	// citizen account's id_bidx); zero when the row names no ID.
	RepKey Key
	// RepFrom and RepTo bound the representative's ID in days since the
	// Unix epoch (RepTo 9999-12-31: 长期有效); Has* false when unknown.
	RepFrom, RepTo       int32
	HasRepFrom, HasRepTo bool
	ContactName          string
}

// Kind is the kind of account the row is about.
func (r *Row) Kind() schemas.AccountKind {
	if r.Legal != nil {
		return schemas.KindLegal
	}
	return schemas.KindNatural
}

// rep is the row's representative as one value (empty: none), so that
// survivorship picks all its fields from one row.
func (r *Row) rep() string {
	if r.Legal == nil || (r.Legal.RepName == "" && r.Legal.RepID == "") {
		return ""
	}
	return r.Legal.RepName + "\x00" + r.Legal.RepID
}

func (r *Row) contact() string {
	if r.Legal == nil {
		return ""
	}
	return r.Legal.ContactName
}

func (r *Row) legalType() string {
	if r.Legal == nil {
		return ""
	}
	return string(r.Legal.Type)
}

func (r *Row) candidate(v string) Candidate { return Candidate{Value: v, Source: r.Source} }

// Mismatch is a department's gender or birth date that disagrees with the
// ID number (a cleanse warning), kept as a conflict for review.
type Mismatch struct {
	Field schemas.Field
	Value string // as the department sent it
	Source
}

// Key is a person's key: the blind index of the ID number, the store's
// unique key of an account.
type Key [pii.BlindIndexLen]byte

// Merger collects the clean rows of a run from many files and goroutines
// and groups them into persons. Grouping and survivorship give the same
// persons whatever the order of files and rows.
type Merger struct {
	mu sync.Mutex
	// chunks are the rows of each record added: appending records to one
	// growing slice would copy every row again and again.
	chunks [][]Row
	// mismatch holds the mismatches by row number (with the file in each
	// Mismatch): an integer key hashes far faster than a file hash.
	mismatch map[int64][]Mismatch
	keys     *pii.Keyring
	// held is what the chunks cost (see chunkBytes).
	held int64
	// spill, if set, writes the rows to disk when they cost more than its
	// budget (see SpillTo); spilledRows have been written.
	spill       *spiller
	spilledRows int64
	// abandoned are the departments' files (by sha256) Abandon dropped:
	// their rows already spilled are left out when read back.
	abandoned map[Source]bool
	// err is the first failure to spill, reported by Batches.
	err error
	// batchTime is what Batches spent reading back and merging.
	batchTime time.Duration
}

// NewMerger returns an empty Merger that keys persons by the blind index
// of keys, the keyring of the store they are loaded into.
func NewMerger(keys *pii.Keyring) *Merger {
	return &Merger{mismatch: map[int64][]Mismatch{}, keys: keys, abandoned: map[Source]bool{}}
}

// AddClean takes the rows of a CleanPerson or CleanLegal record (by its
// schema). It copies the values it
// needs into one buffer per record and does not retain the record: a run
// holds every row until the load, so the columns merge does not need
// (provenance repeated per row, dates already parsed) must not stay.
func (m *Merger) AddClean(rec arrow.Record) {
	if rec.Schema().Equal(schemas.CleanLegal) {
		m.addLegal(rec)
		return
	}
	str := func(c int) *array.String { return rec.Column(c).(*array.String) }
	n := int(rec.NumRows())
	if n == 0 {
		return
	}
	key, idType, id, name := str(schemas.CleanSourceKey), str(schemas.CleanIDType), str(schemas.CleanIDNumber), str(schemas.CleanName)
	gender, phone, addr := str(schemas.CleanGender), str(schemas.CleanPhone), str(schemas.CleanAddress)
	a := newArena(key, idType, id, name, gender, phone, addr)
	take := a.take
	// A record normally holds one file's rows: department and file are
	// copied once per change, not per row.
	src := newSourceReader(rec, schemas.CleanUpdatedAt, schemas.CleanPriority)
	birth := rec.Column(schemas.CleanBirthDate).(*array.Date32)
	rows := make([]Row, n)
	for i := range rows {
		r := &rows[i]
		r.ID, r.IDType, r.Name, r.Gender = take(id.Value(i)), take(idType.Value(i)), take(name.Value(i)), take(gender.Value(i))
		account.AppendIDIndex(r.Key[:0], m.keys, r.ID)
		// Free text may hold an ID number or phone in the wrong column:
		// the store keeps it masked.
		r.Phone, r.Address, r.SourceKey = take(phone.Value(i)), take(pii.Redact(addr.Value(i))), take(pii.Redact(key.Value(i)))
		if birth.IsValid(i) {
			r.Birth, r.HasBirth = int32(birth.Value(i)), true
		}
		src.fill(&r.Source, i)
	}
	m.add(rows, chunkBytes(n, 0, cap(*a)))
}

// sourceReader reads the Source of a clean record's rows (persons' or legal
// persons': the provenance columns, the update time and the priority at
// their columns). A record normally holds one file's rows: department and
// file are copied once per change, not per row.
type sourceReader struct {
	depts, files *array.String
	nums         *array.Int64
	upd          *array.Timestamp
	prio         *array.Int32
	dept, file   string
}

func newSourceReader(rec arrow.Record, updCol, prioCol int) *sourceReader {
	return &sourceReader{depts: rec.Column(schemas.ColDept).(*array.String), files: rec.Column(schemas.ColFile).(*array.String),
		nums: rec.Column(schemas.ColRow).(*array.Int64), upd: rec.Column(updCol).(*array.Timestamp), prio: rec.Column(prioCol).(*array.Int32)}
}

// fill sets src to row i's source.
func (c *sourceReader) fill(src *Source, i int) {
	if d := c.depts.Value(i); d != c.dept {
		c.dept = strings.Clone(d)
	}
	if f := c.files.Value(i); f != c.file {
		c.file = strings.Clone(f)
	}
	src.Dept, src.File, src.Row, src.Priority = c.dept, c.file, c.nums.Value(i), c.prio.Value(i)
	if c.upd.IsValid(i) {
		src.UpdatedAt = int64(c.upd.Value(i))
	}
}

// arena holds copies of the strings of a record's columns in one buffer
// sized for all of them: it never grows past its capacity, so the strings
// taken earlier stay valid.
type arena []byte

func newArena(cols ...*array.String) *arena {
	size := 0
	for _, c := range cols {
		size += len(c.ValueBytes())
	}
	a := make(arena, 0, size)
	return &a
}

// take copies v into the arena.
func (a *arena) take(v string) string {
	if v == "" {
		return ""
	}
	start := len(*a)
	*a = append(*a, v...)
	return unsafe.String(&(*a)[start], len(v))
}

// AddFindings keeps the gender and birth date mismatches of a Finding
// record; priority is the department's. The values are copied: a record
// is not kept for a few of its rows.
func (m *Merger) AddFindings(rec arrow.Record, priority int32) {
	str := func(c int) *array.String { return rec.Column(c).(*array.String) }
	code, dept, file, value := str(schemas.FindCode), str(schemas.ColDept), str(schemas.ColFile), str(schemas.FindValue)
	nums := rec.Column(schemas.ColRow).(*array.Int64)
	var src sourceStrings
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
		d, fl := src.of(dept.Value(i), file.Value(i))
		mm := Mismatch{Field: f, Value: strings.Clone(value.Value(i)), Source: Source{Dept: d, File: fl, Row: nums.Value(i), Priority: priority}}
		m.mu.Lock()
		m.mismatch[mm.Row] = append(m.mismatch[mm.Row], mm)
		m.mu.Unlock()
	}
}

// sourceStrings copies a record's department and file once per change.
type sourceStrings struct{ dept, file string }

func (c *sourceStrings) of(dept, file string) (string, string) {
	if dept != c.dept {
		c.dept = strings.Clone(dept)
	}
	if file != c.file {
		c.file = strings.Clone(file)
	}
	return c.dept, c.file
}

// Abandon drops the rows and mismatches of a department's file (by
// sha256) that failed after some of its rows were added; those already
// spilled are left out when read back.
func (m *Merger) Abandon(dept, file string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.abandoned[Source{Dept: dept, File: file}] = true
	for i, c := range m.chunks {
		m.chunks[i] = slices.DeleteFunc(c, func(r Row) bool { return r.File == file && r.Dept == dept })
	}
	for k, mms := range m.mismatch {
		if mms = slices.DeleteFunc(mms, func(mm Mismatch) bool { return mm.File == file && mm.Dept == dept }); len(mms) == 0 {
			delete(m.mismatch, k)
		} else {
			m.mismatch[k] = mms
		}
	}
}

// Release lets go of the rows and removes the spilled ones; persons and
// rows must not be used afterwards.
func (m *Merger) Release() {
	m.chunks = nil
	m.removeSpill()
}

// Rows is the number of rows collected, held or spilled, but for those
// of abandoned files.
func (m *Merger) Rows() int {
	n := int(m.spilledRows)
	if m.spill != nil {
		for src := range m.abandoned {
			if idx, ok := m.spill.index[src]; ok {
				n -= int(m.spill.spilled[idx])
			}
		}
	}
	for _, c := range m.chunks {
		n += len(c)
	}
	return n
}

// Person is everything a run knows about one ID number, or about one
// legal person's credit code (Kind legal: ID is the code).
type Person struct {
	Kind   schemas.AccountKind
	Key    Key
	ID     string
	IDType string
	Gender string
	Birth  int32
	// HasBirth is false when neither the ID nor any department has one.
	HasBirth bool
	// Names are the distinct names with the best source of each, in
	// survivorship order, when there is more than one: a conflict.
	Names []Candidate
	// Mismatches are the departments' genders and birth dates that
	// disagree with the ID number.
	Mismatches []Mismatch
	// Rows are the person's input rows, for lineage. They point into the
	// Merger's buffers: valid until Release.
	Rows []*Row
	// LegalType is a legal person's type (the best row's that has one;
	// LegalEnterprise when none has).
	LegalType schemas.LegalType
	// Reps are a legal person's distinct representatives' IDs (by their
	// blind index, repKeys in the same order) as conflict candidates, in
	// survivorship order: more than one is a conflict.
	Reps    []Candidate
	repKeys []Key
	// nameRow, phoneRow and addressRow (and a legal person's repRow and
	// contactRow) are the indexes in Rows of the rows the values came
	// from; -1 when the value is empty.
	nameRow, phoneRow, addressRow, repRow, contactRow int32
}

// Name is the surviving name with its source.
func (p *Person) Name() Candidate {
	return p.candidate(p.nameRow, func(r *Row) string { return r.Name })
}

// Phone is the surviving phone with its source; its Value is "" when no
// department has a valid phone.
func (p *Person) Phone() Candidate {
	return p.candidate(p.phoneRow, func(r *Row) string { return r.Phone })
}

// Address is the surviving address with its source.
func (p *Person) Address() Candidate {
	return p.candidate(p.addressRow, func(r *Row) string { return r.Address })
}

func (p *Person) candidate(i int32, v func(*Row) string) Candidate {
	if i < 0 {
		return Candidate{}
	}
	r := p.Rows[i]
	return r.candidate(v(r))
}

// Persons groups the collected rows by ID number and applies survivorship
// within the run. Persons are sorted by Key: the order in which the store
// indexes them.
func (m *Merger) Persons() []Person {
	rows := sortRows(m.chunks)
	// Two halves, split between two ID numbers, on two goroutines, each
	// filling its part of out.
	mid := len(rows) / 2
	for mid > 0 && mid < len(rows) && rows[mid].Key == rows[mid-1].Key {
		mid++
	}
	first, second := groups(rows[:mid]), groups(rows[mid:])
	out := make([]Person, first+second)
	var wg sync.WaitGroup
	wg.Go(func() { m.persons(rows[mid:], out[first:]) })
	m.persons(rows[:mid], out[:first])
	wg.Wait()
	return out
}

// groups counts the distinct persons of sorted rows.
func groups(rows []*Row) int {
	n := 0
	for i := range rows {
		if i == 0 || rows[i].Key != rows[i-1].Key {
			n++
		}
	}
	return n
}

// persons fills out with the persons of sorted rows.
func (m *Merger) persons(rows []*Row, out []Person) {
	cands := make([]Candidate, 0, 8)
	for lo := 0; lo < len(rows); {
		hi := lo + 1
		for hi < len(rows) && rows[hi].Key == rows[lo].Key {
			hi++
		}
		group := rows[lo:hi]
		p := Person{Kind: group[0].Kind(), Key: group[0].Key, ID: group[0].ID, Rows: group, repRow: -1, contactRow: -1}
		// pick returns the index of the best candidate and, when its
		// value is empty, -1 as the value's row.
		pick := func(rule Rule, v func(*Row) string) (best, row int32) {
			cands = cands[:0]
			for i := range group {
				cands = append(cands, group[i].candidate(v(group[i])))
			}
			i := int32(rule.bestIndex(cands))
			if cands[i].Value == "" {
				return i, -1
			}
			return i, i
		}
		var identity int32 // the row the name comes from gives the identity fields
		identity, p.nameRow = pick(Survivorship[schemas.FieldName], func(r *Row) string { return r.Name })
		_, p.phoneRow = pick(Survivorship[schemas.FieldPhone], func(r *Row) string { return r.Phone })
		_, p.addressRow = pick(Survivorship[schemas.FieldAddress], func(r *Row) string { return r.Address })
		id := group[identity]
		p.IDType, p.Gender, p.Birth, p.HasBirth = id.IDType, id.Gender, id.Birth, id.HasBirth
		if p.Kind == schemas.KindLegal {
			_, p.repRow = pick(Survivorship[schemas.FieldRepName], (*Row).rep)
			_, p.contactRow = pick(Survivorship[schemas.FieldContactName], (*Row).contact)
			p.LegalType = schemas.LegalEnterprise
			if _, t := pick(Survivorship[schemas.FieldName], (*Row).legalType); t >= 0 {
				p.LegalType = group[t].Legal.Type
			}
			p.Reps, p.repKeys = distinctReps(group)
		}
		for i := range group {
			r := group[i]
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
		out[0], out = p, out[1:]
		lo = hi
	}
}

// sortKey orders rows by Key, then department, file and row. The first 16
// bytes of the key decide almost every comparison without reading the row.
type sortKey struct {
	hi, lo uint64
	row    *Row
}

func newSortKey(r *Row) sortKey {
	return sortKey{binary.BigEndian.Uint64(r.Key[:8]), binary.BigEndian.Uint64(r.Key[8:16]), r}
}

func compareKeys(a, b sortKey) int {
	if c := cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo)); c != 0 {
		return c
	}
	ra, rb := a.row, b.row
	return cmp.Or(bytes.Compare(ra.Key[:], rb.Key[:]), cmp.Compare(ra.Dept, rb.Dept), cmp.Compare(ra.File, rb.File), cmp.Compare(ra.Row, rb.Row))
}

// sortRows returns the rows of all chunks sorted by Key, then department,
// file and row.
func sortRows(chunks [][]Row) []*Row {
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
	keys = sortParallel(keys, compareKeys)
	rows := make([]*Row, n)
	for i, k := range keys {
		rows[i] = k.row
	}
	return rows
}

// distinctNames returns each distinct name once with its best source, in
// survivorship order.
func distinctNames(group []*Row) []Candidate {
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
