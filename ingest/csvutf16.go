package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/idfusion/idfusion/schemas"
)

// Byte order marks a text file may start with.
var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// bomOf returns the encoding the byte order mark at the start of b names
// and the mark's length; "" and 0 without one.
func bomOf(b []byte) (schemas.Encoding, int) {
	switch {
	case bytes.HasPrefix(b, bomUTF8):
		return schemas.EncodingUTF8, len(bomUTF8)
	case bytes.HasPrefix(b, bomUTF16LE):
		return schemas.EncodingUTF16LE, len(bomUTF16LE)
	case bytes.HasPrefix(b, bomUTF16BE):
		return schemas.EncodingUTF16BE, len(bomUTF16BE)
	}
	return "", 0
}

// isUTF16Text reports whether a CSV source must be read as UTF-16: the
// mapping says so, or the file starts with a UTF-16 byte order mark.
func isUTF16Text(sample []byte, declared schemas.Encoding) bool {
	bom, _ := bomOf(sample)
	return declared.IsUTF16() || bom.IsUTF16()
}

// utf16Input returns br decoded from UTF-16 to UTF-8 without the byte
// order mark, and the delimiter to split it by. The byte order is the mark's;
// without one, the mapping's (utf-16 alone means little-endian, as Windows
// writes). A mapping that names another encoding or byte order than the
// mark is an error naming both. Excel's "Unicode text" is tab-separated:
// unless the mapping sets a delimiter, the header line decides between a
// tab and a comma.
func (s *csvSource) utf16Input(br *bufio.Reader, sample []byte, m *schemas.Mapping) (io.Reader, byte, error) {
	bom, _ := bomOf(sample)
	enc := bom
	switch declared := m.Encoding; {
	case bom == "": // the mapping says UTF-16
		enc = schemas.EncodingUTF16LE
		if declared == schemas.EncodingUTF16BE {
			enc = schemas.EncodingUTF16BE
		}
	case bom.IsUTF16() && (declared == "" || declared == schemas.EncodingAuto || declared == schemas.EncodingUTF16 || declared == bom):
		// The mark decides.
	default:
		return nil, 0, fmt.Errorf("%s: the mapping %s says encoding %s but the file starts with a %s byte order mark; fix encoding in the mapping", s.path, m.Path, declared, bomName(bom))
	}
	order := unicode.LittleEndian
	if enc == schemas.EncodingUTF16BE {
		order = unicode.BigEndian
	}
	s.enc = enc
	// The decoder drops the mark. Unpaired surrogates and an odd last byte
	// decode to U+FFFD, which rejects the row they are in.
	dec := unicode.UTF16(order, unicode.UseBOM)
	delim := m.Delimiter[0]
	if !m.DelimiterDeclared() {
		text, _ := dec.NewDecoder().Bytes(sample)
		delim = sniffDelimiter(string(text), m.HeaderRow)
	}
	return transform.NewReader(br, dec.NewDecoder()), delim, nil
}

func bomName(e schemas.Encoding) string {
	switch e {
	case schemas.EncodingUTF8:
		return "UTF-8"
	case schemas.EncodingUTF16LE:
		return "UTF-16LE"
	case schemas.EncodingUTF16BE:
		return "UTF-16BE"
	}
	return string(e)
}

// sniffDelimiter returns a tab when line headerRow (1-based) of text has
// more tabs than commas outside quotes, else a comma.
func sniffDelimiter(text string, headerRow int) byte {
	var line string
	for i := 1; i <= headerRow && text != ""; i++ {
		line, text, _ = strings.Cut(text, "\n")
	}
	tabs, commas, quoted := 0, 0, false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			quoted = !quoted
		case '\t':
			if !quoted {
				tabs++
			}
		case ',':
			if !quoted {
				commas++
			}
		}
	}
	if tabs > commas {
		return '\t'
	}
	return ','
}
