package sample

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/idfusion/idfusion/schemas"
)

// rowWriter writes one department's rows in its format.
type rowWriter interface {
	write(r *row) error
	close() error
}

func newWriter(d *dept, path string) (rowWriter, error) {
	switch d.format {
	case schemas.FormatCSV:
		return newCSVWriter(d, path)
	case schemas.FormatXLSX:
		return newXLSXWriter(d, path)
	case schemas.FormatParquet:
		return newParquetWriter(d, path)
	}
	return nil, fmt.Errorf("sample: no writer for %s", d.format)
}

type csvWriter struct {
	d   *dept
	f   *os.File
	w   *bufio.Writer
	buf bytes.Buffer
	cw  *csv.Writer
	rec []string
	gbk bool
}

func newCSVWriter(d *dept, path string) (*csvWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := &csvWriter{d: d, f: f, w: bufio.NewWriterSize(f, 1<<20), gbk: d.encoding == schemas.EncodingGBK}
	w.cw = csv.NewWriter(&w.buf)
	w.cw.UseCRLF = true // what Windows exporters write
	if d.bom {
		w.w.WriteString("\uFEFF")
	}
	hdr := make([]string, len(d.columns))
	for i, c := range d.columns {
		hdr[i] = c.header
	}
	return w, w.emit(hdr)
}

func (w *csvWriter) write(r *row) error {
	w.rec = w.rec[:0]
	for _, c := range w.d.columns {
		w.rec = append(w.rec, r.get(c.field))
	}
	if r.extraField {
		w.rec = append(w.rec, "备注")
	}
	return w.emit(w.rec)
}

func (w *csvWriter) emit(rec []string) error {
	w.buf.Reset()
	if err := w.cw.Write(rec); err != nil {
		return err
	}
	w.cw.Flush()
	text := w.buf.String()
	if !w.gbk {
		_, err := w.w.WriteString(strings.ReplaceAll(text, undecodable, "\xff"))
		return err
	}
	for i, part := range strings.Split(text, undecodable) {
		if i > 0 {
			w.w.Write([]byte{0xAA, 0xA1}) // GBK user-defined area: no Unicode mapping
		}
		enc, err := simplifiedchinese.GBK.NewEncoder().String(part)
		if err != nil {
			return fmt.Errorf("sample: encode %q as GBK: %w", part, err)
		}
		w.w.WriteString(enc)
	}
	return nil
}

func (w *csvWriter) close() error {
	if err := w.w.Flush(); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}

type xlsxWriter struct {
	d         *dept
	path      string
	f         *excelize.File
	sw        *excelize.StreamWriter
	dateStyle int
	rowNum    int
	cells     []any
}

func newXLSXWriter(d *dept, path string) (*xlsxWriter, error) {
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return nil, err
	}
	style, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		return nil, err
	}
	w := &xlsxWriter{d: d, path: path, f: f, sw: sw, dateStyle: style, rowNum: 1}
	if d.title != "" {
		if err := sw.SetRow("A1", []any{d.title}); err != nil {
			return nil, err
		}
		w.rowNum++
	}
	hdr := make([]any, len(d.columns))
	for i, c := range d.columns {
		hdr[i] = c.header
	}
	return w, w.setRow(hdr)
}

func (w *xlsxWriter) setRow(cells []any) error {
	cell, _ := excelize.CoordinatesToCellName(1, w.rowNum)
	w.rowNum++
	return w.sw.SetRow(cell, cells)
}

func (w *xlsxWriter) write(r *row) error {
	w.cells = w.cells[:0]
	for _, c := range w.d.columns {
		var v any = r.get(c.field)
		switch {
		case c.field == schemas.FieldIDNumber && r.idNumber != 0:
			v = r.idNumber
		case c.field == schemas.FieldBirthDate && !r.birth.IsZero():
			v = excelize.Cell{StyleID: w.dateStyle, Value: r.birth}
		}
		w.cells = append(w.cells, v)
	}
	return w.setRow(w.cells)
}

func (w *xlsxWriter) close() error {
	defer w.f.Close()
	if err := w.sw.Flush(); err != nil {
		return err
	}
	return w.f.SaveAs(w.path)
}

type parquetWriter struct {
	d   *dept
	f   *os.File
	pw  *pqarrow.FileWriter
	b   *array.RecordBuilder
	n   int
	col []*array.StringBuilder
}

func newParquetWriter(d *dept, path string) (*parquetWriter, error) {
	fields := make([]arrow.Field, len(d.columns))
	for i, c := range d.columns {
		fields[i] = arrow.Field{Name: c.header, Type: arrow.BinaryTypes.String}
	}
	sc := arrow.NewSchema(fields, nil)
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	pw, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy)), pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		return nil, err
	}
	w := &parquetWriter{d: d, f: f, pw: pw, b: array.NewRecordBuilder(memory.DefaultAllocator, sc)}
	for i := range d.columns {
		w.col = append(w.col, w.b.Field(i).(*array.StringBuilder))
	}
	return w, nil
}

func (w *parquetWriter) write(r *row) error {
	for i, c := range w.d.columns {
		w.col[i].Append(r.get(c.field))
	}
	w.n++
	if w.n%schemas.BatchRows == 0 {
		return w.flush()
	}
	return nil
}

func (w *parquetWriter) flush() error {
	rec := w.b.NewRecord()
	defer rec.Release()
	return w.pw.Write(rec) // one row group per batch, as exporters write them
}

func (w *parquetWriter) close() error {
	defer w.b.Release()
	if err := w.flush(); err != nil {
		return err
	}
	return w.pw.Close() // closes the file too
}
