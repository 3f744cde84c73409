package ingest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/richardlehane/mscfb"

	"github.com/idfusion/idfusion/schemas"
)

// xlsMaxCols is the number of columns of a BIFF8 sheet (A to IV).
const xlsMaxCols = 256

// oleMagic starts every OLE compound file.
var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// xlsSource reads one worksheet of a legacy Excel 97-2003 workbook: the
// BIFF8 records of the Workbook stream of an OLE compound file.
//
// The compound file is read with mscfb (which excelize already brings);
// the records are read by this package: the Go .xls readers available
// slice records without bounds checks, recover from their own panics and
// mishandle strings that cross CONTINUE records (see README). The stream is
// read record by record, never whole: the workbook globals (shared strings,
// formats, sheets), then the chosen sheet's rows.
type xlsSource struct {
	path    string
	sheet   string
	f       *os.File
	br      *biffReader
	book    *xlsBook
	total   int64
	hdrRow  int64
	hdr     []string
	hdrDone bool
	width   int
	// The row being read: its number, cells and their text.
	cur  int64
	last int64 // the row before it
	sheetRow
	// fmla is the column of the FORMULA whose string result the next
	// STRING record holds, -1 for none.
	fmla    int
	out     []string
	numeric []bool
	err     error
	done    atomic.Int64 // bytes of the stream consumed; read by progress
}

// newXLSSource opens path, reads the workbook globals and moves to the
// mapping's sheet (default: the first worksheet).
func newXLSSource(path string, m *schemas.Mapping) (_ rowSource, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	stream, err := openXLSStream(f)
	if err != nil {
		return nil, xlsErrorAt(path, err)
	}
	s, err := newXLSSheetSource(stream, stream.Size, m)
	if err != nil {
		return nil, xlsErrorAt(path, err)
	}
	s.path, s.f = path, f
	return s, nil
}

// openXLSStream finds the Workbook stream of the compound file f.
func openXLSStream(f *os.File) (*mscfb.File, error) {
	magic := make([]byte, len(oleMagic))
	if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, oleMagic) {
		// Open sends only compound files here (sniff.go): the file
		// changed since, or a caller named the format itself.
		return nil, kindf(ErrNotXLS, "not an Excel 97-2003 workbook (no OLE compound file signature)")
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	doc, err := mscfb.New(f)
	if err != nil {
		return nil, kindf(ErrDamagedXLS, "damaged compound file, perhaps cut short in copying: %w", err)
	}
	var book *mscfb.File
	for _, e := range doc.File {
		if len(e.Path) != 0 {
			continue
		}
		switch {
		case strings.EqualFold(e.Name, "Workbook"):
			book = e
		case strings.EqualFold(e.Name, "Book") && book == nil:
			return nil, kindf(ErrUnsupported, "an Excel 5.0/95 workbook (BIFF5), older than Excel 97; save it as .xlsx")
		case e.Name == "EncryptedPackage":
			return nil, kindf(ErrXLSEncrypted, "a password-protected (encrypted) workbook; save it without a password")
		}
	}
	if book == nil {
		return nil, kindf(ErrNotXLS, "a compound file without a Workbook stream: another Office document, not an Excel 97-2003 workbook")
	}
	if book.Size > fi.Size() {
		// A stream can be no larger than its file; a damaged directory
		// could otherwise have the reader loop around a sector chain.
		return nil, kindf(ErrDamagedXLS, "damaged compound file: the Workbook stream (%d bytes) is larger than the file", book.Size)
	}
	return book, nil
}

// newXLSSheetSource reads the workbook globals of a BIFF8 stream of size
// bytes and moves to the mapping's sheet.
func newXLSSheetSource(stream io.ReadSeeker, size int64, m *schemas.Mapping) (*xlsSource, error) {
	br := newBIFFReader(stream)
	book, err := readXLSBook(br)
	if err != nil {
		return nil, err
	}
	sheet, err := book.pickSheet(m.Sheet)
	if err != nil {
		return nil, err
	}
	s := &xlsSource{sheet: sheet.name, br: br, book: book, total: size, fmla: -1, sheetRow: sheetRow{sst: book.sst}}
	if err := br.seek(sheet.pos); err != nil {
		return nil, s.inSheet(err)
	}
	if err := br.next(); err != nil {
		if err == io.EOF {
			err = kindf(ErrDamagedXLS, "sheet offset %d is at the end of the stream", sheet.pos)
		}
		return nil, s.inSheet(err)
	}
	if err := checkBOF(br, 0x0010); err != nil {
		return nil, s.inSheet(err)
	}
	s.hdrRow = max(int64(m.HeaderRow), 1)
	return s, nil
}

