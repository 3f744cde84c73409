package ingest

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// Sentinels for legacy .xls files. A .xls problem is an *XLSXError like an
// XLSX one (Part is empty), and wraps one of these or ErrNoSheet,
// ErrNoHeader, ErrSharedString, ErrBadRowNumber, ErrBadCellRef or
// ErrUnsupported (an Excel 5.0/95 or older workbook).
var (
	// ErrNotXLS: the file is no OLE compound file holding an Excel 97-2003
	// workbook: an .xlsx, a CSV or an HTML table named .xls, or another
	// Office document.
	ErrNotXLS = errors.New("not an Excel 97-2003 (.xls) workbook")
	// ErrDamagedXLS: the compound file or the workbook stream is damaged:
	// cut short, a sector chain or a record that leads nowhere.
	ErrDamagedXLS = errors.New("damaged .xls workbook")
	// ErrXLSEncrypted: the workbook is password-protected.
	ErrXLSEncrypted = errors.New("password-protected .xls workbook")
)

// xlsNotOLE explains a file that is no compound file by its first bytes.
func xlsNotOLE(path string) error {
	var magic []byte
	if f, err := os.Open(path); err == nil {
		b := make([]byte, 512)
		n, _ := io.ReadFull(f, b)
		f.Close()
		magic = bytes.TrimLeft(b[:n], " \t\r\n\xef\xbb\xbf")
	}
	switch {
	case bytes.HasPrefix(magic, []byte("PK\x03\x04")):
		return kindf(ErrNotXLS, "not a legacy .xls but a zip package (an .xlsx workbook named .xls?); set format: xlsx or rename it")
	case bytes.HasPrefix(magic, []byte("<")):
		return kindf(ErrNotXLS, "not a legacy .xls but HTML or XML text (some systems export a web table as .xls); save it as .xlsx")
	}
	return kindf(ErrNotXLS, "not an Excel 97-2003 workbook (no OLE compound file signature)")
}
