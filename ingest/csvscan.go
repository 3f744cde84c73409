package ingest

import (
	"bytes"
	"io"
	"strings"
	"unsafe"
)

// csvScanBuf is the scanner's initial buffer size. A record must fit in the
// buffer; the buffer doubles for one that does not.
const csvScanBuf = 256 << 10

// csvScanner splits delimited text into records exactly as encoding/csv does
// with LazyQuotes set, FieldsPerRecord -1, no Comment and no
// TrimLeadingSpace, for a delimiter that is one ASCII byte other than a
// quote, CR or LF (TestCSVScannerMatchesEncodingCSV and FuzzCSVScanner hold
// it to that):
//
//   - Lines end in LF; a CR right before the LF, or at the very end of the
//     input, is dropped, so a quoted field that spans lines holds LF where
//     the file has CRLF. A CR anywhere else is data.
//   - Lines that are empty (after dropping that CR) between records are
//     skipped, but count for line numbers.
//   - A field that starts with a quote is quoted: "" is a quote, the field
//     ends at a quote followed by the delimiter or the end of the line, any
//     other quote is kept as data, and a quote not closed on its line
//     carries the field (and the record) over into the next line, up to the
//     end of the input at most. A quote inside an unquoted field is data.
//
// Two things go beyond encoding/csv: a line break in a cell is always LF
// (every CRLF or lone CR left in a cell becomes LF, as in the XLSX reader:
// the writer, not the department, chose the bytes of an Alt+Enter), and
// open tells that the input ended inside a quoted field of the record.
//
// Unlike encoding/csv it does not allocate per record: the cells are strings
// over the scanner's read buffer (or, for quoted fields with "" or line
// breaks, over a scratch arena), and are valid only until the next call to
// read.
type csvScanner struct {
	r     io.Reader
	comma byte
	buf   []byte
	// buf[pos:end] is read but not yet consumed.
	pos, end int
	eof      bool  // r is exhausted
	rerr     error // a read error other than io.EOF, reported after buf drains
	// lines is the number of LF bytes consumed: the record at buf[pos]
	// starts on line lines+1.
	lines int64
	cells []string
	arena []byte

	// Set by read for the record it returns.
	line      int64 // 1-based line where the record starts (encoding/csv FieldPos)
	multiline bool  // some cell contains a line break (LF)
	// open: the input ended inside a quoted field of the record, the last
	// one: the file was cut, or a quote never closed.
	open bool
}

func newCSVScanner(r io.Reader, comma byte, bufSize int) *csvScanner {
	return &csvScanner{r: r, comma: comma, buf: make([]byte, bufSize)}
}

// read returns the cells of the next record, or io.EOF after the last. The
// cells are valid until the next call to read.
func (s *csvScanner) read() ([]string, error) {
	for {
		done, eof := s.scan()
		if done {
			return s.cells, nil
		}
		if eof {
			if s.rerr != nil {
				return nil, s.rerr
			}
			return nil, io.EOF
		}
		s.fill()
	}
}

// fill reads more input after the unconsumed bytes, moving them to the
// front of the buffer first, or growing it when they fill it.
func (s *csvScanner) fill() {
	if s.pos > 0 {
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos = 0
	}
	if s.end == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for i := 0; i < 100; i++ {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			if err != io.EOF {
				s.rerr = err
			}
			s.eof = true
			return
		}
		if n > 0 {
			return
		}
	}
	s.rerr = io.ErrNoProgress
	s.eof = true
}

// scan parses the record at buf[pos:end]. It reports done when it has set
// cells, line and multiline and consumed the record, eof when the input
// holds no further record, and neither when it needs more input: then it
// has consumed only blank lines, and scans the record from its start again
// after fill.
func (s *csvScanner) scan() (done, eof bool) {
	data := s.buf[s.pos:s.end]
	atEOF := s.eof
	// Skip blank lines.
	i, nl := 0, int64(0)
	for {
		if i == len(data) {
			s.pos += i
			s.lines += nl
			return false, atEOF
		}
		c := data[i]
		if c == '\n' {
			i++
			nl++
			continue
		}
		if c == '\r' {
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					i += 2
					nl++
					continue
				}
				break
			}
			if atEOF {
				i++ // a CR at the end of the input is dropped
				continue
			}
			s.pos += i
			s.lines += nl
			return false, false
		}
		break
	}
	s.pos += i
	s.lines += nl
	data = data[i:]

	s.cells = s.cells[:0]
	s.arena = s.arena[:0]
	multiline, cr := false, false
	nl = 0
	// The current line is data[ls:next]; its content, without the line
	// end, is data[ls:ce].
	ce, next, hasNL, ok := lineEnd(data, 0, atEOF)
	if !ok {
		return false, false
	}
	if bytes.IndexByte(data[:ce], '\r') >= 0 {
		cr = true
	}
	open := false
	comma := s.comma
	p := 0
