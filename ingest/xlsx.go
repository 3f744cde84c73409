package ingest

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf16"
	"unicode/utf8"

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
	zr      *zip.ReadCloser
	part    io.ReadCloser
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
		return nil, fmt.Errorf("%s: sheet %q: part %s is missing", path, wb.sheet, wb.sheetPath)
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
		return nil, fmt.Errorf("%s: sheet %q: %w", path, wb.sheet, err)
	}
	hdrRow := int64(m.HeaderRow)
	if hdrRow < 1 {
		hdrRow = 1
	}
	return &xlsxSource{
		path:   path,
		sheet:  wb.sheet,
		zr:     zr,
		part:   rc,
		sc:     newSheetScanner(rc, xlsxWindow, sst, dates, wb.date1904),
		total:  int64(sheetPart.UncompressedSize64),
		hdrRow: hdrRow,
	}, nil
}

// xlsxOpenError explains the common ways a file is not a zip package.
func xlsxOpenError(path string, err error) error {
	if !errors.Is(err, zip.ErrFormat) {
		return fmt.Errorf("%s: %w", path, err)
	}
	if f, ferr := os.Open(path); ferr == nil {
		defer f.Close()
		magic := make([]byte, 8)
		if _, rerr := io.ReadFull(f, magic); rerr == nil && bytes.Equal(magic, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}) {
			return fmt.Errorf("%s: not an XLSX package but an OLE file: a password-protected workbook or a legacy .xls; save it as .xlsx without a password: %w", path, err)
		}
	}
	return fmt.Errorf("%s: not an XLSX (zip) package: %w", path, err)
}

func (s *xlsxSource) errorf(err error) error {
	return fmt.Errorf("%s: sheet %q: %w", s.path, s.sheet, err)
}

