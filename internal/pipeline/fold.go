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
// file (feedback.Folded) and its rows are not kept one by one, which bounds
// the memory and the workbook a file of a million such rows costs. A few
// rows that happen to be right (a fixed placeholder, a hand-typed date) do
// not split it back into a million lines. Small files keep their rows
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

// warningKind is what folds: one code on one field.
type warningKind struct {
	code  schemas.Code
	field schemas.Field
}

// fold replaces the warnings of finds that are foldable among accepted rows
// with one feedback.Folded each; it returns the findings left to list, and
// the folded warnings in code order.
func fold(finds []finding, accepted int64) ([]finding, []feedback.Folded) {
	type tally struct {
		rows    int64
		first   int64 // row number of the example
		example string
	}
	tallies := map[warningKind]*tally{}
	for _, f := range finds {
		if f.severity != schemas.Warning {
			continue
		}
		k := warningKind{f.row.Code, f.row.Field}
		t := tallies[k]
		if t == nil {
			t = &tally{first: f.row.Row, example: f.row.Value}
			tallies[k] = t
		} else if f.row.Row < t.first {
			t.first, t.example = f.row.Row, f.row.Value
		}
		t.rows++
	}
	var folded []feedback.Folded
	for k, t := range tallies {
		if foldable(t.rows, accepted) {
			folded = append(folded, feedback.Folded{Code: k.code, Field: k.field, Rows: t.rows, Accepted: accepted, Example: t.example})
		} else {
			delete(tallies, k)
		}
	}
	if len(folded) == 0 {
		return finds, nil
	}
	slices.SortFunc(folded, func(a, b feedback.Folded) int {
		return cmp.Or(cmp.Compare(a.Code, b.Code), cmp.Compare(a.Field, b.Field))
	})
	// Only warning codes are tallied, so no reject is dropped.
	finds = slices.DeleteFunc(finds, func(f finding) bool {
		return tallies[warningKind{f.row.Code, f.row.Field}] != nil
	})
	// A copy, so that the array that held the folded rows goes too.
	return slices.Clone(finds), folded
}
