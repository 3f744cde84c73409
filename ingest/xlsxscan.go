package ingest

import (
	"bytes"
	"io"
)

// sheetScanner streams the rows of a worksheet part. After next, the row's
// cells are cells, whose text lives in arena or the shared strings table.
type sheetScanner struct {
	w xmlWindow
	sheetRow
	dates    []bool // by cell style index
	date1904 bool
	state    uint8
	row      int64 // number of the last row read
	err      error
}

// sheetScanner states.
const (
	sheetBefore = iota // before <sheetData>
	sheetIn            // between rows
	sheetDone
)

func newSheetScanner(r io.Reader, window int, sst *sharedStrings, dates []bool, date1904 bool) *sheetScanner {
	if sst == nil {
		sst = &sharedStrings{off: []uint32{0}}
	}
	return &sheetScanner{w: xmlWindow{r: r, buf: make([]byte, window)}, sheetRow: sheetRow{sst: sst}, dates: dates, date1904: date1904}
}

// offset is how many bytes of the stream the scanner has consumed.
func (s *sheetScanner) offset() int64 { return s.w.base + int64(s.w.pos) }

// next reads the next row element and returns its row number, or io.EOF
// after the last. Errors are *XLSXError with the row (or the row before),
// and the column when the problem is within a cell.
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
				s.err = &XLSXError{After: s.row, Err: damaged(err)}
				return 0, s.err
			}
			s.err = io.EOF
			return 0, io.EOF
		}
		num, col, got, err := s.step()
		if err == errXMLShort {
			if err = s.w.more(); err == nil {
				continue
			}
			if err == io.EOF {
				if s.state == sheetBefore {
					s.state = sheetDone // no sheetData: an empty sheet
					continue
				}
				err = kindf(ErrTruncatedXML, "unexpected end of the sheet XML")
			}
		}
		if err != nil {
			err = checkPart(s.w.r, err)
			if got {
				s.err = &XLSXError{Row: num, Column: col, Err: err}
			} else {
				s.err = &XLSXError{After: s.row, Err: err}
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
// true when a row was read, or failed: then num is its number and col the
// 1-based column of the cell that failed, 0 when the problem is not within
// a cell.
func (s *sheetScanner) step() (num int64, col int, got bool, err error) {
	b, i := s.w.buf[:s.w.end], s.w.pos
	if s.state == sheetBefore && s.w.base == 0 && len(b) >= 2 && (b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE) {
		return 0, 0, false, kindf(ErrUnsupported, "UTF-16 sheet XML is not supported")
	}
	j := bytes.IndexByte(b[i:], '<')
	if j < 0 {
		s.w.pos = s.w.end // text between elements means nothing here
		return 0, 0, false, errXMLShort
	}
	i += j
	t, next, err := readXMLTag(b, i)
	if err != nil {
		s.w.pos = i
		return 0, 0, false, err
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
					return 0, 0, false, kindf(ErrBadRowNumber, "bad row number %q", v)
				}
				num = int64(n)
				if num <= s.row {
					// Rows out of order or twice: which data is row N?
					return num, 0, true, kindf(ErrBadRowNumber, "out of order, after row %d", s.row)
				}
			}
			if num > xlsxMaxRows {
				return num, 0, true, kindf(ErrBadRowNumber, "row beyond the last row of a sheet")
			}
			s.cells, s.arena = s.cells[:0], s.arena[:0]
			if t.kind == tagOpen {
				if next, col, err = s.parseRow(b, next); err != nil {
					s.w.pos = i
					return num, col, true, err
				}
			}
			s.w.pos = next
			return num, 0, true, nil
		case t.kind == tagOpen:
			if next, err = skipXMLElement(b, next); err != nil {
				s.w.pos = i
				return 0, 0, false, err
			}
		case t.kind == tagClose:
			return 0, 0, false, kindf(ErrMalformedXML, "unexpected </%s>", t.name)
		}
	}
	s.w.pos = next
	return 0, 0, false, nil
}

// parseRow parses the content of a row element from b[i] to its end tag.
// With an error, errCol is the 1-based column of the cell that failed, 0
// when the problem is not within a cell or the cell's column is unknown.
func (s *sheetScanner) parseRow(b []byte, i int) (next, errCol int, err error) {
	col := -1
	for {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return 0, 0, errXMLShort
		}
		i += j
		if i+2 < len(b) && b[i+1] == 'c' && isXMLNameEnd(b[i+2]) { // <c, the usual
			if i, col, err = s.parseCell(b, i+2, col); err != nil {
				return 0, col + 1, err
			}
			continue
		}
		var t xmlTag
		t, next, err = readXMLTag(b, i)
		if err != nil {
			return 0, 0, err
		}
		switch {
		case t.kind == tagClose && string(t.name) == "row":
			return next, 0, nil
		case t.kind == tagClose:
			return 0, 0, kindf(ErrMalformedXML, "unexpected </%s>", t.name)
		case (t.kind == tagOpen || t.kind == tagSelf) && string(t.name) == "c": // <x:c
			if next, col, err = s.parseCell(b, t.a, col); err != nil {
				return 0, col + 1, err
			}
		case t.kind == tagOpen:
			if next, err = skipXMLElement(b, next); err != nil {
				return 0, 0, err
			}
		}
		i = next
	}
}

// parseCell parses one c element from b[i], just after its name; prev is
// the column of the previous cell, for cells without an r attribute. With
// an error, col is the cell's column, -1 when not known yet.
func (s *sheetScanner) parseCell(b []byte, i int, prev int) (next, col int, err error) {
	ref, style, typ, i, self, err := cellAttrs(b, i)
	if err != nil {
		return 0, -1, err
	}
	col = prev + 1
	if len(ref) > 0 {
		if col, err = xlsxColumn(ref); err != nil {
			return 0, -1, err
		}
	}
	if col >= xlsxMaxCols {
		return 0, col, kindf(ErrBadCellRef, "column %d beyond XFD", col+1)
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
				return 0, col, errXMLShort
			}
			ct, nx, err := readXMLTag(b, i+j)
			if err != nil {
				return 0, col, err
			}
			i = nx
			if ct.kind == tagClose {
				if string(ct.name) != "c" {
					return 0, col, kindf(ErrMalformedXML, "unexpected </%s>", ct.name)
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
				return 0, col, err
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
			return 0, col, kindf(ErrSharedString, "shared string %q not in the table of %d", s.arena[vs:ve], s.sst.len())
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
		s.arena = s.arena[:start+len(xlsxText(s.arena[start:]))]
	case "str":
		s.arena = s.span(start, vs, ve)
		s.arena = s.arena[:start+len(xlsxText(s.arena[start:]))]
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
	}
	s.put(col, c)
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
			return nil, nil, nil, 0, false, kindf(ErrMalformedXML, "malformed <c> tag")
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
		return 0, kindf(ErrBadCellRef, "bad cell reference %q", ref)
	}
	return col - 1, nil
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
