package ingest

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// xlsBook is what the .xls reader needs of the workbook globals, the
// first substream of the Workbook stream: the sheets, the shared strings,
// which cell formats (XF records) show dates, and the date system.
type xlsBook struct {
	sheets   []xlsSheet
	sst      *sharedStrings
	dates    []bool // by XF index: the format shows a date or time
	date1904 bool
}

// xlsSheet is a BOUNDSHEET record.
type xlsSheet struct {
	name string
	pos  int64 // stream offset of the sheet's BOF record
	kind byte  // 0 worksheet, 1 macro sheet, 2 chart, 6 VBA module
}

// readXLSBook reads the workbook globals from the start of the stream to
// their EOF record.
func readXLSBook(br *biffReader) (*xlsBook, error) {
	if err := br.next(); err != nil {
		if err == io.EOF {
			err = kindf(ErrDamagedXLS, "the workbook stream is empty")
		}
		return nil, err
	}
	if err := checkBOF(br, 0x0005); err != nil {
		return nil, err
	}
	book := &xlsBook{sst: &sharedStrings{off: []uint32{0}}}
	var xfFormats []uint16
	custom := map[uint16]bool{} // FORMAT records: number format id → shows a date
	var scratch []byte
	for {
		if err := br.next(); err != nil {
			if err == io.EOF {
				err = kindf(ErrDamagedXLS, "the workbook globals end without their EOF record: a file cut short")
			}
			return nil, err
		}
		d := br.buf
		switch br.typ {
		case biffEOF:
			book.dates = make([]bool, len(xfFormats))
			for i, f := range xfFormats {
				if date, ok := custom[f]; ok {
					book.dates[i] = date
				} else {
					book.dates[i] = isBuiltinDateFormat(int(f))
				}
			}
			return book, nil
		case biffFilePass:
			return nil, kindf(ErrXLSEncrypted, "the workbook is password-protected (encrypted)")
		case biffDateMode:
			book.date1904 = len(d) >= 2 && binary.LittleEndian.Uint16(d) == 1
		case biffXF:
			if len(d) < 4 {
				return nil, recordError(br, "XF", errShort)
			}
			xfFormats = append(xfFormats, binary.LittleEndian.Uint16(d[2:]))
		case biffFormat:
			if len(d) < 2 {
				return nil, recordError(br, "FORMAT", errShort)
			}
			id := binary.LittleEndian.Uint16(d)
			c := biffCursor{p: d[2:]}
			var err error
			if scratch, err = c.appendString(scratch[:0], false); err != nil {
				return nil, recordError(br, "FORMAT", err)
			}
			custom[id] = isDateFormat(string(scratch))
		case biffBoundSheet:
			if len(d) < 6 {
				return nil, recordError(br, "BOUNDSHEET", errShort)
			}
			c := biffCursor{p: d[6:]}
			var err error
			if scratch, err = c.appendString(scratch[:0], true); err != nil {
				return nil, recordError(br, "BOUNDSHEET", err)
			}
			book.sheets = append(book.sheets, xlsSheet{name: string(scratch), pos: int64(binary.LittleEndian.Uint32(d)), kind: d[5]})
		case biffSST:
			sst, err := readXLSSST(br)
			if err != nil {
				return nil, err
			}
			book.sst = sst
		}
	}
}

// checkBOF checks that the current record is the BOF of a BIFF8
// substream of type dt (0x0005 globals, 0x0010 worksheet).
func checkBOF(br *biffReader, dt uint16) error {
	if br.typ != biffBOF || len(br.buf) < 4 {
		switch br.typ {
		case 0x0009, 0x0209, 0x0409: // BOF of BIFF2, BIFF3, BIFF4
			return kindf(ErrUnsupported, "an Excel 2.x-4.0 workbook, older than Excel 97; save it as .xlsx")
		}
		return kindf(ErrDamagedXLS, "no BOF record at byte %d", br.at)
	}
	switch v := binary.LittleEndian.Uint16(br.buf); v {
	case 0x0600:
	case 0x0500:
		return kindf(ErrUnsupported, "an Excel 5.0/95 workbook (BIFF5), older than Excel 97; save it as .xlsx")
	default:
		return kindf(ErrUnsupported, "BIFF version %#04x, not Excel 97-2003 (BIFF8); save it as .xlsx", v)
	}
	if got := binary.LittleEndian.Uint16(br.buf[2:]); got != dt {
		return kindf(ErrDamagedXLS, "substream at byte %d is of type %#04x, not %#04x", br.at, got, dt)
	}
	return nil
}

func recordError(br *biffReader, name string, err error) error {
	return kindf(ErrDamagedXLS, "%s record at byte %d: %w", name, br.at, err)
}

// readXLSSST reads the shared string table: the SST record at br and the
// CONTINUE records after it. Strings are kept as XLSX keeps them, in one
// string with offsets.
func readXLSSST(br *biffReader) (*sharedStrings, error) {
	d := br.buf
	if len(d) < 8 {
		return nil, recordError(br, "SST", errShort)
	}
	unique := binary.LittleEndian.Uint32(d[4:])
	off := make([]uint32, 1, 1+min(int(unique), 1<<20)) // a hint, not trusted
	var text strings.Builder
	var s []byte
	c := biffCursor{br: br, p: d[8:]}
	for i := uint32(0); i < unique; i++ {
		var err error
		if s, err = c.appendRichString(s[:0]); err != nil {
			return nil, &XLSXError{Item: len(off), Err: kindf(ErrDamagedXLS, "shared string: %w", err)}
		}
		if uint64(text.Len())+uint64(len(s)) > math.MaxUint32 {
			return nil, &XLSXError{Item: len(off), Err: kindf(ErrUnsupported, "shared strings larger than 4 GiB")}
		}
		text.Write(breaksToLF(s)) // line breaks LF, as from every reader
		off = append(off, uint32(text.Len()))
	}
	return &sharedStrings{text: text.String(), off: off}, nil
}

// pickSheet returns the sheet named name ("" for the first worksheet).
func (b *xlsBook) pickSheet(name string) (xlsSheet, error) {
	pick := -1
	if name == "" {
		for i, s := range b.sheets {
			if s.kind == 0 {
				pick = i
				break
			}
		}
		if pick < 0 {
			return xlsSheet{}, kindf(ErrNoSheet, "the workbook has no worksheet")
		}
		return b.sheets[pick], nil
	}
	names := make([]string, len(b.sheets))
	for i, s := range b.sheets {
		names[i] = s.name
	}
	pick, err := sheetNamed(names, name)
	if err != nil {
		return xlsSheet{}, err
	}
	if s := b.sheets[pick]; s.kind != 0 {
		return xlsSheet{}, kindf(ErrNoSheet, "sheet %q is not a worksheet (%s)", s.name, xlsSheetKind(s.kind))
	}
	return b.sheets[pick], nil
}

func xlsSheetKind(k byte) string {
	if i := slices.Index([]byte{1, 2, 6}, k); i >= 0 {
		return []string{"a macro sheet", "a chart", "a VBA module"}[i]
	}
	return fmt.Sprintf("sheet type %d", k)
}
