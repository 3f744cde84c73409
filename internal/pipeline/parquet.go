package pipeline

import (
	"io"
	"iter"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// newParquet writes a zstd-compressed Parquet file of schema sc into w;
// closing the writer ends the file (w is not closed: see output).
func newParquet(w io.Writer, sc *arrow.Schema) (*pqarrow.FileWriter, error) {
	return pqarrow.NewFileWriter(sc, w, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)), pqarrow.DefaultWriterProps())
}

// writeFindingsParquet writes findings as schemas.Finding rows. ID numbers
// and phones are masked: the Parquet file is for engineers, and only the
// department's own workbook carries its raw values.
func writeFindingsParquet(out io.Writer, finds iter.Seq[finding]) error {
	w, err := newParquet(out, schemas.Finding)
	if err != nil {
		return err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemas.Finding)
	defer b.Release()
	str := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	flush := func() error {
		rec := b.NewRecord()
		defer rec.Release()
		return w.WriteBuffered(rec)
	}
	i := 0
	for fd := range finds {
		str(schemas.ColDept).Append(fd.dept)
		str(schemas.ColFile).Append(fd.sha)
		b.Field(schemas.ColRow).(*array.Int64Builder).Append(fd.row.Row)
		str(schemas.FindSourceKey).Append(pii.Redact(fd.row.SourceKey))
		str(schemas.FindSeverity).Append(string(fd.severity))
		str(schemas.FindCode).Append(string(fd.row.Code))
		str(schemas.FindField).Append(string(fd.row.Field))
		str(schemas.FindValue).Append(MaskValue(fd.row.Field, fd.row.Value))
		if i++; i%schemas.BatchRows == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return w.Close()
}

// MaskValue masks v if field f is sensitive, and any ID number or phone
// inside the free text of other fields.
func MaskValue(f schemas.Field, v string) string {
	switch f {
	case schemas.FieldIDNumber, schemas.FieldRepIDNumber:
		return pii.MaskID(v)
	case schemas.FieldPhone:
		return pii.MaskPhone(v)
	}
	return pii.Redact(v)
}
