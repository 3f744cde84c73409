package ingest

import (
	"errors"
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