func (s *xlsxSource) header() ([]string, error) {
	if s.hdrDone {
		return s.hdr, nil
	}
	for {
		num, err := s.sc.next()
		if err == io.EOF {
			return nil, s.errorf(fmt.Errorf("no header row (row %d)", s.hdrRow))
		}
		if err != nil {
			return nil, s.errorf(err)
		}
		s.done.Store(s.sc.offset())
		if num < s.hdrRow {
			continue
		}
		if num > s.hdrRow {
			return nil, s.errorf(fmt.Errorf("header row %d is empty", s.hdrRow))
		}
		hdr := s.sc.appendRow(nil, nil, s.sc.lastCell()+1)
		for i := range hdr {
			hdr[i] = strings.TrimSpace(hdr[i])
		}
		for len(hdr) > 0 && hdr[len(hdr)-1] == "" {
			hdr = hdr[:len(hdr)-1]
		}
		if len(hdr) == 0 {
			return nil, s.errorf(fmt.Errorf("header row %d is empty", s.hdrRow))
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
	s.part.Close()
	return s.zr.Close()
}

// xlsxPackage finds the parts of a workbook.
type xlsxPackage struct {
	path  string
	parts map[string]*zip.File // by lower-case name
}

func (p *xlsxPackage) part(name string) *zip.File { return p.parts[strings.ToLower(name)] }

// xlsxRels is a relationships part (*.rels).
type xlsxRels struct {
	Rels []struct {
		ID         string `xml:"Id,attr"`
		Type       string `xml:"Type,attr"`
		Target     string `xml:"Target,attr"`
		TargetMode string `xml:"TargetMode,attr"`
	} `xml:"Relationship"`
}

// xlsxWorkbook is what the source needs of xl/workbook.xml.
type xlsxWorkbook struct {
	Pr struct {
		Date1904 string `xml:"date1904,attr"`
	} `xml:"workbookPr"`
	Sheets []struct {
		Name string `xml:"name,attr"`
		RID  string `xml:"id,attr"` // r:id, transitional or strict namespace
	} `xml:"sheets>sheet"`
}

// xlsxStyles is what the source needs of xl/styles.xml.
type xlsxStyles struct {
	NumFmts []struct {
		ID   int    `xml:"numFmtId,attr"`
		Code string `xml:"formatCode,attr"`
	} `xml:"numFmts>numFmt"`
	CellXfs []struct {
		NumFmtID int `xml:"numFmtId,attr"`
	} `xml:"cellXfs>xf"`
}

// xlsxBook is the resolved workbook: the chosen sheet and its companions.
type xlsxBook struct {
	sheet      string
	sheetPath  string
	stylesPath string // "" when absent
	sstPath    string // "" when absent
	date1904   bool
}

func (p *xlsxPackage) decode(name string, v any) error {
	f := p.part(name)
	if f == nil {
		return fmt.Errorf("%s: part %s is missing", p.path, name)
	}
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: %s: %w", p.path, name, err)
	}
	defer rc.Close()
	if err := xml.NewDecoder(rc).Decode(v); err != nil {
		return fmt.Errorf("%s: %s: %w", p.path, name, err)
	}
	return nil
}

// xlsxRelType reports whether a relationship type URI names kind, in both the
// transitional and the strict (ISO 29500) namespaces.
func xlsxRelType(uri, kind string) bool { return strings.HasSuffix(uri, "/"+kind) }

// xlsxTarget turns a relationship target into a part name.
func xlsxTarget(base, target string) string {
	if !strings.HasPrefix(target, "/") {
		target = path.Join(path.Dir(base), target)
	}
	return strings.TrimPrefix(path.Clean(target), "/")
}

// workbook resolves the package's workbook and the sheet named sheet ("" for
// the first worksheet).
func (p *xlsxPackage) workbook(sheet string) (xlsxBook, error) {
	wbPath := "xl/workbook.xml"
	if p.part("_rels/.rels") != nil {
		var root xlsxRels
		if err := p.decode("_rels/.rels", &root); err != nil {
			return xlsxBook{}, err
		}
		for _, r := range root.Rels {
			if xlsxRelType(r.Type, "officeDocument") {
				wbPath = xlsxTarget("/", r.Target)
				break
			}
		}
	}
	var wb xlsxWorkbook
	if err := p.decode(wbPath, &wb); err != nil {
		return xlsxBook{}, err
	}
	var rels xlsxRels
	relsPath := path.Join(path.Dir(wbPath), "_rels", path.Base(wbPath)+".rels")
	if err := p.decode(relsPath, &rels); err != nil {
		return xlsxBook{}, err
	}
	book := xlsxBook{date1904: wb.Pr.Date1904 == "1" || wb.Pr.Date1904 == "true"}
	byID := make(map[string]int, len(rels.Rels))
	for i, r := range rels.Rels {
		byID[r.ID] = i
		if r.TargetMode == "External" {
			continue
		}
		switch {
		case xlsxRelType(r.Type, "styles"):
			book.stylesPath = xlsxTarget(wbPath, r.Target)
		case xlsxRelType(r.Type, "sharedStrings"):
			book.sstPath = xlsxTarget(wbPath, r.Target)
		}
	}
	pick := -1
	if sheet == "" {
		for i, s := range wb.Sheets {
			if ri, ok := byID[s.RID]; ok && xlsxRelType(rels.Rels[ri].Type, "worksheet") {
				pick = i
				break
			}
		}
		if pick < 0 {
			return xlsxBook{}, fmt.Errorf("%s: the workbook has no worksheet", p.path)
		}
	} else {
		// Excel compares sheet names case-insensitively.
		for i, s := range wb.Sheets {
			if s.Name == sheet || (pick < 0 && strings.EqualFold(s.Name, sheet)) {
				pick = i
			}
		}
		if pick < 0 {
			names := make([]string, len(wb.Sheets))
			for i, s := range wb.Sheets {
				names[i] = strconv.Quote(s.Name)
			}
			return xlsxBook{}, fmt.Errorf("%s: no sheet %q (the workbook has %s)", p.path, sheet, strings.Join(names, ", "))
		}
	}
	book.sheet = wb.Sheets[pick].Name
	ri, ok := byID[wb.Sheets[pick].RID]
	if !ok {
		return xlsxBook{}, fmt.Errorf("%s: sheet %q: relationship %q not found in %s", p.path, book.sheet, wb.Sheets[pick].RID, relsPath)
	}
	if rel := rels.Rels[ri]; !xlsxRelType(rel.Type, "worksheet") {
		return xlsxBook{}, fmt.Errorf("%s: sheet %q is not a worksheet (%s)", p.path, book.sheet, path.Base(rel.Type))
	}
	book.sheetPath = xlsxTarget(wbPath, rels.Rels[ri].Target)
	return book, nil
}

// dateStyles reports per cell style (the s attribute of a cell) whether it
// formats numbers as dates or times.
func (p *xlsxPackage) dateStyles(stylesPath string) ([]bool, error) {
	if stylesPath == "" || p.part(stylesPath) == nil {
		return nil, nil
	}
	var st xlsxStyles
	if err := p.decode(stylesPath, &st); err != nil {
		return nil, err
	}
	custom := make(map[int]string, len(st.NumFmts))
	for _, f := range st.NumFmts {
		custom[f.ID] = f.Code
	}
	dates := make([]bool, len(st.CellXfs))
	for i, xf := range st.CellXfs {
		if code, ok := custom[xf.NumFmtID]; ok {
			dates[i] = isDateFormat(code)
		} else {
			dates[i] = isBuiltinDateFormat(xf.NumFmtID)
		}
	}
	return dates, nil
}

// isBuiltinDateFormat reports whether a built-in number format id (one
// without a numFmt element) is a date or time: 14-22 and 45-47 everywhere,
// and 27-36 and 50-58, which are dates in the East Asian locales (zh-CN
// 31 is yyyy"年"m"月"d"日", 57 and 58 are written by WPS).
func isBuiltinDateFormat(id int) bool {
	return 14 <= id && id <= 22 || 27 <= id && id <= 36 || 45 <= id && id <= 47 || 50 <= id && id <= 58
}

// isDateFormat reports whether a custom number format code shows a date or
// time: a y, m, d, h or s outside quoted text, escapes and brackets, or an
// elapsed-time bracket such as [h].
func isDateFormat(code string) bool {
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				return false
			}
		case '\\', '_', '*': // escaped char, space the width of, fill with
			i++
		case '[':
			j := strings.IndexByte(code[i+1:], ']')
			if j < 0 {
				return false
			}
			if in := strings.ToLower(code[i+1 : i+1+j]); in != "" && strings.Trim(in, "hms") == "" {
				return true
			}
			i += j + 1
		case 'y', 'Y', 'm', 'M', 'd', 'D', 'h', 'H', 's', 'S':
			return true
		}
	}
	return false
}

// sharedStrings reads the shared strings table. Strings are kept in one
// string with offsets: a table of millions of unique strings (ID numbers
// exported as text) then costs 4 bytes a string on top of its text.
func (p *xlsxPackage) sharedStrings(name string) (*sharedStrings, error) {
	if name == "" || p.part(name) == nil {
		return &sharedStrings{off: []uint32{0}}, nil
	}
	rc, err := p.part(name).Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", p.path, name, err)
	}
	defer rc.Close()
	sst, err := readSharedStrings(rc, xlsxWindow)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", p.path, name, err)
	}
	return sst, nil
}

// sharedStrings is the shared strings table: string i is
// text[off[i]:off[i+1]].
type sharedStrings struct {
	text string
	off  []uint32
}

func (t *sharedStrings) len() int { return len(t.off) - 1 }

