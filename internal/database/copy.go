package database

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// CopyRow encodes one row of a binary COPY. Each method appends one field,
// in the order of the COPY's columns, in PostgreSQL's binary wire format;
// the caller must use the method matching the column's type (Int64 for
// bigint, Int32 for int, …): binary COPY does not convert.
//
// Encoding rows by hand instead of through pgx's CopyFrom([]any) avoids
// boxing every value and planning its encoding per row; for the millions of
// rows of an import that is most of the client's work during a load.
type CopyRow struct {
	buf []byte
}

func (r *CopyRow) field(n int) { r.buf = binary.BigEndian.AppendUint32(r.buf, uint32(n)) }

// Null appends SQL NULL.
func (r *CopyRow) Null() { r.buf = binary.BigEndian.AppendUint32(r.buf, 0xFFFFFFFF) }

// Int64 appends a bigint.
func (r *CopyRow) Int64(v int64) {
	r.field(8)
	r.buf = binary.BigEndian.AppendUint64(r.buf, uint64(v))
}

// Int64Ptr appends a bigint, or NULL for nil.
func (r *CopyRow) Int64Ptr(v *int64) {
	if v == nil {
		r.Null()
		return
	}
	r.Int64(*v)
}

// Int32 appends an int (int4).
func (r *CopyRow) Int32(v int32) {
	r.field(4)
	r.buf = binary.BigEndian.AppendUint32(r.buf, uint32(v))
}

// Bool appends a boolean.
func (r *CopyRow) Bool(v bool) {
	r.field(1)
	if v {
		r.buf = append(r.buf, 1)
	} else {
		r.buf = append(r.buf, 0)
	}
}

// Text appends a text value (UTF-8).
func (r *CopyRow) Text(s string) {
	r.field(len(s))
	r.buf = append(r.buf, s...)
}

// Bytea appends a bytea, or NULL for nil.
func (r *CopyRow) Bytea(b []byte) {
	if b == nil {
		r.Null()
		return
	}
	r.field(len(b))
	r.buf = append(r.buf, b...)
}

// ByteaFunc appends a bytea of n bytes written by fill, which appends
// exactly n bytes to its argument and returns it: values such as
// ciphertexts are written straight into the row.
func (r *CopyRow) ByteaFunc(n int, fill func([]byte) []byte) {
	r.field(n)
	start := len(r.buf)
	r.buf = fill(r.buf)
	if len(r.buf)-start != n {
		panic(fmt.Sprintf("database: ByteaFunc wrote %d bytes, announced %d", len(r.buf)-start, n))
	}
}

// TextFunc appends a text value written by fill, which appends it to its
// argument and returns it.
func (r *CopyRow) TextFunc(fill func([]byte) []byte) {
	start := len(r.buf)
	r.field(0)
	r.buf = fill(r.buf)
	binary.BigEndian.PutUint32(r.buf[start:], uint32(len(r.buf)-start-4))
}

// pgEpoch is where PostgreSQL's binary dates and timestamps count from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const pgEpochDays = 10957 // days from 1970-01-01 to 2000-01-01

// Date appends a date given as days since the Unix epoch.
func (r *CopyRow) Date(unixDays int32) { r.Int32(unixDays - pgEpochDays) }

// TimestampMilli appends a timestamptz given as Unix milliseconds.
func (r *CopyRow) TimestampMilli(ms int64) {
	r.Int64(ms*1000 - pgEpoch.UnixMicro())
}

// Raw appends a field already encoded (see EncodeTextArray).
func (r *CopyRow) Raw(field []byte) { r.buf = append(r.buf, field...) }

