package ingest

import (
	"archive/zip"
	"io"
	"strings"
	"sync/atomic"

	"github.com/idfusion/idfusion/schemas"
)

// Limits of the XLSX reader. Rows and columns are Excel's own limits, so a
// sheet beyond them is corrupt.
const (
	xlsxMaxRows = 1 << 20 // 1,048,576
	xlsxMaxCols = 1 << 14 // 16,384 (XFD)
	// xlsxWindow is the initial read window over an XML part.
	xlsxWindow = 1 << 20
	// xlsxMaxElement caps the window, and so the largest single row or
	// shared string item, to keep memory bounded on hostile input.
	xlsxMaxElement = 64 << 20
)

// xlsxSource reads one worksheet of an XLSX workbook.
//
// excelize is not used to read: its OpenFile inflates every part of the
// package (worksheets over 16 MiB to temporary files) before a single row
// is read, and its Rows iterator decodes with encoding/xml, an order of
// magnitude slower than inflating. So the source opens the zip itself,
// reads the small parts (workbook, relationships, styles) with
// encoding/xml, and streams the shared strings and the worksheet through
// sheetScanner, a byte scanner for the subset of XML that SpreadsheetML
// uses.
type xlsxSource struct {
	path    string
	sheet   string
	part    string // the sheet's part name
	zr      *zip.ReadCloser
	rc      io.ReadCloser
	sc      *sheetScanner
	total   int64
	hdrRow  int64
	hdr     []string
	hdrDone bool
	width   int
	cells   []string
	numeric []bool
	done    atomic.Int64 // bytes of the sheet XML consumed; read by progress
}

// newXLSXSource opens path and resolves the mapping's sheet (default: the
// first worksheet), its styles and the shared strings table, which is the
// only part held in memory.
func newXLSXSource(path string, m *schemas.Mapping) (_ rowSource, err error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, xlsxOpenError(path, err)
	}
	defer func() {
		if err != nil {
			zr.Close()
		}
	}()
	pkg := xlsxPackage{path: path, parts: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		// Part names are case-insensitive (OPC); some writers use '\'.
		name := strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(f.Name, `\`, "/"), "/"))
		pkg.parts[name] = f
	}
	wb, err := pkg.workbook(m.Sheet)
	if err != nil {
		return nil, err
	}
	sheetPart := pkg.part(wb.sheetPath)
	if sheetPart == nil {
		return nil, xlsxErrorAt(path, wb.sheet, wb.sheetPath, errPartMissing)
	}
	dates, err := pkg.dateStyles(wb.stylesPath)
	if err != nil {
		return nil, err
	}
	sst, err := pkg.sharedStrings(wb.sstPath)
	if err != nil {
		return nil, err
	}
	rc, err := sheetPart.Open()
	if err != nil {
		return nil, xlsxErrorAt(path, wb.sheet, wb.sheetPath, damaged(err))
	}
	hdrRow := int64(m.HeaderRow)
	if hdrRow < 1 {
		hdrRow = 1
	}
	return &xlsxSource{
		path:   path,
		sheet:  wb.sheet,
		part:   wb.sheetPath,
		zr:     zr,
		rc:     rc,
		sc:     newSheetScanner(rc, xlsxWindow, sst, dates, wb.date1904),
		total:  int64(sheetPart.UncompressedSize64),
		hdrRow: hdrRow,
	}, nil
}

// errorf returns err, most often the scanner's *XLSXError, as an
// *XLSXError of the sheet, naming the column's header when it is known.
func (s *xlsxSource) errorf(err error) error {
	e := xlsxErrorAt(s.path, s.sheet, s.part, err)
	if e.Column > 0 && e.Column <= len(s.hdr) {
		e.Header = s.hdr[e.Column-1]
	}
	return e
}

func (s *xlsxSource) header() ([]string, error) {
	if s.hdrDone {
		return s.hdr, nil
	}
	for {
		num, err := s.sc.next()
		if err == io.EOF {
			return nil, s.errorf(kindf(ErrNoHeader, "no header row (row %d)", s.hdrRow))
		}
		if err != nil {
			return nil, s.errorf(err)
		}
		s.done.Store(s.sc.offset())
		if num < s.hdrRow {
			continue
		}
		if num > s.hdrRow {
			return nil, s.errorf(kindf(ErrNoHeader, "header row %d is empty", s.hdrRow))
		}
		hdr := trimHeader(s.sc.appendRow(nil, nil, s.sc.lastCell()+1))
		if len(hdr) == 0 {
			return nil, s.errorf(kindf(ErrNoHeader, "header row %d is empty", s.hdrRow))
		}
		s.hdr, s.hdrDone, s.width = hdr, true, len(hdr)
		return hdr, nil
	}
}

func (s *xlsxSource) next() (rawRow, error) {
	if !s.hdrDone {
		if _, err := s.header(); err != nil {
			return rawRow{}, err
		}
	}
	for {
		num, err := s.sc.next()
		if err == io.EOF {
			s.done.Store(s.sc.offset())
			return rawRow{}, io.EOF
		}
		if err != nil {
			return rawRow{}, s.errorf(err)
		}
		s.done.Store(s.sc.offset())
		last := s.sc.lastCell()
		if last < 0 || num <= s.hdrRow {
			continue
		}
		// Keep cells beyond the header so the Reader flags the field count.
		width := max(s.width, last+1)
		s.cells = s.sc.appendRow(s.cells[:0], &s.numeric, width)
		return rawRow{num: num, cells: s.cells, numeric: s.numeric}, nil
	}
}

func (s *xlsxSource) progress() (int64, int64) { return s.done.Load(), s.total }

func (s *xlsxSource) close() error {
	s.rc.Close()
	return s.zr.Close()
}
