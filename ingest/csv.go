package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/idfusion/idfusion/schemas"
)

// sniffBytes is how much of a CSV file auto-detection looks at.
const sniffBytes = 256 << 10

// csvSource reads a delimited text export. With a comma, tab or semicolon
// delimiter it parses the raw bytes and decodes field by field: in GBK and
// GB18030 every byte of a multi-byte character is ≥ 0x30, so never such a
// delimiter, a quote or a line break, and ASCII fields need no decoding at
// all. Delimiters from 0x40 up are decoded with the stream, and so is
// UTF-16 (csvutf16.go).
//
// The records are split by csvScanner, which reads them the way encoding/csv
// does with LazyQuotes (legacy exporters leave bare quotes in names and
// addresses) without allocating per record: the cells next returns are
// valid until the next call to next.
type csvSource struct {
	path   string
	f      *os.File
	count  *countingReader
	size   int64
	sc     *csvScanner
	enc    schemas.Encoding
	dec    *encoding.Decoder // nil for UTF-8
	hdrRow int
	// width is the header's number of columns.
	width int
	cells []string
	// decoded holds the cells decode converted, until the next call to next.
	decoded []byte
}

func newCSVSource(path string, m *schemas.Mapping) (*csvSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	delim := m.Delimiter[0]
	if delim == '"' || delim == '\r' || delim == '\n' || delim >= utf8.RuneSelf {
		f.Close()
		return nil, fmt.Errorf("%s: invalid delimiter %q", path, m.Delimiter)
	}
	s := &csvSource{path: path, f: f, size: st.Size(), hdrRow: m.HeaderRow}
	s.count = &countingReader{r: f}
	br := bufio.NewReaderSize(s.count, 1<<20)
	sample, _ := br.Peek(sniffBytes)
	if isUTF16Text(sample, m.Encoding) {
		in, delim, err := s.utf16Input(br, sample, m)
		if err != nil {
			f.Close()
			return nil, err
		}
		s.sc = newCSVScanner(in, delim, csvScanBuf)
		return s, nil
	}
	bom := bytes.HasPrefix(sample, []byte{0xEF, 0xBB, 0xBF})
	if bom {
		br.Discard(3)
	}
	s.enc = m.Encoding
	if s.enc == schemas.EncodingAuto || s.enc == "" {
		s.enc = detectEncoding(sample, bom, len(sample) < sniffBytes)
	}
	switch s.enc {
	case schemas.EncodingGBK:
		s.dec = simplifiedchinese.GBK.NewDecoder()
	case schemas.EncodingGB18030:
		s.dec = simplifiedchinese.GB18030.NewDecoder()
	}
	var in io.Reader = br
	if s.dec != nil && delim >= 0x40 {
		// GBK trail bytes run 0x40-0xFE: a delimiter such as "|" can be
		// half of a character (瑋 is AC 7C). Decode the whole stream first;
		// bytes that do not decode still become U+FFFD and reject the row.
		in = transform.NewReader(br, s.dec)
		s.dec = nil
	}
	// Any field count goes: the Reader flags wrong counts as row defects.
	s.sc = newCSVScanner(in, delim, csvScanBuf)
	return s, nil
}

// detectEncoding picks UTF-8 when the sample is valid UTF-8 (a BOM settles
// it), else GB18030, the superset of GBK that Chinese legacy systems write.
func detectEncoding(sample []byte, bom, whole bool) schemas.Encoding {
	if bom {
		return schemas.EncodingUTF8
	}
	if !whole {
		// Do not judge a character cut by the end of the sample.
		for i := 0; i < utf8.UTFMax && len(sample) > 0; i++ {
			if r, _ := utf8.DecodeLastRune(sample); r != utf8.RuneError {
				break
			}
			sample = sample[:len(sample)-1]
		}
	}
	if utf8.Valid(sample) {
		return schemas.EncodingUTF8
	}
	return schemas.EncodingGB18030
}