// EncodeTextArray returns the binary COPY field (length included) of a
// one-dimensional text[]: constant arrays are encoded once.
func EncodeTextArray(elems []string) []byte {
	var body []byte
	if len(elems) == 0 { // no dimensions: the empty array
		body = binary.BigEndian.AppendUint32(body, 0)
		body = binary.BigEndian.AppendUint32(body, 0)
		body = binary.BigEndian.AppendUint32(body, textOID)
	} else {
		body = binary.BigEndian.AppendUint32(body, 1) // dimensions
		body = binary.BigEndian.AppendUint32(body, 0) // no NULLs
		body = binary.BigEndian.AppendUint32(body, textOID)
		body = binary.BigEndian.AppendUint32(body, uint32(len(elems)))
		body = binary.BigEndian.AppendUint32(body, 1) // lower bound
	}
	for _, e := range elems {
		body = binary.BigEndian.AppendUint32(body, uint32(len(e)))
		body = append(body, e...)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

const textOID = 25

// copyReader is the io.Reader of a binary COPY. A producer goroutine
// encodes rows into chunks while the connection writes the previous ones:
// encoding and PostgreSQL's inserting then overlap instead of taking turns
// (a socket buffer holds about one chunk). A few chunks circulate between
// the two, so memory stays bounded whatever the number of rows.
type copyReader struct {
	full  chan []byte // encoded chunks, in order; closed after the last
	free  chan []byte // chunks to reuse
	stop  chan struct{}
	cur   []byte
	off   int
	err   error // the producer's, returned instead of the COPY's failure
	ended chan struct{}
}

var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

const (
	copyChunk  = 256 << 10
	copyChunks = 4
)

func newCopyReader(cols int, next func(*CopyRow) (bool, error)) *copyReader {
	c := &copyReader{full: make(chan []byte, copyChunks), free: make(chan []byte, copyChunks), stop: make(chan struct{}), ended: make(chan struct{})}
	for range copyChunks {
		c.free <- make([]byte, 0, copyChunk+copyChunk/4)
	}
	go c.produce(cols, next)
	return c
}

// produce encodes every row, chunk by chunk, until the last row, an error
// of next, or stop.
func (c *copyReader) produce(cols int, next func(*CopyRow) (bool, error)) {
	defer close(c.ended)
	defer close(c.full)
	row := CopyRow{buf: append(<-c.free, copyHeader...)}
	for {
		for len(row.buf) < copyChunk {
			mark := len(row.buf)
			row.buf = binary.BigEndian.AppendUint16(row.buf, uint16(cols))
			ok, err := next(&row)
			if err != nil {
				c.err = err
				return
			}
			if !ok {
				row.buf = binary.BigEndian.AppendUint16(row.buf[:mark], 0xFFFF) // trailer
				select {
				case c.full <- row.buf:
				case <-c.stop:
				}
				return
			}
		}
		select {
		case c.full <- row.buf:
		case <-c.stop:
			return
		}
		select {
		case b := <-c.free:
			row.buf = b[:0]
		case <-c.stop:
			return
		}
	}
}

func (c *copyReader) Read(p []byte) (int, error) {
	for c.off == len(c.cur) {
		if c.cur != nil {
			c.free <- c.cur // never blocks: at most copyChunks circulate
			c.cur = nil
		}
		b, ok := <-c.full
		if !ok {
			if c.err != nil {
				return 0, c.err
			}
			return 0, io.EOF
		}
		c.cur, c.off = b, 0
	}
	n := copy(p, c.cur[c.off:])
	c.off += n
	return n, nil
}

// close stops the producer and waits for it: next is never called after
// CopyBinary returns.
func (c *copyReader) close() {
	close(c.stop)
	<-c.ended
}

// CopyBinary COPYs into table the rows that next encodes, one per call,
// until next returns false, and returns how many rows PostgreSQL took.
// next must append exactly one field per column, in order; it runs on a
// goroutine of its own, one call at a time.
func CopyBinary(ctx context.Context, tx pgx.Tx, table string, cols []string, next func(*CopyRow) (bool, error)) (int64, error) {
	return copyBinary(ctx, tx, table, cols, false, next)
}

// CopyBinaryFreeze is CopyBinary with COPY's FREEZE option: the rows are
// written frozen, so no later reader or VACUUM rewrites their pages to set
// hint bits or freeze them. PostgreSQL accepts it only for a table created
// or truncated in the transaction (else the COPY fails and so does the
// transaction): the caller makes sure of that.
func CopyBinaryFreeze(ctx context.Context, tx pgx.Tx, table string, cols []string, next func(*CopyRow) (bool, error)) (int64, error) {
	return copyBinary(ctx, tx, table, cols, true, next)
}

func copyBinary(ctx context.Context, tx pgx.Tx, table string, cols []string, freeze bool, next func(*CopyRow) (bool, error)) (int64, error) {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	opts := "FORMAT binary"
	if freeze {
		opts += ", FREEZE"
	}
	sql := fmt.Sprintf("COPY %s (%s) FROM STDIN (%s)", pgx.Identifier{table}.Sanitize(), strings.Join(quoted, ", "), opts)
	r := newCopyReader(len(cols), next)
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, r, sql)
	r.close()
	if r.err != nil {
		err = r.err
	}
	if err != nil {
		return 0, fmt.Errorf("copy into %s: %w", table, err)
	}
	return tag.RowsAffected(), nil
}

// CopyAll COPYs every element of rows, encoded by encode, into table, and
// fails unless all were stored.
func CopyAll[T any](ctx context.Context, tx pgx.Tx, table string, cols []string, rows []T, encode func(*CopyRow, *T)) error {
	return copyAll(ctx, tx, table, cols, false, rows, encode)
}

// CopyAllFreeze is CopyAll with COPY's FREEZE option (see
// CopyBinaryFreeze).
func CopyAllFreeze[T any](ctx context.Context, tx pgx.Tx, table string, cols []string, rows []T, encode func(*CopyRow, *T)) error {
	return copyAll(ctx, tx, table, cols, true, rows, encode)
}

func copyAll[T any](ctx context.Context, tx pgx.Tx, table string, cols []string, freeze bool, rows []T, encode func(*CopyRow, *T)) error {
	if len(rows) == 0 {
		return nil
	}
	i := 0
	n, err := copyBinary(ctx, tx, table, cols, freeze, func(r *CopyRow) (bool, error) {
		if i == len(rows) {
			return false, nil
		}
		encode(r, &rows[i])
		i++
		return true, nil
	})
	if err != nil {
		return err
	}
	if n != int64(len(rows)) {
		return fmt.Errorf("copy into %s: %d of %d rows", table, n, len(rows))
	}
	return nil
}
