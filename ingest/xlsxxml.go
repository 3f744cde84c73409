package ingest

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

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
// the stream has nothing more to give; a read error is the zip part's, so
// ErrDamagedZip.
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
			return kindf(ErrUnsupported, "an element is larger than %d MiB", xlsxMaxElement>>20)
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
	return damaged(err)
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
		return t, 0, kindf(ErrMalformedXML, "malformed tag %q", xmlClip(b[i:], 20))
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
			return t, 0, kindf(ErrMalformedXML, "malformed tag %q", xmlClip(b[i:], 20))
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
			return dst, 0, kindf(ErrMalformedXML, "unexpected <%s> in text", t.name)
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

// xlsxText finishes, in place, the text of a string cell whose XML has been
// decoded: _xHHHH_ escapes decoded, then every CRLF or lone CR made LF, as
// the CSV reader does (writers store an Alt+Enter as LF, "&#13;" plus LF or
// "_x000D_" plus LF).
func xlsxText(b []byte) []byte { return breaksToLF(unescapeXString(b)) }

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
