package ingest

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/idfusion/idfusion/schemas"
)

// recordReader is what both pqarrow and ipc readers offer.
type recordReader interface {
	Next() bool
	Record() arrow.Record
	Err() error
}

// arrowSource reads a Parquet or Arrow IPC file whose column names are the
// department's header. Every column becomes text as a person would see it;
// floating-point columns are flagged numeric because an ID held in a float
// has lost digits.
type arrowSource struct {
	path    string
	loc     *time.Location
	closeFn func() error
	rr      recordReader
	schema  *arrow.Schema
	rec     arrow.Record
	i       int // next row within rec
	num     int64
	total   int64
	cells   []string
	numeric []bool
}

func newArrowSource(path string, format schemas.Format, loc *time.Location) (*arrowSource, error) {
	s := &arrowSource{path: path, num: 1, loc: loc} // header is row 1
	switch format {
	case schemas.FormatParquet:
		pf, err := file.OpenParquetFile(path, false)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: schemas.BatchRows}, memory.DefaultAllocator)
		if err != nil {
			pf.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rr, err := fr.GetRecordReader(context.Background(), nil, nil)
		if err != nil {
			pf.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		s.rr, s.schema, s.total = rr, rr.Schema(), pf.NumRows()
		s.closeFn = func() error { rr.Release(); return pf.Close() }
	case schemas.FormatArrow:
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		ir, err := ipc.NewFileReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		s.rr, s.schema = &ipcRecords{r: ir}, ir.Schema()
		s.closeFn = func() error { ir.Close(); return f.Close() }
	}
	return s, nil
}

// ipcRecords adapts ipc.FileReader to recordReader.
type ipcRecords struct {
	r   *ipc.FileReader
	i   int
	rec arrow.Record
	err error
}

func (x *ipcRecords) Next() bool {
	if x.i >= x.r.NumRecords() {
		return false
	}
	x.rec, x.err = x.r.Record(x.i)
	x.i++
	return x.err == nil
}
func (x *ipcRecords) Record() arrow.Record { return x.rec }
func (x *ipcRecords) Err() error           { return x.err }

func (s *arrowSource) header() ([]string, error) {
	hdr := make([]string, s.schema.NumFields())
	for i, f := range s.schema.Fields() {
		hdr[i] = f.Name
	}
	s.cells = make([]string, len(hdr))
	s.numeric = make([]bool, len(hdr))
	return hdr, nil
}

func (s *arrowSource) next() (rawRow, error) {
	for {
		for s.rec == nil || s.i >= int(s.rec.NumRows()) {
			if !s.rr.Next() {
				if err := s.rr.Err(); err != nil && err != io.EOF {
					return rawRow{}, fmt.Errorf("%s: after row %d: %w", s.path, s.num, err)
				}
				return rawRow{}, io.EOF
			}
			s.rec, s.i = s.rr.Record(), 0
		}
		s.num++
		empty := true
		for c, col := range s.rec.Columns() {
			s.cells[c], s.numeric[c] = cellText(col, s.i, s.loc)
			if s.cells[c] != "" {
				empty = false
			}
		}
		s.i++
		if !empty {
			return rawRow{num: s.num, cells: s.cells, numeric: s.numeric}, nil
		}
	}
}

// cellText renders one value as text, timestamps in loc (the mapping's
// time zone, as the department sees them); numeric is true for
// floating-point values.
func cellText(col arrow.Array, i int, loc *time.Location) (string, bool) {
	if col.IsNull(i) {
		return "", false
	}
	switch a := col.(type) {
	case *array.String:
		return a.Value(i), false
	case *array.LargeString:
		return a.Value(i), false
	case *array.Binary:
		return string(a.Value(i)), false
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), false
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), false
	case *array.Uint64:
		return strconv.FormatUint(a.Value(i), 10), false
	case *array.Float64:
		return floatText(a.Value(i)), true
	case *array.Float32:
		return floatText(float64(a.Value(i))), true
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), false
	case *array.Date32:
		return a.Value(i).ToTime().Format("2006-01-02"), false
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).In(loc).Format("2006-01-02 15:04:05"), false
	}
	return col.ValueStr(i), false
}

func floatText(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'G', -1, 64)
}

func (s *arrowSource) progress() (int64, int64) { return s.num - 1, s.total }

func (s *arrowSource) close() error { return s.closeFn() }