field:
	for {
		if p == ce || data[p] != '"' {
			k := bytes.IndexByte(data[p:ce], comma)
			if k >= 0 {
				s.cells = append(s.cells, bstr(data[p:p+k]))
				p += k + 1
				continue
			}
			s.cells = append(s.cells, bstr(data[p:ce]))
			break
		}
		// A quoted field: data[start:p] is the part not yet copied to the
		// arena, which is used only once the field is not one run of bytes.
		p++
		start := p
		a0, copied := len(s.arena), false
		for {
			k := bytes.IndexByte(data[p:ce], '"')
			if k >= 0 {
				q := p + k
				p = q + 1
				switch {
				case p < ce && data[p] == '"': // "" is a quote
					s.arena = append(s.arena, data[start:p]...)
					copied = true
					p++
					start = p
				case p < ce && data[p] == comma:
					s.cells = append(s.cells, s.quoted(data[start:q], a0, copied))
					p++
					continue field
				case p == ce:
					s.cells = append(s.cells, s.quoted(data[start:q], a0, copied))
					break field
				default:
					// A bare quote is data (LazyQuotes).
				}
				continue
			}
			if !hasNL {
				// The end of the input ends an open quote.
				s.cells = append(s.cells, s.quoted(data[start:ce], a0, copied))
				open = true
				break field
			}
			// The quote is open at the end of the line: the field goes on
			// in the next one.
			s.arena = append(s.arena, data[start:ce]...)
			s.arena = append(s.arena, '\n')
			copied = true
			multiline = true
			nl++
			ls := next
			ce, next, hasNL, ok = lineEnd(data, ls, atEOF)
			if !ok {
				return false, false
			}
			if bytes.IndexByte(data[ls:ce], '\r') >= 0 {
				cr = true
			}
			p, start = ls, ls
		}
	}
	if hasNL {
		nl++
	}
	if cr {
		s.breaksToLF()
		multiline = true
	}
	s.line = s.lines + 1
	s.multiline = multiline
	s.open = open
	s.pos += next
	s.lines += nl
	return true, false
}

// breaksToLF rewrites, in place, every CRLF or lone CR in the record's
// cells as LF. The cells are views of bytes the scanner owns (the record's
// own bytes in buf, consumed with it, or the arena), and the result is
// never longer.
func (s *csvScanner) breaksToLF() {
	for i, v := range s.cells {
		if strings.IndexByte(v, '\r') >= 0 {
			b := unsafe.Slice(unsafe.StringData(v), len(v))
			s.cells[i] = bstr(breaksToLF(b))
		}
	}
}

// quoted returns a quoted field whose tail is rest: rest itself when no part
// of the field was copied to the arena since a0, else the arena's copy.
func (s *csvScanner) quoted(rest []byte, a0 int, copied bool) string {
	if !copied {
		return bstr(rest)
	}
	s.arena = append(s.arena, rest...)
	return bstr(s.arena[a0:])
}

// lineEnd finds the line starting at data[ls]: ce ends its content, next
// starts the line after it, hasNL tells whether it ends in LF (else it ends
// the input). ok is false when the line's end is not read yet.
func lineEnd(data []byte, ls int, atEOF bool) (ce, next int, hasNL, ok bool) {
	j := bytes.IndexByte(data[ls:], '\n')
	if j < 0 {
		if !atEOF {
			return 0, 0, false, false
		}
		ce, next = len(data), len(data)
	} else {
		ce, next, hasNL = ls+j, ls+j+1, true
	}
	if ce > ls && data[ce-1] == '\r' {
		ce--
	}
	return ce, next, hasNL, true
}

// bstr returns b as a string sharing its bytes: valid as long as they are
// not overwritten.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
