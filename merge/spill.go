package merge

// Spilling: a run whose accepted rows do not fit its memory budget writes
// them, sealed (internal/sealfile), to partition files by the leading byte
// of their blind index, and merges and loads them a group of consecutive
// partitions at a time. Partitions split the key space in order, so the
// persons still come in blind index order, each whole in one partition, and
// the load is the same as if every row had been held.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/idfusion/idfusion/internal/sealfile"
	"github.com/idfusion/idfusion/schemas"
)

// partitions is how many partition files a spilling run writes: one per
// leading byte of the blind index. Adjacent partitions are loaded together
// while they fit the budget, so a small budget only means more groups.
const partitions = 256

var (
	rowSize   = int64(unsafe.Sizeof(Row{}))
	legalSize = int64(unsafe.Sizeof(LegalRow{}))
)

// The columns of a partition file: a Row, its department and file as an
// index into the run's sources (a file's sha256 is 64 bytes a row).
var spillSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: &arrow.FixedSizeBinaryType{ByteWidth: len(Key{})}},
	{Name: "source", Type: arrow.PrimitiveTypes.Int32},
	{Name: "row", Type: arrow.PrimitiveTypes.Int64},
	{Name: "priority", Type: arrow.PrimitiveTypes.Int32},
	{Name: "updated_at", Type: arrow.PrimitiveTypes.Int64},
	{Name: "birth", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "id_type", Type: arrow.BinaryTypes.String},
	{Name: "name", Type: arrow.BinaryTypes.String},
	{Name: "gender", Type: arrow.BinaryTypes.String},
	{Name: "phone", Type: arrow.BinaryTypes.String},
	{Name: "address", Type: arrow.BinaryTypes.String},
	{Name: "source_key", Type: arrow.BinaryTypes.String},
	{Name: "legal", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "legal_type", Type: arrow.BinaryTypes.String},
	{Name: "rep_name", Type: arrow.BinaryTypes.String},
	{Name: "rep_id_type", Type: arrow.BinaryTypes.String},
	{Name: "rep_id", Type: arrow.BinaryTypes.String},
	{Name: "rep_nationality", Type: arrow.BinaryTypes.String},
	{Name: "rep_key", Type: &arrow.FixedSizeBinaryType{ByteWidth: len(Key{})}, Nullable: true},
	{Name: "rep_from", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "rep_to", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "contact_name", Type: arrow.BinaryTypes.String},
	// mismatches: the row's gender and birth date warnings (see
	// appendMismatches), spilled with it so that none stays held.
	{Name: "mismatches", Type: arrow.BinaryTypes.Binary},
}, nil)

const (
	spKey = iota
	spSource
	spRow
	spPriority
	spUpdated
	spBirth
	spID
	spIDType
	spName
	spGender
	spPhone
	spAddress
	spSourceKey
	spLegal
	spLegalType
	spRepName
	spRepIDType
	spRepID
	spRepNationality
	spRepKey
	spRepFrom
	spRepTo
	spContact
	spMismatches
)

// spillBatch is how many rows a record of a partition file holds at most.
const spillBatch = 8192

// spiller holds a spilling run's partition files.
type spiller struct {
	dir    string
	budget int64
	// sources are the (department, file) pairs of the spilled rows, by
	// their index in the files.
	sources []Source
	index   map[Source]int32
	// spilled is how many rows of each source are in the files.
	spilled []int64
	parts   [partitions]partition
	// writers is what the open partition files' buffers cost
	// (sealfile.WriterBytes each): counted in the budget with the rows
	// held, since 256 of them are some 30 MB.
	writers int64
	// closed is set once the partitions are written to their end.
	closed bool
	// mismatch is the Merger's, whose entries go with their rows; buf is
	// reused to encode them.
	mismatch map[int64][]Mismatch
	buf      []byte
}

type partition struct {
	w    *sealfile.Writer
	ipc  *ipc.Writer
	file *sealfile.File
	rows int64
	// bytes is what the partition's rows cost held (as counted by add).
	bytes int64
}

