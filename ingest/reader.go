package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"golang.org/x/text/unicode/norm"

	"github.com/idfusion/idfusion/schemas"
)

// ErrMissingColumn is wrapped by a ColumnError.
var ErrMissingColumn = errors.New("mapped column not found in header")

// ColumnError reports a mapped column that the file's header lacks. The file
// is refused before any row is read.
type ColumnError struct {
	Path   string
	Column string // the department's header name
	Field  schemas.Field
}

func (e *ColumnError) Error() string {
	return fmt.Sprintf("%s: column %q (%s) not found in header", e.Path, e.Column, e.Field)
}

func (e *ColumnError) Unwrap() error { return ErrMissingColumn }

// Options tune a Reader. The zero value is ready to use.
type Options struct {
	// BatchRows is the number of rows per record. Default schemas.BatchRows.
	BatchRows int
	// Alloc allocates the record buffers. Default memory.DefaultAllocator.
	Alloc memory.Allocator
	// Format is the format the caller expects: like the mapping's, a file
	// whose content is another is refused.
	Format schemas.Format
	// ReuseBuffers lets each record reuse the buffers of the one before:
	// set it only when every record is released, and no string taken from
	// it is kept, before the next call to Next. It saves allocating and
	// zeroing a batch's memory for every batch.
	ReuseBuffers bool
}

// File describes the file a Reader reads.
type File struct {
	Path string
	// Dept is the department code from the mapping.
	Dept string
	// SHA256 is the hex digest of the file's bytes, its identity in lineage.
	SHA256 string
	// Size is the file size in bytes.
	Size int64
	// ModTime is the modification time seen before the file was hashed:
	// Changed compares against it.
	ModTime time.Time
	Format  schemas.Format
	// Encoding is the CSV encoding actually used (detected when auto).
	Encoding schemas.Encoding
}

// Reader streams one file as records of its mapping's entity's raw schema
// (schemas.RawPerson or schemas.RawLegal).
type Reader struct {
	file    File
	mapping *schemas.Mapping
	src     rowSource
	// fields are the entity's fields, schema is its raw schema and tail
	// the column of id_numeric (defect and defect_field follow).
	fields []schemas.Field
	schema *arrow.Schema
	tail   int
	// idField is the field whose cell's numeric flag is id_numeric: the
	// ID number, or a legal person's representative's.
	idField schemas.Field
	// col[i] is the source column of fields[i], -1 when unmapped.
	col       []int
	width     int
	batchRows int
	alloc     memory.Allocator
	// cols are the string columns of the raw schema by index (nil for others).
	cols []*schemas.StringColumn
	// consts hold the department and file columns, the same value in
	// every row: each record gets a slice of them instead of a copy.
	consts  [2]arrow.Array
	rowNum  []int64
	numeric *array.BooleanBuilder
	rows    int64
	done    bool
	reuse   bool // Options.ReuseBuffers
}

