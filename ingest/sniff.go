package ingest

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/idfusion/idfusion/schemas"
)

// headBytes is how much of a file's start chooseFormat looks at.
const headBytes = 4096

// content is what a file's first bytes show it to be.
type content struct {
	// format is the reader the file needs; "" when ingest reads no such
	// file.
	format schemas.Format
	// what names it in a message: "an XLSX workbook (ZIP)".
	what string
}

// magics are the signatures files start with, in the order they are
// tried. The ones without a format are files departments send by mistake,
// named so that the refusal says what was sent.
var magics = []struct {
	prefix string
	content
}{
	{"PK\x03\x04", content{schemas.FormatXLSX, "an XLSX workbook (ZIP)"}},
	{"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", content{schemas.FormatXLS, "a legacy Excel workbook (OLE compound file)"}},
	{"PAR1", content{schemas.FormatParquet, "a Parquet file"}},
	{"ARROW1", content{schemas.FormatArrow, "an Arrow IPC file"}},
	{"\xEF\xBB\xBF", content{schemas.FormatCSV, "UTF-8 text"}},
	{"\xFF\xFE", content{schemas.FormatCSV, "UTF-16LE text"}},
	{"\xFE\xFF", content{schemas.FormatCSV, "UTF-16BE text"}},
	{"%PDF-", content{"", "a PDF document"}},
	{"\x1F\x8B", content{"", "a gzip archive"}},
	{"Rar!\x1A\x07", content{"", "a RAR archive"}},
	{"7z\xBC\xAF\x27\x1C", content{"", "a 7z archive"}},
	{"\xFF\xFF\xFF\xFF", content{"", "an Arrow IPC stream (ingest reads the Arrow IPC file format)"}},
}

// sniffContent tells what head, the start of a file, is. Text without a
// byte order mark is CSV; a mapping that declares UTF-16 lets text without
// one through, whose ASCII characters are half zero bytes.
func sniffContent(head []byte, declared schemas.Encoding) content {
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			if m.format == schemas.FormatXLSX && isOpenDocument(head) {
				return content{"", "an OpenDocument file (ZIP; save spreadsheets as XLSX)"}
			}
			return m.content
		}
	}
	if declared.IsUTF16() {
		return content{schemas.FormatCSV, "UTF-16 text"}
	}
	if isMarkup(head) {
		// Web pages and Excel 2003 XML that systems save under spreadsheet
		// names.
		return content{"", "an HTML or XML document"}
	}
	if utf16WithoutBOM(head) {
		return content{"", "UTF-16 text without a byte order mark (set encoding: utf-16le or utf-16be in the mapping)"}
	}
	if !isText(head) {
		return content{"", fmt.Sprintf("binary data of an unknown kind (it starts % X)", head[:min(len(head), 8)])}
	}
	return content{schemas.FormatCSV, "text"}
}

// isOpenDocument reports whether a ZIP's first entry is the "mimetype"
// that OpenDocument files (ODS, ODT) put first; OOXML has none.
func isOpenDocument(zip []byte) bool {
	const name = 30 // offset of the file name in a ZIP local file header
	return len(zip) >= name+8 && string(zip[name:name+8]) == "mimetype"
}

// isMarkup reports whether b starts, after white space, like HTML or XML:
// "<!DOCTYPE", "<?xml", "<html". A header cell such as "<姓名>" does not.
func isMarkup(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) < 2 || b[0] != '<' {
		return false
	}
	c := b[1] | 0x20 // ASCII lower case
	return b[1] == '!' || b[1] == '?' || ('a' <= c && c <= 'z')
}

// isText reports whether b reads as text in UTF-8, GBK or GB18030: control
// bytes other than tabs and line breaks are rare in exports (a stray one
// in a field is the row's problem), common in anything binary.
func isText(b []byte) bool {
	controls := 0
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			controls++
		}
	}
	return controls <= 1 || controls*32 <= len(b)
}

// utf16WithoutBOM reports whether b looks like UTF-16 text without a byte
// order mark: in digits, delimiters and line breaks one byte of every two
// is zero, always the same one.
func utf16WithoutBOM(b []byte) bool {
	var zeros [2]int
	for i, c := range b {
		if c == 0 {
			zeros[i&1]++
		}
	}
	pairs := len(b) / 2
	return pairs >= 4 && (zeros[0] == 0 || zeros[1] == 0) && max(zeros[0], zeros[1])*4 >= pairs
}

// ErrFormat is wrapped by a FormatError.
var ErrFormat = errors.New("the content is not a format ingest reads, or not the one expected")

// Who said what format a file should be.
const (
	SaidByOption  = "the format option"
	SaidByMapping = "the mapping"
	SaidByName    = "the name"
)

// FormatError refuses a file by its content: ingest reads no such file, or
// the content is not the format the caller, the mapping or the name says.
type FormatError struct {
	Path string
	// Content is the format the content shows, "" when ingest reads no
	// such file; What names the content ("an XLSX workbook (ZIP)").
	Content schemas.Format
	What    string
	// Said is the format the content contradicts and By who said it
	// (SaidByOption, SaidByMapping, SaidByName); "" when Content is "".
	Said    schemas.Format
	By      string
	Mapping string // the mapping file
}

func (e *FormatError) Error() string {
	switch {
	case e.Content == "":
		return fmt.Sprintf("%s: cannot read this file: the content is %s; ingest reads CSV or tab-separated text, XLSX, XLS, Parquet and Arrow IPC files", e.Path, e.What)
	case e.By == SaidByName:
		return fmt.Sprintf("%s: the name says %s but the content is %s; if it is delimited text, set format: csv in the mapping %s", e.Path, e.Said, e.What, e.Mapping)
	case e.By == SaidByMapping:
		return fmt.Sprintf("%s: the mapping %s says %s but the content is %s; fix format in the mapping or send a %s file", e.Path, e.Mapping, e.Said, e.What, e.Said)
	}
	return fmt.Sprintf("%s: %s says %s but the content is %s", e.Path, e.By, e.Said, e.What)
}

func (e *FormatError) Unwrap() error { return ErrFormat }

// chooseFormat decides how to read path by its first bytes, head: the
// content decides, and what the caller's option or the mapping says must
// agree with it. The file name only refuses text under a binary format's
// extension (a web page saved as .xls), since a workbook under a .csv name
// is still read right by its content.
func chooseFormat(path string, head []byte, m *schemas.Mapping, opts Options) (schemas.Format, error) {
	c := sniffContent(head, m.Encoding)
	e := FormatError{Path: path, Content: c.format, What: c.what, Mapping: m.Path}
	if c.format == "" {
		return "", &e
	}
	switch ext := schemas.FormatFromPath(path); {
	case opts.Format != "":
		e.Said, e.By = opts.Format, SaidByOption
	case m.Format != "":
		e.Said, e.By = m.Format, SaidByMapping
	case c.format == schemas.FormatCSV && ext != "":
		e.Said, e.By = ext, SaidByName
	}
	if e.Said != "" && e.Said != c.format {
		return "", &e
	}
	return c.format, nil
}