// SpillTo makes m write the rows it collects to partition files in dir
// (which must exist and which the caller removes) whenever those it holds
// cost more than budget bytes, and Batches read them back a group of
// partitions at a time, each group within budget where a partition fits.
// Call before adding rows.
func (m *Merger) SpillTo(dir string, budget int64) {
	m.spill = &spiller{dir: dir, budget: max(budget, 1), index: map[Source]int32{}, mismatch: m.mismatch}
}

// Err is the first failure to spill rows (Batches yields it too).
func (m *Merger) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// BatchSeconds is how long Batches took to read back and merge the
// spilled rows: the merge stage of a spilling run, done during its load.
func (m *Merger) BatchSeconds() float64 { return m.batchTime.Seconds() }

// Spilled reports whether m wrote rows to disk.
func (m *Merger) Spilled() bool { return m.spill != nil && m.spilledRows > 0 }

// add keeps rows that cost bytes held, first spilling what m holds if
// they would take it over the budget. Spilling before, not after, lets
// the mismatches of the rows held (which come right after their rows) go
// with them.
func (m *Merger) add(rows []Row, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.spill == nil || m.err != nil:
	case m.spill.closed:
		m.err = errSpillClosed
	case m.held > 0 && m.held+m.spill.writers+bytes > m.spill.budget:
		m.err = m.spillHeld()
	}
	if m.err != nil {
		return // the run fails (Err); rows are no longer held
	}
	m.chunks = append(m.chunks, rows)
	m.held += bytes
}

// chunkBytes is what rows whose strings are in an arena of arenaCap bytes
// cost held, with legal of them legal persons'.
func chunkBytes(n, legal, arenaCap int) int64 {
	return int64(n)*rowSize + int64(legal)*legalSize + int64(arenaCap)
}

// spillHeld writes every row m holds to the partitions of their keys and
// lets go of them. Called with m.mu held.
func (m *Merger) spillHeld() error {
	s := m.spill
	var byPart [partitions][]*Row
	n := 0
	for _, c := range m.chunks {
		for i := range c {
			r := &c[i]
			byPart[r.Key[0]] = append(byPart[r.Key[0]], r)
			n++
		}
	}
	perRow := float64(m.held) / float64(max(n, 1))
	b := array.NewRecordBuilder(memory.DefaultAllocator, spillSchema)
	defer b.Release()
	for p, rows := range byPart {
		if len(rows) == 0 {
			continue
		}
		part := &s.parts[p]
		if part.w == nil {
			w, err := sealfile.Create(s.dir, fmt.Sprintf("rows-%03d-*.arrow", p))
			if err != nil {
				return fmt.Errorf("spill the accepted rows: %w", err)
			}
			part.w, part.ipc = w, ipc.NewWriter(w, ipc.WithSchema(spillSchema), ipc.WithAllocator(memory.DefaultAllocator))
			s.writers += sealfile.WriterBytes
		}
		for chunk := range slices.Chunk(rows, spillBatch) {
			reserve(b, chunk)
			for _, r := range chunk {
				s.append(b, r)
			}
			rec := b.NewRecord()
			err := part.ipc.Write(rec)
			rec.Release()
			if err != nil {
				return fmt.Errorf("spill the accepted rows: %w", err)
			}
		}
		part.rows += int64(len(rows))
		part.bytes += int64(perRow * float64(len(rows)))
	}
	m.spilledRows += int64(n)
	m.chunks, m.held = nil, 0
	return nil
}

// reserve sizes the builders for rows at once: grown value by value, they
// would copy their buffers again and again.
func reserve(b *array.RecordBuilder, rows []*Row) {
	b.Reserve(len(rows))
	var n [spMismatches]int
	for _, r := range rows {
		n[spID] += len(r.ID)
		n[spIDType] += len(r.IDType)
		n[spName] += len(r.Name)
		n[spGender] += len(r.Gender)
		n[spPhone] += len(r.Phone)
		n[spAddress] += len(r.Address)
		n[spSourceKey] += len(r.SourceKey)
		if l := r.Legal; l != nil {
			n[spLegalType] += len(l.Type)
			n[spRepName] += len(l.RepName)
			n[spRepIDType] += len(l.RepIDType)
			n[spRepID] += len(l.RepID)
			n[spRepNationality] += len(l.RepNationality)
			n[spContact] += len(l.ContactName)
		}
	}
	for col, size := range n {
		if size > 0 {
			b.Field(col).(*array.StringBuilder).ReserveData(size)
		}
	}
}

