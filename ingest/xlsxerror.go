package ingest

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Sentinels an XLSXError wraps, one per kind of problem, for errors.Is.
var (
	// ErrNotXLSX: the file is no zip package at all: a CSV or a legacy
	// .xls renamed, or a password-protected (encrypted) workbook.
	ErrNotXLSX = errors.New("not an XLSX (zip) package")
	// ErrDamagedZip: the zip package is damaged: cut short (an incomplete
	// copy), compressed data that does not inflate, a checksum mismatch, or
	// a compression method archive/zip cannot read. The zip error is
	// wrapped too.
	ErrDamagedZip = errors.New("damaged zip package")
	// ErrMissingPart: a part or relationship the workbook refers to is not
	// in the package.
	ErrMissingPart = errors.New("part missing from the package")
	// ErrNoSheet: the mapping's sheet is not a worksheet of the workbook,
	// or the workbook has no worksheet.
	ErrNoSheet = errors.New("no such worksheet")
	// ErrMalformedXML: a part is not well-formed XML, or not in the shape
	// SpreadsheetML gives it.
	ErrMalformedXML = errors.New("malformed XML")
	// ErrTruncatedXML: a part's XML ends inside an element (a sheet cut
	// mid-row).
	ErrTruncatedXML = errors.New("unexpected end of the XML")
	// ErrBadRowNumber: a row number that is no number, beyond Excel's last
	// row, or not after the row before it.
	ErrBadRowNumber = errors.New("bad row number")
	// ErrBadCellRef: a cell reference that is none, or a column beyond
	// Excel's last (XFD).
	ErrBadCellRef = errors.New("bad cell reference")
	// ErrSharedString: a cell refers to a shared string the table lacks.
	ErrSharedString = errors.New("shared string index out of range")
	// ErrNoHeader: the mapping's header row is missing or empty.
	ErrNoHeader = errors.New("no header row")
	// ErrUnsupported: well-formed but beyond what the reader takes: an
	// element over 64 MiB, shared strings over 4 GiB, UTF-16 XML.
	ErrUnsupported = errors.New("unsupported XLSX content")
)

// XLSXError is a problem with an XLSX file that makes it unusable, with
// where it was found, in the manner of encoding/csv's ParseError: the
// file, the worksheet and its part, the row and the cell. Err wraps one of
// the sentinels above, and the cause when there is one (a zip or XML
// error), so that errors.Is answers for either.
//
// Like the CSV reader's errors ("file: line N: …") the text leads with the
// file and the position: `file: sheet "数据" (xl/worksheets/sheet1.xml):
// row 17, cell C17 (column "身份证号"): …`.
type XLSXError struct {
	Path string // the file
	// Sheet is the worksheet's name; "" when the problem is not within
	// the sheet (the zip container, the workbook, the shared strings).
	Sheet string
	// Part is the package part where the problem is, such as
	// xl/worksheets/sheet1.xml; "" for the zip container itself.
	Part string
	// Row is the 1-based row, as Excel numbers it, of the row that failed;
	// 0 when the problem is not within a row.
	Row int64
	// After is, when Row is 0, the last row read before the problem: a
	// problem between rows (0 when before the first).
	After int64
	// Column is the 1-based column (A is 1) of the cell that failed; 0
	// when the problem is not within a cell, or the cell's column is not
	// known (a bad cell reference).
	Column int
	// Header is the header cell of Column, when the header row has been
	// read and the column is within it: the department's name for it.
	Header string
	// Item is the 1-based string item (the nth <si>) of the shared
	// strings part that failed; 0 when not within one.
	Item int
	Err  error
}

// Cell returns the cell reference of the position, such as "C17"; "" when
// the row or the column is not known.
func (e *XLSXError) Cell() string {
	if e.Row <= 0 || e.Column <= 0 {
		return ""
	}
	return xlsxColumnName(e.Column) + strconv.FormatInt(e.Row, 10)
}

func (e *XLSXError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	sep := func() {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
	}
	switch {
	case e.Sheet != "":
		sep()
		fmt.Fprintf(&b, "sheet %q", e.Sheet)
		if e.Part != "" {
			fmt.Fprintf(&b, " (%s)", e.Part)
		}
	case e.Part != "":
		sep()
		b.WriteString(e.Part)
	}
	switch {
	case e.Row > 0:
		sep()
		fmt.Fprintf(&b, "row %d", e.Row)
		if c := e.Cell(); c != "" {
			fmt.Fprintf(&b, ", cell %s", c)
			if e.Header != "" {
				fmt.Fprintf(&b, " (column %q)", e.Header)
			}
		}
	case e.Item > 0:
		sep()
		fmt.Fprintf(&b, "string item %d", e.Item)
	case e.After > 0:
		sep()
		fmt.Fprintf(&b, "after row %d", e.After)
	}
	if e.Err != nil {
		sep()
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Err.
func (e *XLSXError) Unwrap() error { return e.Err }

// xlsxColumnName returns the letters of a 1-based column: 1 is A, 27 AA.
func xlsxColumnName(col int) string {
	var b [8]byte
	i := len(b)
	for ; col > 0 && i > 0; col = (col - 1) / 26 {
		i--
		b[i] = byte('A' + (col-1)%26)
	}
	return string(b[i:])
}

// kindError gives an error a sentinel for errors.Is without changing its
// text: the messages name the problem better than the sentinel does.
type kindError struct {
	kind, err error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// kindf formats an error as fmt.Errorf does (%w wraps a cause) and gives it
// the sentinel kind.
func kindf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}

// damaged marks an error from reading a zip part (flate, checksum, short
// data) as ErrDamagedZip; nil stays nil.
func damaged(err error) error {
	if err == nil || errors.Is(err, ErrDamagedZip) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrDamagedZip, err)
}

// xlsxErrorAt returns err as an XLSXError of the file path, in sheet and
// part. The scanners return XLSXErrors that know the row, cell or string
// item but not the file: those are copied, not changed, since a scanner
// keeps and returns its error again.
func xlsxErrorAt(path, sheet, part string, err error) *XLSXError {
	e := &XLSXError{Err: err}
	if xe, ok := err.(*XLSXError); ok {
		*e = *xe
	}
	e.Path, e.Sheet, e.Part = path, sheet, part
	return e
}

// checkPart reads the rest of a zip part whose XML failed to parse with
// parseErr, or whose read failed. archive/zip verifies a part's checksum
// only at its end, and damaged compressed data often inflates to garbage
// that fails to parse before flate notices: such a part is ErrDamagedZip
// (an incomplete or corrupted copy, to fetch again), whatever its garbage
// read as.
func checkPart(r io.Reader, parseErr error) error {
	_, err := io.Copy(io.Discard, r)
	switch {
	case err == nil:
		return parseErr
	case errors.Is(parseErr, err):
		// The parse stopped at the read error (archive/zip repeats it),
		// or the error is the read's already.
		return damaged(err)
	}
	return fmt.Errorf("%w: %w (the damaged data read as: %v)", ErrDamagedZip, err, parseErr)
}