// inSheet returns err as an XLSXError of the sheet (the path is added by
// newXLSSource and errorf).
func (s *xlsSource) inSheet(err error) *XLSXError {
	return xlsxErrorAt(s.path, s.sheet, "", err)
}

// xlsErrorAt returns err as an *XLSXError of the file path, keeping the
// sheet and position of one that has them.
func xlsErrorAt(path string, err error) *XLSXError {
	e := &XLSXError{Err: err}
	if xe, ok := err.(*XLSXError); ok {
		*e = *xe
	}
	e.Path = path
	return e
}

// errorf returns err as an *XLSXError of the sheet, naming the column's
// header when it is known.
func (s *xlsSource) errorf(err error) error {
	e := s.inSheet(err)
	if e.Column > 0 && e.Column <= len(s.hdr) {
		e.Header = s.hdr[e.Column-1]
	}
	s.err = e
	return e
}

func (s *xlsSource) header() ([]string, error) {
	if s.hdrDone {
		return s.hdr, nil
	}
	for {
		num, err := s.readRow()
		if err == io.EOF {
			return nil, s.errorf(kindf(ErrNoHeader, "no header row (row %d)", s.hdrRow))
		}
		if err != nil {
			return nil, s.errorf(err)
		}
		if num < s.hdrRow {
			continue
		}
		if num > s.hdrRow || s.lastCell() < 0 {
			return nil, s.errorf(kindf(ErrNoHeader, "header row %d is empty", s.hdrRow))
		}
		hdr := trimHeader(s.appendRow(nil, nil, s.lastCell()+1))
		if len(hdr) == 0 {
			return nil, s.errorf(kindf(ErrNoHeader, "header row %d is empty", s.hdrRow))
		}
		s.hdr, s.hdrDone, s.width = hdr, true, len(hdr)
		return hdr, nil
	}
}

func (s *xlsSource) next() (rawRow, error) {
	if !s.hdrDone {
		if _, err := s.header(); err != nil {
			return rawRow{}, err
		}
	}
	for {
		num, err := s.readRow()
		if err == io.EOF {
			return rawRow{}, io.EOF
		}
		if err != nil {
			return rawRow{}, s.errorf(err)
		}
		last := s.lastCell()
		if last < 0 || num <= s.hdrRow {
			continue
		}
		// Keep cells beyond the header so the Reader flags the field count.
		s.out = s.appendRow(s.out[:0], &s.numeric, max(s.width, last+1))
		return rawRow{num: num, cells: s.out, numeric: s.numeric}, nil
	}
}

