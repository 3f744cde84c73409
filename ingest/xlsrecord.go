package ingest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// BIFF8 record types the .xls reader uses ([MS-XLS] 2.3).
const (
	biffFormula    = 0x0006
	biffEOF        = 0x000A
	biffFilePass   = 0x002F
	biffDateMode   = 0x0022
	biffContinue   = 0x003C
	biffBoundSheet = 0x0085
	biffMulRK      = 0x00BD
	biffMulBlank   = 0x00BE
	biffRString    = 0x00D6
	biffXF         = 0x00E0
	biffSST        = 0x00FC
	biffLabelSST   = 0x00FD
	biffBlank      = 0x0201
	biffNumber     = 0x0203
	biffLabel      = 0x0204
	biffBoolErr    = 0x0205
	biffString     = 0x0207
	biffRK         = 0x027E
	biffFormat     = 0x041E
	biffBOF        = 0x0809
)

// biffReader reads the records of a BIFF8 stream one at a time into a
// reused buffer.
type biffReader struct {
	r   *bufio.Reader
	rs  io.ReadSeeker // the stream, for seeking back to a sheet
	off int64         // stream offset of the next record
	at  int64         // stream offset of the current record
	typ uint16
	buf []byte // the current record's data
	// held makes next return the current record again (unread).
	held bool
	hdr  [4]byte // a field, not a local: a local escapes to the heap
}

func newBIFFReader(rs io.ReadSeeker) *biffReader {
	return &biffReader{r: bufio.NewReaderSize(rs, 64<<10), rs: rs, buf: make([]byte, 0, 8224)}
}

// errRecordCut is the text of ErrDamagedXLS for a stream that ends inside
// a record: a file cut short.
var errRecordCut = errors.New("the stream ends inside a record")

// next reads the next record, or returns io.EOF at the end of the stream.
func (b *biffReader) next() error {
	if b.held {
		b.held = false
		return nil
	}
	h := b.hdr[:]
	if n, err := io.ReadFull(b.r, h); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		if n > 0 && err == io.ErrUnexpectedEOF {
			err = errRecordCut
		}
		return b.damaged(err)
	}
	b.at = b.off
	b.typ = binary.LittleEndian.Uint16(h)
	n := int(binary.LittleEndian.Uint16(h[2:]))
	if n > cap(b.buf) {
		b.buf = make([]byte, n)
	}
	b.buf = b.buf[:n]
	if _, err := io.ReadFull(b.r, b.buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = errRecordCut
		}
		return b.damaged(err)
	}
	b.off += 4 + int64(n)
	return nil
}

// unread makes the next call to next return the current record again.
func (b *biffReader) unread() { b.held = true }

// seek moves to the record at stream offset off.
func (b *biffReader) seek(off int64) error {
	b.held = false
	if off >= b.off {
		if _, err := b.r.Discard(int(off - b.off)); err != nil {
			if err == io.EOF {
				return b.damaged(fmt.Errorf("offset %d is beyond the stream", off))
			}
			return b.damaged(err)
		}
	} else {
		if _, err := b.rs.Seek(off, io.SeekStart); err != nil {
			return b.damaged(err)
		}
		b.r.Reset(b.rs)
	}
	b.off = off
	return nil
}

func (b *biffReader) damaged(err error) error {
	return kindf(ErrDamagedXLS, "damaged workbook stream at byte %d: %w", b.off, err)
}

// biffCursor reads the data of a record and of the CONTINUE records that
// carry on where a record of 8224 bytes ends (the shared strings, long
// strings). Character data split across records starts again in each
// CONTINUE with a flags byte that says its width.
type biffCursor struct {
	br *biffReader
	p  []byte // what is left of the current record
}

// errShort is returned when a record's data ends before its fields do and
// no CONTINUE follows.
var errShort = errors.New("record shorter than its fields")

// more moves to the next record when it is a CONTINUE; otherwise the
// read fails with errShort (and the file with it).
func (c *biffCursor) more() error {
	if c.br == nil {
		return errShort
	}
	if err := c.br.next(); err != nil {
		if err == io.EOF {
			return errShort
		}
		return err
	}
	if c.br.typ != biffContinue {
		return errShort
	}
	c.p = c.br.buf
	return nil
}

func (c *biffCursor) byte() (byte, error) {
	for len(c.p) == 0 {
		if err := c.more(); err != nil {
			return 0, err
		}
	}
	v := c.p[0]
	c.p = c.p[1:]
	return v, nil
}