func (t *sharedStrings) at(i int) string { return t.text[t.off[i]:t.off[i+1]] }

// readSharedStrings parses a shared strings part (<sst><si>…</si></sst>).
func readSharedStrings(r io.Reader, window int) (*sharedStrings, error) {
	p := sstReader{w: xmlWindow{r: r, buf: make([]byte, window)}, off: []uint32{0}}
	for !p.done {
		err := p.step()
		if err == errXMLShort {
			if err = p.w.more(); err == io.EOF {
				if !p.in {
					break
				}
				err = io.ErrUnexpectedEOF
			}
		}
		if err != nil {
			return nil, fmt.Errorf("string item %d: %w", len(p.off), err)
		}
	}
	// Read to the end so that archive/zip verifies the checksum.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, err
	}
	return &sharedStrings{text: p.text.String(), off: p.off}, nil
}

// sstReader is the state of readSharedStrings.
type sstReader struct {
	w        xmlWindow
	text     strings.Builder
	off      []uint32
	arena    []byte
	in, done bool // within <sst>, after </sst>
}

// step parses one tag, or one whole element within <sst>, at the window's
// position.
func (p *sstReader) step() error {
	b, i := p.w.buf[:p.w.end], p.w.pos
	j := bytes.IndexByte(b[i:], '<')
	if j < 0 {
		p.w.pos = p.w.end // text between elements means nothing here
		return errXMLShort
	}
	i += j
	t, next, err := readXMLTag(b, i)
	if err == nil && p.in && t.kind == tagOpen {
		if string(t.name) == "si" {
			if p.arena, next, err = readXMLRich(p.arena[:0], b, next); err == nil {
				err = p.add(unescapeXString(p.arena))
			}
		} else { // extLst: nothing inside is a string
			next, err = skipXMLElement(b, next)
		}
	}
	if err != nil {
		p.w.pos = i
		return err
	}
	p.w.pos = next
	switch {
	case t.kind == tagOpen && string(t.name) == "sst":
		p.in = true
		if n, ok := xlsxUint(xmlAttr(b[t.a:t.ae], "uniqueCount")); ok {
			p.off = slices.Grow(p.off, min(n, 1<<20)) // a hint, not trusted
		}
	case t.kind == tagSelf && p.in && string(t.name) == "si":
		return p.add(nil)
	case t.kind == tagClose && string(t.name) == "sst", t.kind == tagSelf && string(t.name) == "sst":
		p.in, p.done = false, true
	}
	return nil
}

func (p *sstReader) add(s []byte) error {
	if uint64(p.text.Len())+uint64(len(s)) > math.MaxUint32 {
		return errors.New("shared strings larger than 4 GiB")
	}
	p.text.Write(s)
	p.off = append(p.off, uint32(p.text.Len()))
	return nil
}

// errXMLShort reports that an element does not end within the read window;
// the caller slides the window and parses the element again.
var errXMLShort = errors.New("xml: element crosses the read window")

// xmlWindow is a sliding window over an XML stream. Parsers work on
// buf[pos:end]; when an element does not fit they return errXMLShort, the
// window slides (and grows up to xlsxMaxElement) and the element is parsed
// again from its start: rows are small, so the rare re-parse is cheaper
// than a parser that can stop anywhere.
type xmlWindow struct {
	r        io.Reader
	buf      []byte
	pos, end int
	base     int64 // stream offset of buf[0]
	eof      bool
}

// more keeps buf[pos:end] and reads more after it. It returns io.EOF when
// the stream has nothing more to give.
func (w *xmlWindow) more() error {
	if w.eof {
		return io.EOF
	}
	if w.pos > 0 {
		w.end = copy(w.buf, w.buf[w.pos:w.end])
		w.base += int64(w.pos)
		w.pos = 0
	}
	if w.end == len(w.buf) {
		if len(w.buf) >= xlsxMaxElement {
			return fmt.Errorf("an element is larger than %d MiB", xlsxMaxElement>>20)
		}
		nb := make([]byte, min(2*len(w.buf), xlsxMaxElement))
		copy(nb, w.buf[:w.end])
		w.buf = nb
	}
	n, err := io.ReadFull(w.r, w.buf[w.end:])
	w.end += n
	switch err {
	case nil:
		return nil
	case io.EOF, io.ErrUnexpectedEOF:
		w.eof = true
		if n == 0 {
			return io.EOF
		}
		return nil
	}
	return err
}

// sheetScanner streams the rows of a worksheet part. After next, the row's
// cells are cells, whose text lives in arena or the shared strings table.
type sheetScanner struct {
	w        xmlWindow
	sst      *sharedStrings
	dates    []bool // by cell style index
	date1904 bool
	state    uint8
	row      int64 // number of the last row read
	cells    []sheetCell
	arena    []byte
	err      error
}

// sheetScanner states.
const (
	sheetBefore = iota // before <sheetData>
	sheetIn            // between rows
	sheetDone
)

// sheetCell is one non-empty cell of the current row.
type sheetCell struct {
	kind       uint8 // cellEmpty, cellArena or cellShared
	numeric    bool
	start, end int32 // arena span, or start = shared string index
}

const (
	cellEmpty = iota
	cellArena
	cellShared
)

func newSheetScanner(r io.Reader, window int, sst *sharedStrings, dates []bool, date1904 bool) *sheetScanner {
	if sst == nil {
		sst = &sharedStrings{off: []uint32{0}}
	}
	return &sheetScanner{w: xmlWindow{r: r, buf: make([]byte, window)}, sst: sst, dates: dates, date1904: date1904}
}

// offset is how many bytes of the stream the scanner has consumed.
func (s *sheetScanner) offset() int64 { return s.w.base + int64(s.w.pos) }