// Open hashes the file, opens it with the reader its content needs
// (sniff.go) and checks the header against the mapping. A mapped column missing from the
// header is a *ColumnError.
func Open(path string, m *schemas.Mapping, opts Options) (_ *Reader, err error) {
	f := File{Path: path, Dept: m.Department.Code}
	// The time is taken before the hash: a write during hashing or
	// reading shows as a change at the end.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	f.ModTime = fi.ModTime()
	var head []byte
	if f.SHA256, f.Size, head, err = hashFile(path); err != nil {
		return nil, err
	}
	if f.Format, err = chooseFormat(path, head, m, opts); err != nil {
		return nil, err
	}
	var src rowSource
	switch f.Format {
	case schemas.FormatCSV:
		var cs *csvSource
		cs, err = newCSVSource(path, m)
		if err == nil {
			f.Encoding = cs.enc
			src = cs
		}
	case schemas.FormatXLSX:
		src, err = newXLSXSource(path, m)
	case schemas.FormatXLS:
		src, err = newXLSSource(path, m)
	case schemas.FormatParquet, schemas.FormatArrow:
		src, err = newArrowSource(path, f.Format, m.Location())
	default:
		err = fmt.Errorf("%s: unsupported format %q", path, f.Format)
	}
	if err != nil {
		return nil, err
	}
	r := &Reader{file: f, mapping: m, src: src, batchRows: opts.BatchRows,
		fields: m.Entity.Fields(), schema: m.Entity.Raw(), tail: m.Entity.RawTail(), idField: schemas.FieldIDNumber}
	if m.Entity == schemas.EntityLegal {
		r.idField = schemas.FieldRepIDNumber
	}
	r.col = make([]int, len(r.fields))
	r.cols = make([]*schemas.StringColumn, r.schema.NumFields())
	defer func() {
		if err != nil {
			src.close()
		}
	}()
	if r.batchRows <= 0 {
		r.batchRows = schemas.BatchRows
	}
	hdr, err := src.header()
	if err != nil {
		return nil, err
	}
	if err := r.bindHeader(hdr); err != nil {
		return nil, err
	}
	alloc := opts.Alloc
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	r.alloc = alloc
	for i, f := range r.schema.Fields() {
		if f.Type.ID() != arrow.STRING || i == schemas.ColDept || i == schemas.ColFile {
			continue // the department and the file are in consts
		}
		// Room for typical values in mapped columns; unmapped ones and the
		// defect columns are mostly empty and grow only if need be.
		width := 0
		if fi := i - schemas.RawFirstField; fi >= 0 && fi < len(r.col) && r.col[fi] >= 0 {
			width = 20
		}
		r.cols[i] = schemas.NewStringColumn(r.batchRows, width)
	}
	r.reuse = opts.ReuseBuffers
	r.rowNum = make([]int64, 0, r.batchRows)
	for _, c := range r.cols {
		if c != nil {
			c.Reuse = opts.ReuseBuffers
		}
	}
	r.numeric = array.NewBooleanBuilder(alloc)
	return r, nil
}

// headerKey folds a header cell for matching: departments' exports differ
// in full-width forms, stray spaces and ASCII case.
func headerKey(s string) string {
	s = strings.TrimPrefix(s, "\uFEFF")
	s = norm.NFKC.String(strings.TrimSpace(s))
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}

func (r *Reader) bindHeader(hdr []string) error {
	r.width = len(hdr)
	pos := make(map[string]int, len(hdr))
	for i, h := range hdr {
		k := headerKey(h)
		if _, dup := pos[k]; !dup && k != "" {
			pos[k] = i
		}
	}
	for i, f := range r.fields {
		r.col[i] = -1
		name, ok := r.mapping.Columns[f]
		if !ok || name == "" {
			continue
		}
		idx, ok := pos[headerKey(name)]
		if !ok {
			return &ColumnError{Path: r.file.Path, Column: name, Field: f}
		}
		r.col[i] = idx
	}
	return nil
}

// File describes the file being read.
func (r *Reader) File() File { return r.file }

// Rows is the number of data rows read so far.
func (r *Reader) Rows() int64 { return r.rows }

// Progress reports how much of the file has been read and its total, in the
// source's units (bytes); for progress bars.
func (r *Reader) Progress() (done, total int64) { return r.src.progress() }

// Next returns the next record of up to BatchRows rows, or io.EOF after the
// last. The caller releases the record.
func (r *Reader) Next(ctx context.Context) (arrow.Record, error) {
	if r.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := 0
	for n < r.batchRows {
		row, err := r.src.next()
		if err == io.EOF {
			r.done = true
			break
		}
		if err != nil {
			r.newRecord().Release() // drop the partial batch
			return nil, err
		}
		r.append(row)
		n++
	}
	if n == 0 {
		return nil, io.EOF
	}
	r.rows += int64(n)
	return r.newRecord(), nil
}

