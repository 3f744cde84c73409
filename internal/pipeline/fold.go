package pipeline

import (
	"cmp"
	"slices"

	"github.com/idfusion/idfusion/internal/feedback"
	"github.com/idfusion/idfusion/schemas"
)

// A warning (one code on one field) found in at least foldPercent of a
// file's accepted rows, and in at least foldMinRows rows, is a problem of
// the mapping or the export, not of the rows: it is reported once for the
// file (feedback.Folded) and its rows are not listed, which bounds the
// workbook, and what the run holds, for a file of a million such rows. A
// few rows that happen to be right (a fixed placeholder, a hand-typed date)
// do not split it back into a million lines. Small files keep their rows
// listed: a short list is readable and says more. Rejects are never folded:
// each rejected row is missing from the run and is listed.
const (
	foldPercent = 95
	foldMinRows = 20
)

// foldable reports whether a warning in rows of a file's accepted rows is
// reported once for the file.
func foldable(rows, accepted int64) bool {
	return rows >= foldMinRows && rows*100 >= accepted*foldPercent
}

// fold replaces the warnings of ff that are foldable among accepted rows
// with one feedback.Folded each, in code order.
func (ff *fileFindings) fold(accepted int64) {
	type tally struct {
		rows  int64
		first int // the finding of the lowest row: the example
	}
	tallies := make([]tally, len(ff.kinds))
	for i := range ff.row {
		t := &tallies[ff.kind[i]]
		if t.rows == 0 || ff.row[i] < ff.row[t.first] {
			t.first = i
		}
		t.rows++
	}
	keep := make([]bool, len(ff.kinds))
	var folded []feedback.Folded
	for k, t := range tallies {
		kind := ff.kinds[k]
		if kind.severity != schemas.Warning || !foldable(t.rows, accepted) {
			keep[k] = true
			continue
		}
		folded = append(folded, feedback.Folded{Code: kind.code, Field: kind.field, Rows: t.rows, Accepted: accepted, Example: ff.str(2*t.first + 1)})
	}
	if len(folded) == 0 {
		return
	}
	slices.SortFunc(folded, func(a, b feedback.Folded) int {
		return cmp.Or(cmp.Compare(a.Code, b.Code), cmp.Compare(a.Field, b.Field))
	})
	ff.folded = folded
	ff.keep(keep)
}