// next reads the next row element and returns its row number, or io.EOF
// after the last. Errors name the row.
func (s *sheetScanner) next() (int64, error) {
	if s.err != nil {
		return 0, s.err
	}
	for {
		if s.state == sheetDone {
			// Read to the end so that archive/zip verifies the checksum.
			n, err := io.Copy(io.Discard, s.w.r)
			s.w.base += int64(s.w.end) + n
			s.w.pos, s.w.end = 0, 0
			if err != nil {
				s.err = fmt.Errorf("after row %d: %w", s.row, err)
				return 0, s.err
			}
			s.err = io.EOF
			return 0, io.EOF
		}
		num, got, err := s.step()
		if err == errXMLShort {
			if err = s.w.more(); err == nil {
				continue
			}
			if err == io.EOF {
				if s.state == sheetBefore {
					s.state = sheetDone // no sheetData: an empty sheet
					continue
				}
				err = errors.New("unexpected end of the sheet XML")
			}
		}
		if err != nil {
			if got {
				s.err = fmt.Errorf("row %d: %w", num, err)
			} else {
				s.err = fmt.Errorf("after row %d: %w", s.row, err)
			}
			return 0, s.err
		}
		if got {
			s.row = num
			return num, nil
		}
	}
}

// step parses one tag, or one whole row, at the window's position. got is
// true when a row was read (or failed: then err names it).
func (s *sheetScanner) step() (num int64, got bool, err error) {
	b, i := s.w.buf[:s.w.end], s.w.pos
	if s.state == sheetBefore && s.w.base == 0 && len(b) >= 2 && (b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE) {
		return 0, false, errors.New("UTF-16 sheet XML is not supported")
	}
	j := bytes.IndexByte(b[i:], '<')
	if j < 0 {
		s.w.pos = s.w.end // text between elements means nothing here
		return 0, false, errXMLShort
	}
	i += j
	t, next, err := readXMLTag(b, i)
	if err != nil {
		s.w.pos = i
		return 0, false, err
	}
	switch s.state {
	case sheetBefore:
		if string(t.name) == "sheetData" {
			switch t.kind {
			case tagOpen:
				s.state = sheetIn
			case tagSelf:
				s.state = sheetDone
			}
		}
	case sheetIn:
		switch {
		case t.kind == tagClose && string(t.name) == "sheetData":
			s.state = sheetDone
		case (t.kind == tagOpen || t.kind == tagSelf) && string(t.name) == "row":
			num = s.row + 1
			if v := xmlAttr(b[t.a:t.ae], "r"); v != nil {
				n, ok := xlsxUint(v)
				if !ok || n < 1 || n > xlsxMaxRows {
					return 0, false, fmt.Errorf("bad row number %q", v)
				}
				num = int64(n)
				if num <= s.row {
					// Rows out of order or twice: which data is row N?
					return num, true, fmt.Errorf("row %d after row %d: rows out of order", num, s.row)
				}
			}
			if num > xlsxMaxRows {
				return num, true, errors.New("row beyond the last row of a sheet")
			}
			s.cells, s.arena = s.cells[:0], s.arena[:0]
			if t.kind == tagOpen {
				if next, err = s.parseRow(b, next); err != nil {
					s.w.pos = i
					return num, true, err
				}
			}
			s.w.pos = next
			return num, true, nil
		case t.kind == tagOpen:
			if next, err = skipXMLElement(b, next); err != nil {
				s.w.pos = i
				return 0, false, err
			}
		case t.kind == tagClose:
			return 0, false, fmt.Errorf("unexpected </%s>", t.name)
		}
	}
	s.w.pos = next
	return 0, false, nil
}

// parseRow parses the content of a row element from b[i] to its end tag.
func (s *sheetScanner) parseRow(b []byte, i int) (int, error) {
	col := -1
	for {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return 0, errXMLShort
		}
		i += j
		var err error
		if i+2 < len(b) && b[i+1] == 'c' && isXMLNameEnd(b[i+2]) { // <c, the usual
			if i, col, err = s.parseCell(b, i+2, col); err != nil {
				return 0, err
			}
			continue
		}
		t, next, err := readXMLTag(b, i)
		if err != nil {
			return 0, err
		}
		switch {
		case t.kind == tagClose && string(t.name) == "row":
			return next, nil
		case t.kind == tagClose:
			return 0, fmt.Errorf("unexpected </%s>", t.name)
		case (t.kind == tagOpen || t.kind == tagSelf) && string(t.name) == "c": // <x:c
			if next, col, err = s.parseCell(b, t.a, col); err != nil {
				return 0, err
			}
		case t.kind == tagOpen:
			if next, err = skipXMLElement(b, next); err != nil {
				return 0, err
			}
		}
		i = next
	}
}