func (c *biffCursor) u16() (uint16, error) {
	if len(c.p) >= 2 {
		v := binary.LittleEndian.Uint16(c.p)
		c.p = c.p[2:]
		return v, nil
	}
	lo, err := c.byte()
	if err != nil {
		return 0, err
	}
	hi, err := c.byte()
	return uint16(lo) | uint16(hi)<<8, err
}

func (c *biffCursor) u32() (uint32, error) {
	lo, err := c.u16()
	if err != nil {
		return 0, err
	}
	hi, err := c.u16()
	return uint32(lo) | uint32(hi)<<16, err
}

// skip skips n bytes: formatting runs and phonetic data, which carry on
// across CONTINUE records without a flags byte.
func (c *biffCursor) skip(n int64) error {
	for n > 0 {
		if len(c.p) == 0 {
			if err := c.more(); err != nil {
				return err
			}
			continue
		}
		k := min(n, int64(len(c.p)))
		c.p = c.p[k:]
		n -= k
	}
	return nil
}

// appendChars appends cch characters as UTF-8, compressed (one byte each,
// Latin-1) or UTF-16LE as wide says. Unpaired surrogates become U+FFFD,
// which the Reader flags as undecodable rather than storing.
func (c *biffCursor) appendChars(dst []byte, cch int, wide bool) ([]byte, error) {
	var hi rune // a high surrogate waiting for its pair
	for cch > 0 {
		if len(c.p) == 0 {
			if err := c.more(); err != nil {
				return dst, err
			}
			if len(c.p) == 0 {
				continue
			}
			wide = c.p[0]&1 != 0 // the flags byte of a continued string
			c.p = c.p[1:]
			continue
		}
		if !wide {
			n := min(cch, len(c.p))
			if hi != 0 {
				dst, hi = utf8.AppendRune(dst, utf8.RuneError), 0
			}
			for _, b := range c.p[:n] {
				if b < utf8.RuneSelf {
					dst = append(dst, b)
				} else {
					dst = utf8.AppendRune(dst, rune(b))
				}
			}
			c.p, cch = c.p[n:], cch-n
			continue
		}
		n := min(cch, len(c.p)/2)
		if n == 0 {
			return dst, errors.New("a UTF-16 character split between records")
		}
		for i := 0; i < n; i++ {
			r := rune(binary.LittleEndian.Uint16(c.p[2*i:]))
			switch {
			case hi != 0 && utf16.IsSurrogate(r) && r >= 0xDC00:
				dst, hi = utf8.AppendRune(dst, utf16.DecodeRune(hi, r)), 0
				continue
			case hi != 0:
				dst, hi = utf8.AppendRune(dst, utf8.RuneError), 0
			}
			switch {
			case r < utf8.RuneSelf:
				dst = append(dst, byte(r))
			case r >= 0xD800 && r < 0xDC00:
				hi = r
			default:
				dst = utf8.AppendRune(dst, r) // a lone low surrogate is RuneError
			}
		}
		c.p, cch = c.p[2*n:], cch-n
	}
	if hi != 0 {
		dst = utf8.AppendRune(dst, utf8.RuneError)
	}
	return dst, nil
}

// appendString appends an XLUnicodeString (16-bit count) or, with short, a
// ShortXLUnicodeString (8-bit count): the strings of LABEL, STRING, FORMAT
// and BOUNDSHEET records. Rich text runs (RSTRING) follow the characters
// and are not read.
func (c *biffCursor) appendString(dst []byte, short bool) ([]byte, error) {
	var cch int
	if short {
		n, err := c.byte()
		if err != nil {
			return dst, err
		}
		cch = int(n)
	} else {
		n, err := c.u16()
		if err != nil {
			return dst, err
		}
		cch = int(n)
	}
	flags, err := c.byte()
	if err != nil {
		return dst, err
	}
	return c.appendChars(dst, cch, flags&1 != 0)
}

// appendRichString appends an XLUnicodeRichExtendedString, the form of
// the shared strings: its formatting runs and phonetic (East Asian
// reading) data are skipped.
func (c *biffCursor) appendRichString(dst []byte) ([]byte, error) {
	cch, err := c.u16()
	if err != nil {
		return dst, err
	}
	flags, err := c.byte()
	if err != nil {
		return dst, err
	}
	var runs uint16
	var ext uint32
	if flags&0x08 != 0 { // fRichSt
		if runs, err = c.u16(); err != nil {
			return dst, err
		}
	}
	if flags&0x04 != 0 { // fExtSt
		if ext, err = c.u32(); err != nil {
			return dst, err
		}
	}
	if dst, err = c.appendChars(dst, int(cch), flags&1 != 0); err != nil {
		return dst, err
	}
	return dst, c.skip(4*int64(runs) + int64(ext))
}