func (r *Reader) newRecord() arrow.Record {
	cols := make([]arrow.Array, len(r.cols))
	for i, c := range r.cols {
		if c != nil {
			cols[i] = c.NewArray()
		}
	}
	n := len(r.rowNum)
	cols[schemas.ColDept] = r.constColumn(0, r.file.Dept, n)
	cols[schemas.ColFile] = r.constColumn(1, r.file.SHA256, n)
	nums := array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(r.rowNum))}, nil, 0, 0)
	cols[schemas.ColRow] = array.NewInt64Data(nums)
	nums.Release()
	if r.reuse {
		r.rowNum = r.rowNum[:0]
	} else {
		r.rowNum = make([]int64, 0, r.batchRows)
	}
	cols[r.tail] = r.numeric.NewArray()
	rec := array.NewRecord(r.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// constColumn returns n rows of v, a slice of consts[i].
func (r *Reader) constColumn(i int, v string, n int) arrow.Array {
	if r.consts[i] == nil || r.consts[i].Len() < n {
		if r.consts[i] != nil {
			r.consts[i].Release()
		}
		rows := max(n, r.batchRows)
		c := schemas.NewStringColumn(rows, len(v))
		for range rows {
			c.Append(v)
		}
		r.consts[i] = c.NewArray()
	}
	return array.NewSlice(r.consts[i], 0, int64(n))
}

func (r *Reader) append(row rawRow) {
	r.rowNum = append(r.rowNum, row.num)
	defect := row.defect
	var defField schemas.Field
	// Cells beyond the header that are empty are a trailing delimiter some
	// exporters put on every line, not a misplaced field.
	n := len(row.cells)
	for n > r.width && row.cells[n-1] == "" {
		n--
	}
	if defect == "" && n != r.width {
		defect = schemas.RowFieldCount
	}
	idNumeric := false
	for i, f := range r.fields {
		c := r.col[i]
		col := r.cols[schemas.RawFirstField+i]
		if c < 0 || c >= len(row.cells) {
			col.Append("")
			continue
		}
		v := row.cells[c]
		if !validText(v) {
			if defect == "" {
				defect, defField = schemas.FieldUndecoded, f
			}
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		col.Append(v)
		if f == r.idField && row.numeric != nil && c < len(row.numeric) {
			idNumeric = row.numeric[c]
		}
	}
	r.numeric.Append(idNumeric)
	r.cols[r.tail+1].Append(string(defect))
	r.cols[r.tail+2].Append(string(defField))
}

// validText reports whether s is valid UTF-8 without U+FFFD: decoders
// substitute U+FFFD for bytes they cannot map (GBK user-defined areas where
// legacy systems keep rare name characters), and such a value must never be
// stored garbled.
func validText(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		// Most values are ASCII: test eight bytes at a time.
		if (s[i]|s[i+1]|s[i+2]|s[i+3]|s[i+4]|s[i+5]|s[i+6]|s[i+7])&0x80 != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			// Two vectorised scans beat decoding rune by rune.
			return utf8.ValidString(s[i:]) && !strings.Contains(s[i:], "\uFFFD")
		}
	}
	return true
}

// Close releases the file and the builders.
func (r *Reader) Close() error {
	if r.numeric != nil {
		r.numeric.Release()
		r.numeric = nil
	}
	for i, c := range r.consts {
		if c != nil {
			c.Release()
			r.consts[i] = nil
		}
	}
	return r.src.close()
}

// ErrFileChanged is wrapped by Changed's error: the file was written to
// while it was read, so its rows may be neither the old nor the new file,
// and its hash not theirs.
var ErrFileChanged = errors.New("the file changed while it was read")

// Changed returns an error wrapping ErrFileChanged when the file is no
// longer as Open saw it (size or modification time), or is gone. Call it
// after the last record, before using the rows.
func (f File) Changed() error {
	fi, err := os.Stat(f.Path)
	if err != nil {
		return fmt.Errorf("%s: %w: %v", f.Path, ErrFileChanged, err)
	}
	if fi.Size() != f.Size || !fi.ModTime().Equal(f.ModTime) {
		return fmt.Errorf("%s: %w (size %d → %d)", f.Path, ErrFileChanged, f.Size, fi.Size())
	}
	return nil
}

// hashFile returns the file's SHA-256 and size, and its first headBytes
// bytes for chooseFormat.
func hashFile(path string) (sum string, size int64, head []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, nil, err
	}
	defer f.Close()
	head = make([]byte, headBytes)
	n, err := io.ReadFull(f, head)
	head = head[:n]
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	h := sha256.New()
	h.Write(head)
	rest, err := io.Copy(h, f)
	if err != nil {
		return "", 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), int64(n) + rest, head, nil
}