// parseCell parses one c element from b[i], just after its name; prev is
// the column of the previous cell, for cells without an r attribute.
func (s *sheetScanner) parseCell(b []byte, i int, prev int) (next, col int, err error) {
	ref, style, typ, i, self, err := cellAttrs(b, i)
	if err != nil {
		return 0, 0, err
	}
	col = prev + 1
	if len(ref) > 0 {
		if col, err = xlsxColumn(ref); err != nil {
			return 0, 0, err
		}
	}
	if col >= xlsxMaxCols {
		return 0, 0, fmt.Errorf("column %d beyond XFD", col+1)
	}
	if self {
		return i, col, nil
	}
	start := len(s.arena)
	vs, ve, is, ie := -1, -1, -1, -1
	// Most cells are <v>…</v></c> or <is><t>…</t></is></c>: take them
	// without the general loop.
	if v, k, ok := xmlPlainText(b, i, "<v>", "</v></c>"); ok {
		vs, s.arena, i = start, append(s.arena, v...), k
		ve = len(s.arena)
	} else if v, k, ok := xmlPlainText(b, i, "<is><t>", "</t></is></c>"); ok {
		is, s.arena, i = start, append(s.arena, v...), k
		ie = len(s.arena)
	} else {
		for {
			j := bytes.IndexByte(b[i:], '<')
			if j < 0 {
				return 0, 0, errXMLShort
			}
			ct, nx, err := readXMLTag(b, i+j)
			if err != nil {
				return 0, 0, err
			}
			i = nx
			if ct.kind == tagClose {
				if string(ct.name) != "c" {
					return 0, 0, fmt.Errorf("cell %s: unexpected </%s>", xlsxCellName(ref, col), ct.name)
				}
				break
			}
			if ct.kind != tagOpen {
				continue
			}
			switch string(ct.name) {
			case "v":
				vs = len(s.arena)
				s.arena, i, err = readXMLText(s.arena, b, i)
				ve = len(s.arena)
			case "is":
				is = len(s.arena)
				s.arena, i, err = readXMLRich(s.arena, b, i)
				ie = len(s.arena)
			default: // f (the formula: its cached value is in v), extLst
				i, err = skipXMLElement(b, i)
			}
			if err != nil {
				return 0, 0, err
			}
		}
	}
	c := sheetCell{kind: cellArena}
	switch string(typ) {
	case "s":
		if vs < 0 {
			c.kind = cellEmpty
			break
		}
		n, ok := xlsxUint(bytes.TrimSpace(s.arena[vs:ve]))
		if !ok || n >= s.sst.len() {
			return 0, 0, fmt.Errorf("cell %s: shared string %q not in the table of %d", xlsxCellName(ref, col), s.arena[vs:ve], s.sst.len())
		}
		s.arena = s.arena[:start]
		c.kind, c.start = cellShared, int32(n)
		if s.sst.off[n] == s.sst.off[n+1] {
			c.kind = cellEmpty // excelize writes "" cells as an empty shared string
		}
	case "inlineStr":
		if is < 0 {
			is, ie = vs, ve
		}
		s.arena = s.span(start, is, ie)
		s.arena = s.arena[:start+len(unescapeXString(s.arena[start:]))]
	case "str":
		s.arena = s.span(start, vs, ve)
		s.arena = s.arena[:start+len(unescapeXString(s.arena[start:]))]
	case "b":
		s.arena = s.span(start, vs, ve)
		switch string(s.arena[start:]) {
		case "1", "true":
			s.arena = append(s.arena[:start], "TRUE"...)
		case "0", "false":
			s.arena = append(s.arena[:start], "FALSE"...)
		}
	case "d":
		s.arena = s.span(start, vs, ve)
		s.arena = appendISODate(s.arena[:start], s.arena[start:])
	case "", "n":
		s.arena = s.span(start, vs, ve)
		if len(s.arena) > start {
			c.numeric = s.number(start, style)
		}
	default: // "e" (#N/A …) and unknown types: the text as stored
		s.arena = s.span(start, vs, ve)
	}
	if c.kind == cellArena {
		c.start, c.end = int32(start), int32(len(s.arena))
		if c.start == c.end {
			c.kind = cellEmpty
		}
	}
	if col < len(s.cells) {
		s.cells[col] = c
	} else if c.kind != cellEmpty {
		s.cells = append(s.cells, make([]sheetCell, col+1-len(s.cells))...)
		s.cells[col] = c
	}
	return i, col, nil
}

// cellAttrs reads the attributes of a c start tag from b[i] (just after
// the name) to the tag's end, in one pass.
func cellAttrs(b []byte, i int) (ref, style, typ []byte, next int, self bool, err error) {
	n := len(b)
	for {
		for i < n && isXMLSpace(b[i]) {
			i++
		}
		if i >= n {
			return nil, nil, nil, 0, false, errXMLShort
		}
		switch b[i] {
		case '>':
			return ref, style, typ, i + 1, false, nil
		case '/':
			if i+1 >= n {
				return nil, nil, nil, 0, false, errXMLShort
			}
			if b[i+1] == '>' {
				return ref, style, typ, i + 2, true, nil
			}
		}
		e := i
		for e < n && b[e] != '=' && b[e] != '>' && b[e] != '<' {
			e++
		}
		q := e + 1
		for q < n && isXMLSpace(b[q]) {
			q++
		}
		if q >= n {
			return nil, nil, nil, 0, false, errXMLShort
		}
		if b[e] != '=' || b[q] != '"' && b[q] != '\'' {
			return nil, nil, nil, 0, false, errors.New("malformed <c> tag")
		}
		v := bytes.IndexByte(b[q+1:], b[q])
		if v < 0 {
			return nil, nil, nil, 0, false, errXMLShort
		}
		val := b[q+1 : q+1+v]
		switch string(trimXMLSpaceRight(b[i:e])) {
		case "r":
			ref = val
		case "s":
			style = val
		case "t":
			typ = val
		}
		i = q + 2 + v
	}
}

// xmlPlainText matches open, text without references, then close at b[i].
func xmlPlainText(b []byte, i int, open, close string) (text []byte, next int, ok bool) {
	if len(b)-i < len(open) || string(b[i:i+len(open)]) != open {
		return nil, 0, false
	}
	i += len(open)
	k := i
	for k < len(b) && b[k] != '<' {
		if b[k] == '&' || b[k] == '\r' {
			return nil, 0, false
		}
		k++
	}
	if len(b)-k < len(close) || string(b[k:k+len(close)]) != close {
		return nil, 0, false
	}
	return b[i:k], k + len(close), true
}

