package ingest

// What the XLSX and .xls readers share: the current row of a sheet, the
// header row, and finding a sheet by name.

import (
	"strconv"
	"strings"
)

// sheetRow is the current row of a worksheet as both spreadsheet readers
// (XLSX and .xls) keep it: its non-empty cells by column, their text in
// one arena or the workbook's shared strings.
type sheetRow struct {
	cells []sheetCell
	arena []byte
	sst   *sharedStrings
}

// sheetCell is one non-empty cell of the current row.
type sheetCell struct {
	kind       uint8 // cellEmpty, cellArena or cellShared
	numeric    bool
	start, end int32 // arena span, or start = shared string index
}

const (
	cellEmpty = iota
	cellArena
	cellShared
)

// put sets the cell of column col; a cell of empty text is no cell.
func (r *sheetRow) put(col int, c sheetCell) {
	if c.kind == cellArena && c.start == c.end {
		c.kind = cellEmpty
	}
	if col < len(r.cells) {
		r.cells[col] = c
	} else if c.kind != cellEmpty {
		r.cells = append(r.cells, make([]sheetCell, col+1-len(r.cells))...)
		r.cells[col] = c
	}
}

// lastCell is the column of the row's last non-empty cell, -1 for an
// empty row.
func (r *sheetRow) lastCell() int {
	n := len(r.cells) - 1
	for n >= 0 && r.cells[n].kind == cellEmpty {
		n--
	}
	return n
}

// appendRow appends the first width cells of the row to dst and, when
// numeric is not nil, sets *numeric to their number flags. The text of
// the row is one string: one allocation a row.
func (r *sheetRow) appendRow(dst []string, numeric *[]bool, width int) []string {
	text := string(r.arena)
	if numeric != nil {
		*numeric = (*numeric)[:0]
	}
	for i := range width {
		var c sheetCell
		if i < len(r.cells) {
			c = r.cells[i]
		}
		var v string
		switch c.kind {
		case cellArena:
			v = text[c.start:c.end]
		case cellShared:
			v = r.sst.at(int(c.start))
		}
		dst = append(dst, v)
		if numeric != nil {
			*numeric = append(*numeric, c.numeric)
		}
	}
	return dst
}

// trimHeader trims a header row's cells and drops its empty cells at the
// end.
func trimHeader(hdr []string) []string {
	for i := range hdr {
		hdr[i] = strings.TrimSpace(hdr[i])
	}
	for len(hdr) > 0 && hdr[len(hdr)-1] == "" {
		hdr = hdr[:len(hdr)-1]
	}
	return hdr
}

// sheetNamed is the index of the sheet called name among names, found as
// Excel finds it: the exact name, else the first that differs in case
// only. None is an ErrNoSheet naming the workbook's sheets.
func sheetNamed(names []string, name string) (int, error) {
	pick := -1
	for i, n := range names {
		if n == name || (pick < 0 && strings.EqualFold(n, name)) {
			pick = i
		}
	}
	if pick < 0 {
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = strconv.Quote(n)
		}
		return -1, kindf(ErrNoSheet, "no sheet %q (the workbook has %s)", name, strings.Join(quoted, ", "))
	}
	return pick, nil
}
