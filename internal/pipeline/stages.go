package pipeline

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// stageWriter writes each stage's output as Parquet (--keep-stages), with
// ID numbers and phones masked. A nil *stageWriter writes nothing.
type stageWriter struct {
	mu        sync.Mutex
	cleanW    *pqarrow.FileWriter
	findingsW *pqarrow.FileWriter
}

func newStageWriter(dir string) (*stageWriter, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	open := func(name string, sc *arrow.Schema) (*pqarrow.FileWriter, error) {
		return createParquet(filepath.Join(dir, name), sc)
	}
	w := &stageWriter{}
	var err error
	if w.cleanW, err = open("clean.parquet", schemas.CleanPerson); err != nil {
		return nil, err
	}
	if w.findingsW, err = open("findings.parquet", schemas.Finding); err != nil {
		return nil, err
	}
	return w, nil
}

// masked returns rec with the columns cols passed through mask.
func masked(rec arrow.Record, mask func(col, row int, v string) string, cols ...int) arrow.Record {
	arrs := append([]arrow.Array(nil), rec.Columns()...)
	var made []arrow.Array
	for _, c := range cols {
		src := rec.Column(c).(*array.String)
		b := array.NewStringBuilder(memory.DefaultAllocator)
		for i := 0; i < src.Len(); i++ {
			b.Append(mask(c, i, src.Value(i)))
		}
		arrs[c] = b.NewArray()
		made = append(made, arrs[c])
		b.Release()
	}
	out := array.NewRecord(rec.Schema(), arrs, rec.NumRows())
	for _, a := range made {
		a.Release()
	}
	return out
}

func (w *stageWriter) clean(rec arrow.Record) error {
	if w == nil {
		return nil
	}
	m := masked(rec, func(col, _ int, v string) string {
		switch {
		case col == schemas.CleanIDNumber:
			return pii.MaskID(v)
		case col == schemas.CleanPhone && v != "":
			return pii.MaskPhone(v)
		}
		return pii.Redact(v)
	}, schemas.CleanIDNumber, schemas.CleanPhone, schemas.CleanSourceKey, schemas.CleanAddress)
	defer m.Release()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cleanW.WriteBuffered(m)
}

func (w *stageWriter) findings(rec arrow.Record) error {
	if w == nil {
		return nil
	}
	field := rec.Column(schemas.FindField).(*array.String)
	m := masked(rec, func(col, i int, v string) string {
		if col == schemas.FindSourceKey {
			return pii.Redact(v)
		}
		return MaskValue(schemas.Field(field.Value(i)), v)
	}, schemas.FindSourceKey, schemas.FindValue)
	defer m.Release()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.findingsW.WriteBuffered(m)
}

func (w *stageWriter) close() error {
	if w == nil {
		return nil
	}
	err1 := w.cleanW.Close()
	err2 := w.findingsW.Close()
	if err1 != nil {
		return err1
	}
	return err2
}