// span moves arena[from:to] to arena[start:] and drops the rest; from < 0
// means no value.
func (s *sheetScanner) span(start, from, to int) []byte {
	if from < 0 {
		return s.arena[:start]
	}
	if from == start {
		return s.arena[:to]
	}
	return append(s.arena[:start], s.arena[from:to]...)
}

// number renders the number at arena[start:] as a person sees it and
// reports whether the cell counts as numeric: date-formatted numbers become
// dates and are not numeric.
func (s *sheetScanner) number(start int, style []byte) bool {
	v := s.arena[start:]
	if n, ok := xlsxUint(style); ok && n < len(s.dates) && s.dates[n] {
		if f, ok := xlsxSerial(v); ok {
			if out, ok := appendSerialDate(s.arena[:start], f, s.date1904); ok {
				s.arena = out
			}
		}
		return false
	}
	// "13912345678.0" is what a person sees as 13912345678. Anything else,
	// notably the E+17 form of an ID that lost its digits, is kept as
	// stored for the cleanse stage to judge.
	if k := bytes.IndexByte(v, '.'); k > 0 && k < len(v)-1 && xlsxInteger(v[:k]) && xlsxZeros(v[k+1:]) {
		s.arena = s.arena[:start+k]
	}
	return true
}

// lastCell is the column of the current row's last non-empty cell, -1 for
// an empty row.
func (s *sheetScanner) lastCell() int {
	n := len(s.cells) - 1
	for n >= 0 && s.cells[n].kind == cellEmpty {
		n--
	}
	return n
}

// appendRow appends the first width cells of the current row to dst and,
// when numeric is not nil, sets *numeric to their number flags. The text of
// the row is one string: one allocation a row.
func (s *sheetScanner) appendRow(dst []string, numeric *[]bool, width int) []string {
	var text string
	if len(s.arena) > 0 {
		text = string(s.arena)
	}
	if numeric != nil {
		*numeric = (*numeric)[:0]
	}
	for i := range width {
		var c sheetCell
		if i < len(s.cells) {
			c = s.cells[i]
		}
		var v string
		switch c.kind {
		case cellArena:
			v = text[c.start:c.end]
		case cellShared:
			v = s.sst.at(int(c.start))
		}
		dst = append(dst, v)
		if numeric != nil {
			*numeric = append(*numeric, c.numeric)
		}
	}
	return dst
}

// xlsxCellName names a cell in an error message.
func xlsxCellName(ref []byte, col int) string {
	if len(ref) > 0 {
		return string(ref)
	}
	return "in column " + strconv.Itoa(col+1)
}

// xlsxColumn returns the 0-based column of a cell reference such as "B7".
func xlsxColumn(ref []byte) (int, error) {
	col, n := 0, 0
	for ; n < len(ref) && n < 4; n++ {
		c := ref[n] | 0x20 // lower case
		if c < 'a' || c > 'z' {
			break
		}
		col = col*26 + int(c-'a'+1)
	}
	if n == 0 || col > xlsxMaxCols || !xlsxDigits(ref[n:]) {
		return 0, fmt.Errorf("bad cell reference %q", ref)
	}
	return col - 1, nil
}

// Tag kinds returned by readXMLTag.
const (
	tagOpen  = iota + 1 // <name …>
	tagSelf             // <name …/>
	tagClose            // </name>
	tagCDATA            // <![CDATA[text]]>
	tagSkip             // comment, processing instruction, DOCTYPE
)

// xmlTag is one piece of markup. name is the local name, without a
// namespace prefix (some writers use <x:row>). b[a:ae] is the attribute
// text of a start tag, or the content of a CDATA section. It is kept small
// enough for the register ABI: readXMLTag runs several times a cell.
type xmlTag struct {
	kind  uint8
	name  []byte
	a, ae int
}

// readXMLTag reads the markup starting at b[i] == '<' and returns it with the
// offset just after it.
func readXMLTag(b []byte, i int) (t xmlTag, next int, err error) {
	n := len(b)
	if i+1 >= n {
		return t, 0, errXMLShort
	}
	switch b[i+1] {
	case '/':
		k := bytes.IndexByte(b[i+2:], '>')
		if k < 0 {
			return t, 0, errXMLShort
		}
		t.kind, t.name = tagClose, xmlLocalName(trimXMLSpaceRight(b[i+2:i+2+k]))
		return t, i + 3 + k, nil
	case '?':
		k := bytes.Index(b[i+2:], []byte("?>"))
		if k < 0 {
			return t, 0, errXMLShort
		}
		t.kind = tagSkip
		return t, i + 4 + k, nil
	case '!':
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			k := bytes.Index(rest[4:], []byte("-->"))
			if k < 0 {
				return t, 0, errXMLShort
			}
			t.kind = tagSkip
			return t, i + 7 + k, nil
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			k := bytes.Index(rest[9:], []byte("]]>"))
			if k < 0 {
				return t, 0, errXMLShort
			}
			t.kind, t.a, t.ae = tagCDATA, i+9, i+9+k
			return t, i + 12 + k, nil
		case len(rest) < 9 && (bytes.HasPrefix([]byte("<![CDATA["), rest) || bytes.HasPrefix([]byte("<!--"), rest)):
			return t, 0, errXMLShort
		}
		// DOCTYPE: an internal subset in [...] may hold '>'.
		depth := 0
		for k := i + 2; k < n; k++ {
			switch b[k] {
			case '[':
				depth++
			case ']':
				depth--
			case '>':
				if depth <= 0 {
					t.kind = tagSkip
					return t, k + 1, nil
				}
			}
		}
		return t, 0, errXMLShort
	}
	j := i + 1
	for j < n && !isXMLNameEnd(b[j]) {
		j++
	}
	if j == n {
		return t, 0, errXMLShort
	}
	if j == i+1 {
		return t, 0, fmt.Errorf("malformed tag %q", xmlClip(b[i:], 20))
	}
	t.name = xmlLocalName(b[i+1 : j])
	k := j
	for k < n && b[k] != '>' {
		switch b[k] {
		case '"', '\'':
			q := bytes.IndexByte(b[k+1:], b[k])
			if q < 0 {
				return t, 0, errXMLShort
			}
			k += q + 2
			continue
		case '<':
			return t, 0, fmt.Errorf("malformed tag %q", xmlClip(b[i:], 20))
		}
		k++
	}
	if k >= n {
		return t, 0, errXMLShort
	}
	t.kind, t.a, t.ae = tagOpen, j, k
	if b[k-1] == '/' {
		t.kind, t.ae = tagSelf, k-1
	}
	return t, k + 1, nil
}