// readRow reads the cell records of the next row that has any and returns
// its number (1-based, as Excel shows it), or io.EOF at the sheet's end.
// Errors are *XLSXError with the row and, within a cell, the column.
func (s *xlsSource) readRow() (int64, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.cells, s.arena, s.cur, s.fmla = s.cells[:0], s.arena[:0], 0, -1
	for {
		if err := s.br.next(); err != nil {
			if err == io.EOF {
				err = kindf(ErrDamagedXLS, "the sheet ends without its EOF record: a file cut short")
			}
			return 0, s.between(err)
		}
		d := s.br.buf
		switch s.br.typ {
		case biffEOF:
			if s.cur > 0 {
				s.br.unread()
				return s.end(), nil
			}
			s.done.Store(s.total)
			return 0, io.EOF
		case biffBOF: // an embedded chart's substream, to its EOF
			if err := s.skipSubstream(); err != nil {
				return 0, s.between(err)
			}
			continue
		case biffString:
			if s.fmla >= 0 {
				col := s.fmla
				start := len(s.arena)
				c := biffCursor{br: s.br, p: d}
				var err error
				if s.arena, err = c.appendString(s.arena, false); err != nil {
					return 0, &XLSXError{Row: s.cur, Column: col + 1, Err: recordError(s.br, "STRING", err)}
				}
				s.setCell(col, start, false)
				s.fmla = -1
			}
			continue
		case biffLabelSST, biffLabel, biffRString, biffNumber, biffRK, biffMulRK, biffBoolErr, biffFormula, biffBlank, biffMulBlank:
		default:
			continue
		}
		if len(d) < 6 {
			return 0, s.between(recordError(s.br, "cell", errShort))
		}
		num, col := int64(binary.LittleEndian.Uint16(d))+1, int(binary.LittleEndian.Uint16(d[2:]))
		switch {
		case s.cur == 0 && num <= s.last, s.cur > 0 && num < s.cur:
			// Cells out of row order: which data is row N?
			return 0, &XLSXError{Row: num, Err: kindf(ErrBadRowNumber, "out of order, after row %d", max(s.cur, s.last))}
		case s.cur == 0:
			s.cur = num
		case num > s.cur:
			s.br.unread()
			return s.end(), nil
		}
		if err := s.cell(d, col); err != nil {
			return 0, &XLSXError{Row: num, Column: col + 1, Err: err}
		}
	}
}

// between places an error of a record that is no cell: in the row being
// read, or after the last row read.
func (s *xlsSource) between(err error) *XLSXError {
	if s.cur > 0 {
		return &XLSXError{Row: s.cur, Err: err}
	}
	return &XLSXError{After: s.last, Err: err}
}

// end ends the current row and returns its number.
func (s *xlsSource) end() int64 {
	s.done.Store(s.br.at)
	s.last = s.cur
	return s.cur
}

// skipSubstream skips from a BOF record to its EOF.
func (s *xlsSource) skipSubstream() error {
	for depth := 1; depth > 0; {
		if err := s.br.next(); err != nil {
			if err == io.EOF {
				err = kindf(ErrDamagedXLS, "an embedded substream ends without its EOF record")
			}
			return err
		}
		switch s.br.typ {
		case biffBOF:
			depth++
		case biffEOF:
			depth--
		}
	}
	return nil
}

// cell reads the cell record d of column col into the row.
func (s *xlsSource) cell(d []byte, col int) error {
	if col >= xlsMaxCols {
		return kindf(ErrBadCellRef, "column %d beyond IV", col+1)
	}
	if len(d) < xlsCellSize(s.br.typ) {
		return recordError(s.br, "cell", errShort)
	}
	xf := binary.LittleEndian.Uint16(d[4:])
	start := len(s.arena)
	switch s.br.typ {
	case biffLabelSST:
		n := binary.LittleEndian.Uint32(d[6:])
		if uint64(n) >= uint64(s.book.sst.len()) {
			return kindf(ErrSharedString, "shared string %d not in the table of %d", n, s.book.sst.len())
		}
		c := sheetCell{kind: cellShared, start: int32(n)}
		if s.book.sst.off[n] == s.book.sst.off[n+1] {
			c.kind = cellEmpty
		}
		s.put(col, c)
	case biffLabel, biffRString:
		c := biffCursor{br: s.br, p: d[6:]}
		var err error
		if s.arena, err = c.appendString(s.arena, false); err != nil {
			return recordError(s.br, "LABEL", err)
		}
		s.setCell(col, start, false)
	case biffNumber:
		s.number(col, xf, math.Float64frombits(binary.LittleEndian.Uint64(d[6:])))
	case biffRK:
		s.number(col, xf, rkNumber(binary.LittleEndian.Uint32(d[6:])))
	case biffMulRK:
		n := (len(d) - 6) / 6
		if n < 1 || (len(d)-6)%6 != 0 || int(binary.LittleEndian.Uint16(d[len(d)-2:])) != col+n-1 {
			return recordError(s.br, "MULRK", fmt.Errorf("%d bytes for columns %d to %d", len(d), col+1, binary.LittleEndian.Uint16(d[len(d)-2:])+1))
		}
		if col+n > xlsMaxCols {
			return kindf(ErrBadCellRef, "column %d beyond IV", col+n)
		}
		for i := range n {
			r := d[4+6*i:]
			s.number(col+i, binary.LittleEndian.Uint16(r), rkNumber(binary.LittleEndian.Uint32(r[2:])))
		}
	case biffBoolErr:
		s.arena = appendBoolErr(s.arena, d[6], d[7] != 0)
		s.setCell(col, start, false)
	case biffFormula:
		v := d[6:14]
		if binary.LittleEndian.Uint16(v[6:]) != 0xFFFF {
			s.number(col, xf, math.Float64frombits(binary.LittleEndian.Uint64(v)))
			break
		}
		switch v[0] {
		case 0: // a string, in the STRING record that follows
			s.fmla = col
		case 1:
			s.arena = appendBoolErr(s.arena, v[2], false)
		case 2:
			s.arena = appendBoolErr(s.arena, v[2], true)
		}
		s.setCell(col, start, false)
	}
	return nil
}

