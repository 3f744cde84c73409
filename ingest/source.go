package ingest

import "github.com/idfusion/idfusion/schemas"

// rawRow is one data row of a file as cells of text, before mapping.
type rawRow struct {
	// num is the 1-based row number a person sees when opening the file: the
	// line where a CSV record starts, the sheet row of an XLSX or XLS row, the
	// header-relative position (header = 1) for Parquet and Arrow files.
	num int64
	// cells are the row's values in header column order, decoded to UTF-8.
	// Valid until the next call to next.
	cells []string
	// numeric reports per cell that it was stored as a number (XLSX and XLS
	// number cells, floating-point columns); nil when the format has no cell types.
	numeric []bool
	// defect is a problem the source found with the whole row ("" if none).
	defect schemas.Code
}

// rowSource yields the rows of one file. Implementations: csvSource,
// xlsxSource, xlsSource, arrowSource.
type rowSource interface {
	// header returns the header cells, read once before any row.
	header() ([]string, error)
	// next returns the next data row, or io.EOF after the last one. Rows
	// whose cells are all empty are skipped by the source. A problem with one
	// row (wrong field count, undecodable bytes) is not an error: the row is
	// returned as read and the Reader turns it into a defect.
	next() (rawRow, error)
	// progress reports how much of the file has been consumed, in units of
	// the source's choosing (bytes), and the total; for progress bars.
	progress() (done, total int64)
	close() error
}