func (s *csvSource) header() ([]string, error) {
	for {
		rec, err := s.sc.read()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: no header row (row %d)", s.path, s.hdrRow)
		}
		if err != nil {
			return nil, s.posErr(err)
		}
		if s.sc.line < int64(s.hdrRow) {
			continue
		}
		hdr := make([]string, len(rec))
		for i, v := range rec {
			hdr[i] = strings.Clone(s.decode(v)) // v is valid only until the next read
		}
		for len(hdr) > 0 && hdr[len(hdr)-1] == "" {
			hdr = hdr[:len(hdr)-1]
		}
		s.width = len(hdr)
		return hdr, nil
	}
}

func (s *csvSource) next() (rawRow, error) {
	for {
		rec, err := s.sc.read()
		if err != nil {
			if err == io.EOF {
				return rawRow{}, io.EOF
			}
			return rawRow{}, s.posErr(err)
		}
		empty := true
		for _, v := range rec {
			if v != "" {
				empty = false
				break
			}
		}
		if empty {
			continue
		}
		var defect schemas.Code
		switch {
		case s.sc.multiline && s.swallowsRecords(rec):
			defect = schemas.RowMultiline
		case s.sc.open:
			defect = schemas.RowTruncated
		}
		if s.dec != nil {
			s.cells, s.decoded = s.cells[:0], s.decoded[:0]
			for _, v := range rec {
				s.cells = append(s.cells, s.decode(v))
			}
			rec = s.cells
		}
		return rawRow{num: s.sc.line, cells: rec, defect: defect}, nil
	}
}

// swallowsRecords tells a stray quote from an Alt+Enter line break: a quoted
// cell that runs over the ends of lines into whole records holds, besides a
// line break, a record's worth of delimiters (width-1 per swallowed line
// end). It counts all of them, not only those after the break: a stray
// quote closed by a quoted field of the next record in the same column
// leaves the record's field count right, with the delimiters of the
// swallowed record split around the line break. (In a one-column file
// nothing tells them apart: every line break counts as a swallow.)
func (s *csvSource) swallowsRecords(rec []string) bool {
	for _, v := range rec {
		if strings.IndexByte(v, '\n') >= 0 && strings.Count(v, string(s.sc.comma)) >= s.width-1 {
			return true
		}
	}
	return false
}

// decode returns v in UTF-8: v itself when it is ASCII or the file UTF-8,
// else a string over s.decoded, valid until the next call to next.
func (s *csvSource) decode(v string) string {
	if s.dec == nil {
		return v
	}
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			return s.decodeText(v)
		}
	}
	return v
}

// decodeText decodes v as dec.String(v) does, into s.decoded instead of a
// new string.
func (s *csvSource) decodeText(v string) string {
	src := unsafe.Slice(unsafe.StringData(v), len(v)) // only read
	a0 := len(s.decoded)
	s.dec.Reset()
	// A byte decodes to at most 3 (U+FFFD for a bad one).
	room := 3*len(src) + utf8.UTFMax
	for {
		s.decoded = slices.Grow(s.decoded, room)
		nDst, nSrc, err := s.dec.Transform(s.decoded[len(s.decoded):cap(s.decoded)], src, true)
		s.decoded = s.decoded[:len(s.decoded)+nDst]
		src = src[nSrc:]
		if err == nil {
			break
		}
		if nDst == 0 && nSrc == 0 {
			room *= 2
		}
		if err != transform.ErrShortDst {
			// x/text's Chinese decoders do not fail on bad bytes (they
			// substitute U+FFFD); mark the value so the row is rejected.
			return "\uFFFD"
		}
	}
	return bstr(s.decoded[a0:])
}

// posErr wraps a read error with the file and the line the scanner was
// at; the scanner itself reports no errors of its own.
func (s *csvSource) posErr(err error) error {
	return fmt.Errorf("%s: line %d: %w", s.path, s.sc.lines+1, err)
}

func (s *csvSource) progress() (int64, int64) { return s.count.n.Load(), s.size }

func (s *csvSource) close() error { return s.f.Close() }

// countingReader counts bytes read, for progress from another goroutine.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