func isXMLNameEnd(c byte) bool { return c == '>' || c == '/' || isXMLSpace(c) }

func xmlLocalName(name []byte) []byte {
	if k := bytes.LastIndexByte(name, ':'); k >= 0 {
		return name[k+1:]
	}
	return name
}

func xmlClip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// nextAttr splits the first attribute off a tag's attribute text; ok is
// false at the end or on malformed text.
func nextAttr(a []byte) (name, val, rest []byte, ok bool) {
	a = trimXMLSpaceLeft(a)
	eq := bytes.IndexByte(a, '=')
	if eq <= 0 {
		return nil, nil, nil, false
	}
	name = trimXMLSpaceRight(a[:eq])
	a = trimXMLSpaceLeft(a[eq+1:])
	if len(a) == 0 || a[0] != '"' && a[0] != '\'' {
		return nil, nil, nil, false
	}
	q := bytes.IndexByte(a[1:], a[0])
	if q < 0 {
		return nil, nil, nil, false
	}
	return name, a[1 : 1+q], a[q+2:], true
}

// trimXMLSpaceLeft and trimXMLSpaceRight trim XML white space; bytes.Trim with
// a cutset builds a set on every call, which shows in profiles.
func trimXMLSpaceLeft(b []byte) []byte {
	for len(b) > 0 && isXMLSpace(b[0]) {
		b = b[1:]
	}
	return b
}

func trimXMLSpaceRight(b []byte) []byte {
	for len(b) > 0 && isXMLSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// xmlAttr returns the value of the attribute name, nil when absent.
func xmlAttr(a []byte, name string) []byte {
	for {
		n, v, rest, ok := nextAttr(a)
		if !ok {
			return nil
		}
		if string(n) == name {
			return v
		}
		a = rest
	}
}

// skipXMLElement skips the content of an element whose start tag ends at b[i]
// and returns the offset after its end tag.
func skipXMLElement(b []byte, i int) (int, error) {
	for depth := 1; ; {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return 0, errXMLShort
		}
		t, next, err := readXMLTag(b, i+j)
		if err != nil {
			return 0, err
		}
		switch t.kind {
		case tagOpen:
			depth++
		case tagClose:
			if depth--; depth == 0 {
				return next, nil
			}
		}
		i = next
	}
}

// readXMLText appends the text of an element whose start tag ends at b[i]
// (<v>, <t>) and returns the offset after its end tag.
func readXMLText(dst, b []byte, i int) ([]byte, int, error) {
	for {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return dst, 0, errXMLShort
		}
		dst = appendXMLText(dst, b[i:i+j])
		t, next, err := readXMLTag(b, i+j)
		if err != nil {
			return dst, 0, err
		}
		switch t.kind {
		case tagClose:
			return dst, next, nil
		case tagCDATA:
			dst = appendCDATA(dst, b[t.a:t.ae])
		case tagOpen, tagSelf:
			return dst, 0, fmt.Errorf("unexpected <%s> in text", t.name)
		}
		i = next
	}
}

// readXMLRich appends the text of a string item (<si> or <is>) whose start tag
// ends at b[i]: its <t>, or the <t> of its rich text runs <r>, skipping
// phonetic runs <rPh>. It returns the offset after the item's end tag.
func readXMLRich(dst, b []byte, i int) ([]byte, int, error) {
	runs := 0 // open <r> elements
	for {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return dst, 0, errXMLShort
		}
		t, next, err := readXMLTag(b, i+j)
		if err != nil {
			return dst, 0, err
		}
		switch t.kind {
		case tagClose:
			if runs == 0 {
				return dst, next, nil
			}
			runs--
		case tagOpen:
			switch string(t.name) {
			case "t":
				dst, next, err = readXMLText(dst, b, next)
			case "r":
				runs++
			default: // rPr, rPh, phoneticPr
				next, err = skipXMLElement(b, next)
			}
			if err != nil {
				return dst, 0, err
			}
		}
		i = next
	}
}

// appendXMLText appends character data, decoding entity and character
// references and normalizing line ends as an XML parser does.
func appendXMLText(dst, s []byte) []byte {
	if bytes.IndexByte(s, '&') < 0 && bytes.IndexByte(s, '\r') < 0 {
		return append(dst, s...)
	}
	for len(s) > 0 {
		k := 0
		for k < len(s) && s[k] != '&' && s[k] != '\r' {
			k++
		}
		dst, s = append(dst, s[:k]...), s[k:]
		if len(s) == 0 {
			break
		}
		if s[0] == '\r' {
			dst, s = append(dst, '\n'), s[1:]
			if len(s) > 0 && s[0] == '\n' {
				s = s[1:]
			}
			continue
		}
		if semi := bytes.IndexByte(s, ';'); semi > 1 && semi <= 12 {
			if r, ok := xmlEntity(s[1:semi]); ok {
				dst, s = utf8.AppendRune(dst, r), s[semi+1:]
				continue
			}
		}
		// Not a reference: keep the '&' rather than fail the file.
		dst, s = append(dst, '&'), s[1:]
	}
	return dst
}