// append adds r to the record being built.
func (s *spiller) append(b *array.RecordBuilder, r *Row) {
	str := func(i int, v string) { b.Field(i).(*array.StringBuilder).Append(v) }
	src := Source{Dept: r.Dept, File: r.File}
	idx, ok := s.index[src]
	if !ok {
		idx = int32(len(s.sources))
		s.sources = append(s.sources, src)
		s.spilled = append(s.spilled, 0)
		s.index[src] = idx
	}
	s.spilled[idx]++
	b.Field(spKey).(*array.FixedSizeBinaryBuilder).Append(r.Key[:])
	b.Field(spSource).(*array.Int32Builder).Append(idx)
	b.Field(spRow).(*array.Int64Builder).Append(r.Row)
	b.Field(spPriority).(*array.Int32Builder).Append(r.Priority)
	b.Field(spUpdated).(*array.Int64Builder).Append(r.UpdatedAt)
	optInt32(b.Field(spBirth).(*array.Int32Builder), r.Birth, r.HasBirth)
	str(spID, r.ID)
	str(spIDType, r.IDType)
	str(spName, r.Name)
	str(spGender, r.Gender)
	str(spPhone, r.Phone)
	str(spAddress, r.Address)
	str(spSourceKey, r.SourceKey)
	l := r.Legal
	b.Field(spLegal).(*array.BooleanBuilder).Append(l != nil)
	if l == nil {
		l = &LegalRow{}
	}
	str(spLegalType, string(l.Type))
	str(spRepName, l.RepName)
	str(spRepIDType, l.RepIDType)
	str(spRepID, l.RepID)
	str(spRepNationality, l.RepNationality)
	if l.RepKey != (Key{}) {
		b.Field(spRepKey).(*array.FixedSizeBinaryBuilder).Append(l.RepKey[:])
	} else {
		b.Field(spRepKey).AppendNull()
	}
	optInt32(b.Field(spRepFrom).(*array.Int32Builder), l.RepFrom, l.HasRepFrom)
	optInt32(b.Field(spRepTo).(*array.Int32Builder), l.RepTo, l.HasRepTo)
	str(spContact, l.ContactName)
	s.buf = appendMismatches(s.buf[:0], s.mismatch, r)
	b.Field(spMismatches).(*array.BinaryBuilder).Append(s.buf)
}

// appendMismatches appends the mismatches of row r (those of its file
// among mismatch[r.Row]) to buf, each as its field and value (each a
// uvarint length and the bytes) and its priority (a varint), and removes
// them from mismatch.
func appendMismatches(buf []byte, mismatch map[int64][]Mismatch, r *Row) []byte {
	mms := mismatch[r.Row]
	if len(mms) == 0 {
		return buf
	}
	kept := mms[:0]
	for _, mm := range mms {
		if mm.File != r.File {
			kept = append(kept, mm)
			continue
		}
		buf = binary.AppendUvarint(buf, uint64(len(mm.Field)))
		buf = append(buf, mm.Field...)
		buf = binary.AppendUvarint(buf, uint64(len(mm.Value)))
		buf = append(buf, mm.Value...)
		buf = binary.AppendVarint(buf, int64(mm.Priority))
	}
	if len(kept) == 0 {
		delete(mismatch, r.Row)
	} else {
		mismatch[r.Row] = kept
	}
	return buf
}

