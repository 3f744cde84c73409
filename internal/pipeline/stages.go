package pipeline

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/idfusion/idfusion/internal/output"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// stageWriter writes each stage's output as Parquet (--keep-stages), with
// ID numbers and phones masked. A nil *stageWriter writes nothing.
type stageWriter struct {
	mu                    sync.Mutex
	cleanW, findingsW     *pqarrow.FileWriter
	cleanOut, findingsOut *output.Pending
}

func newStageWriter(dir string) (*stageWriter, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	w := &stageWriter{}
	open := func(name string, sc *arrow.Schema) (*output.Pending, *pqarrow.FileWriter, error) {
		p, err := output.Create(filepath.Join(dir, name), output.Shared)
		if err != nil {
			return nil, nil, err
		}
		pw, err := newParquet(p, sc)
		if err != nil {
			p.Abort()
			return nil, nil, err
		}
		return p, pw, nil
	}
	var err error
	if w.cleanOut, w.cleanW, err = open("clean.parquet", schemas.CleanPerson); err != nil {
		return nil, err
	}
	if w.findingsOut, w.findingsW, err = open("findings.parquet", schemas.Finding); err != nil {
		w.cleanOut.Abort()
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
	defer w.cleanOut.Abort()
	defer w.findingsOut.Abort()
	if err := w.cleanW.Close(); err != nil {
		return err
	}
	if err := w.findingsW.Close(); err != nil {
		return err
	}
	if err := w.cleanOut.Commit(); err != nil {
		return err
	}
	return w.findingsOut.Commit()
}
