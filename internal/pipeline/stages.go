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
// ID numbers and phones masked: the persons' clean rows, the legal
// persons' (clean_legal.parquet, made at the first legal record) and the
// findings. A nil *stageWriter writes nothing.
type stageWriter struct {
	mu                    sync.Mutex
	dir                   string
	cleanW, findingsW     *pqarrow.FileWriter
	cleanOut, findingsOut *output.Pending
	legalW                *pqarrow.FileWriter
	legalOut              *output.Pending
}

// stageFile creates one stage's Parquet file in dir.
func stageFile(dir, name string, sc *arrow.Schema) (*output.Pending, *pqarrow.FileWriter, error) {
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

func newStageWriter(dir string) (*stageWriter, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	w := &stageWriter{dir: dir}
	var err error
	if w.cleanOut, w.cleanW, err = stageFile(dir, "clean.parquet", schemas.CleanPerson); err != nil {
		return nil, err
	}
	if w.findingsOut, w.findingsW, err = stageFile(dir, "findings.parquet", schemas.Finding); err != nil {
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
	legal := rec.Schema().Equal(schemas.CleanLegal)
	cols := cleanPersonPII
	if legal {
		cols = cleanLegalPII
	}
	m := masked(rec, func(col, _ int, v string) string {
		switch {
		case col == cols.id:
			return pii.MaskID(v)
		case col == cols.phone && v != "":
			return pii.MaskPhone(v)
		}
		return pii.Redact(v)
	}, cols.id, cols.phone, cols.sourceKey, cols.address)
	defer m.Release()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !legal {
		return w.cleanW.WriteBuffered(m)
	}
	if w.legalW == nil {
		var err error
		if w.legalOut, w.legalW, err = stageFile(w.dir, "clean_legal.parquet", schemas.CleanLegal); err != nil {
			return err
		}
	}
	return w.legalW.WriteBuffered(m)
}

// piiColumns are the columns of a clean schema the stage output masks:
// the ID number (a legal person's representative's; the credit code is
// public), the phone, and the free text that may hold either.
type piiColumns struct{ id, phone, sourceKey, address int }

var (
	cleanPersonPII = piiColumns{schemas.CleanIDNumber, schemas.CleanPhone, schemas.CleanSourceKey, schemas.CleanAddress}
	cleanLegalPII  = piiColumns{schemas.LegalRepIDNumber, schemas.LegalPhone, schemas.LegalSourceKey, schemas.LegalAddress}
)

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
	if w.legalOut != nil {
		defer w.legalOut.Abort()
	}
	if err := w.cleanW.Close(); err != nil {
		return err
	}
	if err := w.findingsW.Close(); err != nil {
		return err
	}
	if w.legalW != nil {
		if err := w.legalW.Close(); err != nil {
			return err
		}
		if err := w.legalOut.Commit(); err != nil {
			return err
		}
	}
	if err := w.cleanOut.Commit(); err != nil {
		return err
	}
	return w.findingsOut.Commit()
}