// restoreMismatches puts the mismatches appendMismatches wrote for r back
// into mismatch.
func restoreMismatches(mismatch map[int64][]Mismatch, r *Row, enc []byte) error {
	text := func() (string, bool) {
		n, k := binary.Uvarint(enc)
		if k <= 0 || uint64(len(enc)-k) < n {
			return "", false
		}
		s := string(enc[k : k+int(n)])
		enc = enc[k+int(n):]
		return s, true
	}
	for len(enc) > 0 {
		field, ok1 := text()
		value, ok2 := text()
		var prio int64
		k := 0
		if ok1 && ok2 {
			prio, k = binary.Varint(enc)
		}
		if k <= 0 {
			return fmt.Errorf("read back the spilled rows: bad mismatch of row %d", r.Row)
		}
		enc = enc[k:]
		mismatch[r.Row] = append(mismatch[r.Row], Mismatch{Field: schemas.Field(field), Value: value,
			Source: Source{Dept: r.Dept, File: r.File, Row: r.Row, Priority: int32(prio)}})
	}
	return nil
}

// forgetMismatches removes the mismatches of rows from mismatch once their
// batch is loaded.
func forgetMismatches(mismatch map[int64][]Mismatch, rows []Row) {
	for i := range rows {
		r := &rows[i]
		mms, ok := mismatch[r.Row]
		if !ok {
			continue
		}
		if mms = slices.DeleteFunc(mms, func(mm Mismatch) bool { return mm.File == r.File }); len(mms) == 0 {
			delete(mismatch, r.Row)
		} else {
			mismatch[r.Row] = mms
		}
	}
}

func optInt32(b *array.Int32Builder, v int32, ok bool) {
	if ok {
		b.Append(v)
	} else {
		b.AppendNull()
	}
}

// finishSpill writes what m still holds to the partitions and closes them.
func (m *Merger) finishSpill() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if m.spill.closed {
		return nil
	}
	if err := m.spillHeld(); err != nil {
		return err
	}
	m.spill.closed = true
	for i := range m.spill.parts {
		p := &m.spill.parts[i]
		if p.w == nil {
			continue
		}
		err := p.ipc.Close()
		if err == nil {
			p.file, err = p.w.Close()
		} else {
			p.w.Abort()
		}
		p.w, p.ipc = nil, nil
		if err != nil {
			return fmt.Errorf("spill the accepted rows: %w", err)
		}
	}
	return nil
}

// removeSpill removes the partition files.
func (m *Merger) removeSpill() {
	if m.spill == nil {
		return
	}
	for i := range m.spill.parts {
		p := &m.spill.parts[i]
		if p.w != nil {
			p.ipc.Close()
			p.w.Abort()
		}
		if p.file != nil {
			p.file.Remove()
		}
		*p = partition{}
	}
}

// Batches yields the run's persons in blind index order, a batch at a
// time: all of them at once when m holds every row, else a group of
// consecutive partitions at a time, read back from disk. A batch's persons
// and rows are valid until the next is asked for. A failure to spill or to
// read back is yielded as the error, and ends the sequence.
func (m *Merger) Batches() iter.Seq2[[]Person, error] {
	return func(yield func([]Person, error) bool) {
		if !m.Spilled() {
			if m.err != nil {
				yield(nil, m.err)
				return
			}
			yield(m.Persons(), nil)
			return
		}
		if err := m.finishSpill(); err != nil {
			yield(nil, err)
			return
		}
		parts := m.spill.parts[:]
		for len(parts) > 0 {
			// The next group: consecutive partitions within the budget,
			// at least one.
			n, bytes := 1, parts[0].bytes
			for n < len(parts) && bytes+parts[n].bytes <= m.spill.budget {
				bytes += parts[n].bytes
				n++
			}
			group := parts[:n]
			parts = parts[n:]
			started := time.Now()
			m.chunks = nil
			for i := range group {
				if group[i].file == nil {
					continue
				}
				if err := m.readPartition(&group[i]); err != nil {
					m.chunks = nil
					yield(nil, err)
					return
				}
			}
			if len(m.chunks) == 0 {
				continue
			}
			persons := m.Persons()
			m.batchTime += time.Since(started)
			if !yield(persons, nil) {
				m.chunks = nil
				return
			}
			for _, c := range m.chunks {
				forgetMismatches(m.mismatch, c)
			}
			m.chunks = nil
		}
	}
}

