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
	"strings"
)

// xlsxOpenError explains the common ways a file is not a zip package, by
// its first bytes. Errors other than zip.ErrFormat (the file cannot be
// opened) are I/O errors, not XLSXErrors.
func xlsxOpenError(path string, err error) error {
	if !errors.Is(err, zip.ErrFormat) {
		return fmt.Errorf("%s: %w", path, err)
	}
	var magic []byte
	if f, ferr := os.Open(path); ferr == nil {
		b := make([]byte, 8)
		n, _ := io.ReadFull(f, b)
		f.Close()
		magic = b[:n]
	}
	switch {
	case bytes.Equal(magic, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		err = kindf(ErrNotXLSX, "not an XLSX package but an OLE file: a password-protected workbook or a legacy .xls; save it as .xlsx without a password: %w", err)
	case bytes.HasPrefix(magic, []byte("PK\x03\x04")):
		// A zip's directory is at its end: a copy cut short starts like a
		// zip and has none.
		err = kindf(ErrDamagedZip, "a damaged zip package, perhaps cut short in copying: %w", err)
	default:
		err = kindf(ErrNotXLSX, "not an XLSX (zip) package: %w", err)
	}
	return &XLSXError{Path: path, Err: err}
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

// errorIn returns err as an XLSXError in the part name of the package.
func (p *xlsxPackage) errorIn(name string, err error) *XLSXError {
	return xlsxErrorAt(p.path, "", name, err)
}

// decode reads the small part name with encoding/xml.
func (p *xlsxPackage) decode(name string, v any) error {
	f := p.part(name)
	if f == nil {
		return p.errorIn(name, errPartMissing)
	}
	rc, err := f.Open()
	if err != nil {
		return p.errorIn(name, damaged(err))
	}
	defer rc.Close()
	if err := xml.NewDecoder(rc).Decode(v); err != nil {
		return p.errorIn(name, checkPart(rc, &kindError{kind: ErrMalformedXML, err: err}))
	}
	return nil
}

// errPartMissing is the text of ErrMissingPart when the part is named.
var errPartMissing = kindf(ErrMissingPart, "the part is missing")

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
			return xlsxBook{}, p.errorIn("", kindf(ErrNoSheet, "the workbook has no worksheet"))
		}
	} else {
		names := make([]string, len(wb.Sheets))
		for i, s := range wb.Sheets {
			names[i] = s.Name
		}
		var err error
		if pick, err = sheetNamed(names, sheet); err != nil {
			return xlsxBook{}, p.errorIn("", err)
		}
	}
	book.sheet = wb.Sheets[pick].Name
	ri, ok := byID[wb.Sheets[pick].RID]
	if !ok {
		return xlsxBook{}, p.errorIn(relsPath, kindf(ErrMissingPart, "no relationship %q for sheet %q", wb.Sheets[pick].RID, book.sheet))
	}
	rel := rels.Rels[ri]
	book.sheetPath = xlsxTarget(wbPath, rel.Target)
	if !xlsxRelType(rel.Type, "worksheet") {
		return xlsxBook{}, xlsxErrorAt(p.path, book.sheet, book.sheetPath, kindf(ErrNoSheet, "not a worksheet (%s)", path.Base(rel.Type)))
	}
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
		return nil, p.errorIn(name, damaged(err))
	}
	defer rc.Close()
	sst, err := readSharedStrings(rc, xlsxWindow)
	if err != nil {
		return nil, p.errorIn(name, err)
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
				err = kindf(ErrTruncatedXML, "unexpected end of the shared strings XML")
			}
		}
		if err != nil {
			return nil, &XLSXError{Item: len(p.off), Err: checkPart(r, err)}
		}
	}
	// Read to the end so that archive/zip verifies the checksum.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, &XLSXError{Err: damaged(err)}
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
				err = p.add(xlsxText(p.arena))
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
		return kindf(ErrUnsupported, "shared strings larger than 4 GiB")
	}
	p.text.Write(s)
	p.off = append(p.off, uint32(p.text.Len()))
	return nil
}
