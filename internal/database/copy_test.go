package database_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/dbtest"
)

// TestCopyBinary writes every field type CopyBinary encodes, over several
// chunks, and reads the rows back through PostgreSQL's own decoding.
func TestCopyBinary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.NewTx(t)
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE c (
		i8 bigint, i4 int, b bool, t text, by bytea, d date, ts timestamptz, arr text[], n bigint)`); err != nil {
		t.Fatal(err)
	}
	steps := database.EncodeTextArray([]string{"info", "password", "face"})
	empty := database.EncodeTextArray(nil)
	const rows = 20000 // well over one chunk
	long := strings.Repeat("长", 100)
	i := 0
	n, err := database.CopyBinary(ctx, tx, "c", []string{"i8", "i4", "b", "t", "by", "d", "ts", "arr", "n"}, func(r *database.CopyRow) (bool, error) {
		if i == rows {
			return false, nil
		}
		r.Int64(int64(i) - 1<<40)
		r.Int32(int32(-i))
		r.Bool(i%2 == 0)
		if s := fmt.Sprintf("%d·%s", i, long[:3*(i%100)]); i%2 == 0 {
			r.Text(s)
		} else {
			r.TextFunc(func(b []byte) []byte { return append(b, s...) })
		}
		if i%3 == 0 {
			r.Bytea(nil)
		} else {
			r.ByteaFunc(2, func(b []byte) []byte { return append(b, byte(i), 0xff) })
		}
		r.Date(int32(i % 30000)) // days since 1970-01-01
		r.TimestampMilli(int64(i) * 86_400_000)
		if i%2 == 0 {
			r.Raw(steps)
		} else {
			r.Raw(empty)
		}
		var p *int64
		if i%5 == 0 {
			v := int64(i)
			p = &v
		}
		r.Int64Ptr(p)
		i++
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Fatalf("copied %d rows, want %d", n, rows)
	}
	got, err := tx.Query(ctx, `SELECT i8, i4, b, t, by, d, ts, arr, n FROM c ORDER BY i4 DESC`)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	k := 0
	for got.Next() {
		var (
			i8   int64
			i4   int32
			b    bool
			s    string
			by   []byte
			d    time.Time
			ts   time.Time
			arr  []string
			null *int64
		)
		if err := got.Scan(&i8, &i4, &b, &s, &by, &d, &ts, &arr, &null); err != nil {
			t.Fatal(err)
		}
		wantBy := []byte{byte(k), 0xff}
		if k%3 == 0 {
			wantBy = nil
		}
		wantArr := []string{"info", "password", "face"}
		if k%2 == 1 {
			wantArr = []string{}
		}
		switch {
		case i8 != int64(k)-1<<40, i4 != int32(-k), b != (k%2 == 0):
			t.Fatalf("row %d: ints/bool %d %d %v", k, i8, i4, b)
		case s != fmt.Sprintf("%d·%s", k, long[:3*(k%100)]):
			t.Fatalf("row %d: text %q", k, s)
		case !slices.Equal(by, wantBy) || (by == nil) != (wantBy == nil):
			t.Fatalf("row %d: bytea %x, want %x", k, by, wantBy)
		case !d.Equal(time.Unix(int64(k%30000)*86400, 0).UTC()):
			t.Fatalf("row %d: date %v", k, d)
		case !ts.Equal(time.UnixMilli(int64(k) * 86_400_000)):
			t.Fatalf("row %d: timestamp %v", k, ts)
		case !slices.Equal(arr, wantArr) || arr == nil:
			t.Fatalf("row %d: array %q, want %q", k, arr, wantArr)
		case (null == nil) != (k%5 != 0) || (null != nil && *null != int64(k)):
			t.Fatalf("row %d: nullable bigint %v", k, null)
		}
		k++
	}
	if err := got.Err(); err != nil {
		t.Fatal(err)
	}
	if k != rows {
		t.Fatalf("read %d rows back, want %d", k, rows)
	}
}

// TestCopyBinaryError: an error of the row producer aborts the COPY and
// comes back to the caller.
func TestCopyBinaryError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.NewTx(t)
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE c (i bigint)`); err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	i := 0
	_, err := database.CopyBinary(ctx, tx, "c", []string{"i"}, func(r *database.CopyRow) (bool, error) {
		if i++; i > 50000 {
			return false, errBoom
		}
		r.Int64(int64(i))
		return true, nil
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want boom", err)
	}
}