// readPartition reads a partition's rows back into m.chunks, leaving out
// those of abandoned files.
func (m *Merger) readPartition(p *partition) error {
	r, err := ipc.NewReader(p.file.Reader(), ipc.WithSchema(spillSchema), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return fmt.Errorf("read back the spilled rows: %w", err)
	}
	defer r.Release()
	var read int64
	for r.Next() {
		rows, err := m.rowsOf(r.Record())
		if err != nil {
			return err
		}
		read += int64(len(rows))
		rows = slices.DeleteFunc(rows, func(r Row) bool { return m.abandoned[Source{Dept: r.Dept, File: r.File}] })
		m.chunks = append(m.chunks, rows)
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("read back the spilled rows: %w", err)
	}
	if read != p.rows {
		return fmt.Errorf("read back the spilled rows: %d of %d", read, p.rows)
	}
	return nil
}

// rowsOf converts a record of a partition file back into rows, their
// mismatches back into m.mismatch.
func (m *Merger) rowsOf(rec arrow.Record) ([]Row, error) {
	str := func(c int) *array.String { return rec.Column(c).(*array.String) }
	cols := []*array.String{str(spID), str(spIDType), str(spName), str(spGender), str(spPhone), str(spAddress), str(spSourceKey),
		str(spLegalType), str(spRepName), str(spRepIDType), str(spRepID), str(spRepNationality), str(spContact)}
	take := newArena(cols...).take
	keys := rec.Column(spKey).(*array.FixedSizeBinary)
	srcs := rec.Column(spSource).(*array.Int32)
	nums := rec.Column(spRow).(*array.Int64)
	prio := rec.Column(spPriority).(*array.Int32)
	upd := rec.Column(spUpdated).(*array.Int64)
	birth := rec.Column(spBirth).(*array.Int32)
	legal := rec.Column(spLegal).(*array.Boolean)
	repKeys := rec.Column(spRepKey).(*array.FixedSizeBinary)
	from, to := rec.Column(spRepFrom).(*array.Int32), rec.Column(spRepTo).(*array.Int32)
	mismatches := rec.Column(spMismatches).(*array.Binary)
	rows := make([]Row, rec.NumRows())
	for i := range rows {
		r := &rows[i]
		copy(r.Key[:], keys.Value(i))
		src := m.spill.sources[srcs.Value(i)]
		r.Dept, r.File, r.Row, r.Priority, r.UpdatedAt = src.Dept, src.File, nums.Value(i), prio.Value(i), upd.Value(i)
		if enc := mismatches.Value(i); len(enc) > 0 && !m.abandoned[Source{Dept: r.Dept, File: r.File}] {
			if err := restoreMismatches(m.mismatch, r, enc); err != nil {
				return nil, err
			}
		}
		if birth.IsValid(i) {
			r.Birth, r.HasBirth = birth.Value(i), true
		}
		r.ID, r.IDType, r.Name, r.Gender = take(cols[0].Value(i)), take(cols[1].Value(i)), take(cols[2].Value(i)), take(cols[3].Value(i))
		r.Phone, r.Address, r.SourceKey = take(cols[4].Value(i)), take(cols[5].Value(i)), take(cols[6].Value(i))
		if !legal.Value(i) {
			continue
		}
		l := &LegalRow{Type: schemas.LegalType(take(cols[7].Value(i))), RepName: take(cols[8].Value(i)), RepIDType: take(cols[9].Value(i)),
			RepID: take(cols[10].Value(i)), RepNationality: take(cols[11].Value(i)), ContactName: take(cols[12].Value(i))}
		if repKeys.IsValid(i) {
			copy(l.RepKey[:], repKeys.Value(i))
		}
		if from.IsValid(i) {
			l.RepFrom, l.HasRepFrom = from.Value(i), true
		}
		if to.IsValid(i) {
			l.RepTo, l.HasRepTo = to.Value(i), true
		}
		r.Legal = l
	}
	return rows, nil
}

// errSpillClosed is a run's error when rows come after Batches began.
var errSpillClosed = errors.New("merge: rows added after the spilled rows were read back")