// xlsCellSize is the least size of a cell record of type typ.
func xlsCellSize(typ uint16) int {
	switch typ {
	case biffNumber:
		return 14
	case biffLabelSST, biffRK:
		return 10
	case biffBoolErr:
		return 8
	case biffFormula:
		return 20
	}
	return 6
}

// number puts a number cell: a date when its format shows one, else the
// number as a person sees it, marked numeric.
func (s *xlsSource) number(col int, xf uint16, f float64) {
	start := len(s.arena)
	if int(xf) < len(s.book.dates) && s.book.dates[xf] {
		if out, ok := appendSerialDate(s.arena, f, s.book.date1904); ok {
			s.arena = out
			s.setCell(col, start, false)
			return
		}
		s.arena = appendXLSNumber(s.arena, f)
		s.setCell(col, start, false)
		return
	}
	s.arena = appendXLSNumber(s.arena, f)
	s.setCell(col, start, true)
}

// setCell puts the text arena[start:] as the cell of column col, its line
// breaks LF as from every reader (breaksToLF).
func (s *xlsSource) setCell(col, start int, numeric bool) {
	s.arena = s.arena[:start+len(breaksToLF(s.arena[start:]))]
	s.put(col, sheetCell{kind: cellArena, numeric: numeric, start: int32(start), end: int32(len(s.arena))})
}

func (s *xlsSource) progress() (int64, int64) { return s.done.Load(), s.total }

func (s *xlsSource) close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}

// rkNumber decodes an RK value: a 30-bit signed integer or the top 30
// bits of a float64, either divided by 100 when the low bit says so.
func rkNumber(rk uint32) float64 {
	var f float64
	if rk&2 != 0 {
		f = float64(int32(rk) >> 2)
	} else {
		f = math.Float64frombits(uint64(rk&^3) << 32)
	}
	if rk&1 != 0 {
		f /= 100
	}
	return f
}

// appendXLSNumber appends a number the way an XLSX file stores it, which
// is what the XLSX reader passes on: whole numbers of up to 15 digits as
// integers, others in the shortest form that reads back the same, with an
// exponent from 1E+15 on (the lost digits of an ID stored as a number).
func appendXLSNumber(dst []byte, f float64) []byte {
	a := math.Abs(f)
	switch {
	case a < 1e15 && f == math.Trunc(f):
		return strconv.AppendInt(dst, int64(f), 10)
	case a < 1e15 && a >= 1e-6:
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'E', -1, 64)
}

// appendBoolErr appends a BOOLERR value: TRUE or FALSE, or an error value
// as Excel shows it.
func appendBoolErr(dst []byte, v byte, isErr bool) []byte {
	if !isErr {
		if v != 0 {
			return append(dst, "TRUE"...)
		}
		return append(dst, "FALSE"...)
	}
	switch v {
	case 0x00:
		return append(dst, "#NULL!"...)
	case 0x07:
		return append(dst, "#DIV/0!"...)
	case 0x0F:
		return append(dst, "#VALUE!"...)
	case 0x17:
		return append(dst, "#REF!"...)
	case 0x1D:
		return append(dst, "#NAME?"...)
	case 0x24:
		return append(dst, "#NUM!"...)
	case 0x2A:
		return append(dst, "#N/A"...)
	}
	return append(dst, "#GETTING_DATA"...)
}