func xmlEntity(name []byte) (rune, bool) {
	switch string(name) {
	case "amp":
		return '&', true
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if name[0] != '#' {
		return 0, false
	}
	base, digits := 10, name[1:]
	if len(digits) > 0 && (digits[0] == 'x' || digits[0] == 'X') {
		base, digits = 16, digits[1:]
	}
	n, err := strconv.ParseUint(string(digits), base, 32)
	if err != nil {
		return 0, false
	}
	if n > utf8.MaxRune {
		return utf8.RuneError, true
	}
	return rune(n), true
}

func appendCDATA(dst, s []byte) []byte {
	if bytes.IndexByte(s, '\r') < 0 {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' {
			dst = append(dst, '\n')
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			continue
		}
		dst = append(dst, s[i])
	}
	return dst
}

// unescapeXString decodes in place the _xHHHH_ escapes that OOXML strings
// use for characters XML cannot carry (_x000D_ for CR; _x005F_ is a literal
// underscore). UTF-16 surrogate pairs combine; a lone surrogate becomes
// U+FFFD. The decoded text is never longer than the escaped one.
func unescapeXString(b []byte) []byte {
	if !bytes.Contains(b, []byte("_x")) {
		return b
	}
	out := b[:0]
	for i := 0; i < len(b); {
		r, ok := xEscape(b[i:])
		if !ok {
			out = append(out, b[i])
			i++
			continue
		}
		i += 7
		if utf16.IsSurrogate(r) {
			lo, ok := xEscape(b[i:])
			if r < 0xDC00 && ok && 0xDC00 <= lo && lo <= 0xDFFF {
				r = utf16.DecodeRune(r, lo)
				i += 7
			} else {
				r = utf8.RuneError
			}
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// xEscape decodes an _xHHHH_ escape at the start of b.
func xEscape(b []byte) (rune, bool) {
	if len(b) < 7 || b[0] != '_' || b[1] != 'x' || b[6] != '_' {
		return 0, false
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c|0x20 && c|0x20 <= 'f':
			r = r<<4 | rune(c|0x20-'a'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func xlsxZeros(b []byte) bool {
	for _, c := range b {
		if c != '0' {
			return false
		}
	}
	return true
}

func xlsxDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// xlsxInteger reports whether b is an optionally negative decimal integer.
func xlsxInteger(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("-"))
	return len(b) > 0 && xlsxDigits(b)
}

// xlsxUint parses a small non-negative decimal.
func xlsxUint(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// xlsxSerial parses a date serial number; whole days, the common case,
// without strconv.
func xlsxSerial(v []byte) (float64, bool) {
	if n, ok := xlsxUint(v); ok {
		return float64(n), true
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil
}

// Excel's date systems count days from 1899-12-30 (1900 system) or
// 1904-01-01, here as days since 1970-01-01. In the 1900 system serial 60
// is the non-existent 1900-02-29 (a Lotus 1-2-3 bug Excel keeps), so serials
// 1-59 are one day later than their count.
const (
	excelEpoch1900 = -25569
	excelEpoch1904 = -24107
	// excelMaxSerial is 10000-01-01 in the 1900 system; Excel shows #####
	// from there on.
	excelMaxSerial = 2958466
)

// appendSerialDate appends the date of an Excel serial number as
// "2006-01-02", or "2006-01-02 15:04:05" when it has a time of day (rounded
// to the second, as Excel displays it).
func appendSerialDate(dst []byte, f float64, date1904 bool) ([]byte, bool) {
	limit := float64(excelMaxSerial)
	if date1904 {
		limit -= 1462
	}
	if !(f >= 0 && f < limit) {
		return dst, false
	}
	days := math.Floor(f)
	secs := int(math.Round((f - days) * 86400))
	if secs >= 86400 {
		days, secs = days+1, 0
	}
	d := int(days)
	switch {
	case date1904:
		dst = appendCivilDate(dst, excelEpoch1904+d)
	case d == 60:
		dst = append(dst, "1900-02-29"...)
	case d < 60:
		dst = appendCivilDate(dst, excelEpoch1900+d+1)
	default:
		dst = appendCivilDate(dst, excelEpoch1900+d)
	}
	if secs > 0 {
		dst = append(dst, ' ')
		dst = appendTwoDigits(dst, secs/3600)
		dst = append(dst, ':')
		dst = appendTwoDigits(dst, secs/60%60)
		dst = append(dst, ':')
		dst = appendTwoDigits(dst, secs%60)
	}
	return dst, true
}

// appendCivilDate appends the date of a day number (days since 1970-01-01,
// from 1 AD on) as 2006-01-02: H. Hinnant's days_from_civil inverse,
// several times faster than time.Time.AppendFormat.
func appendCivilDate(dst []byte, days int) []byte {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	dst = appendTwoDigits(dst, y/100)
	dst = appendTwoDigits(dst, y%100)
	dst = append(dst, '-')
	dst = appendTwoDigits(dst, m)
	dst = append(dst, '-')
	return appendTwoDigits(dst, d)
}

// appendTwoDigits appends n (0-99) as two digits.
func appendTwoDigits(dst []byte, n int) []byte { return append(dst, byte('0'+n/10), byte('0'+n%10)) }

// appendISODate appends an ISO 8601 date cell (t="d") in the form of
// appendSerialDate; text it cannot parse is appended as is. v may alias the
// free capacity of dst.
func appendISODate(dst, v []byte) []byte {
	s := string(v)
	for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		t = t.Round(time.Second)
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
			return t.AppendFormat(dst, "2006-01-02")
		}
		return t.AppendFormat(dst, "2006-01-02 15:04:05")
	}
	return append(dst, s...)
}
