package pipeline

import (
	"cmp"
	"slices"

	"github.com/idfusion/idfusion/internal/feedback"
	"github.com/idfusion/idfusion/schemas"
)

// findingKind is what a finding says, apart from its row: few per file.
type findingKind struct {
	severity schemas.Severity
	code     schemas.Code
	field    schemas.Field
}

// fileFindings holds one file's findings until the run writes them, in a
// few flat arrays: a file may have a warning on each of a million rows,
// and each is kept until the file is read to the end and fold can tell
// whether the file's mapping is at fault. About 20 bytes and the text per
// finding, where a struct of strings into the record costs hundreds.
type fileFindings struct {
	dept, sha, file string // file: the base name
	kinds           []findingKind
	kindOf          map[findingKind]uint16
	row             []int64
	kind            []uint16
	text            []byte   // source key and value of each finding, in turn
	ends            []uint32 // where each of those ends in text
	// folded are the warnings of nearly every row, said once for the file
	// (see fold); their findings are no longer held.
	folded []feedback.Folded
}

func newFileFindings(dept, sha, file string) *fileFindings {
	return &fileFindings{dept: dept, sha: sha, file: file, kindOf: map[findingKind]uint16{}}
}

func (ff *fileFindings) add(row int64, k findingKind, sourceKey, value string) {
	i, ok := ff.kindOf[k]
	if !ok {
		i = uint16(len(ff.kinds))
		ff.kinds = append(ff.kinds, k)
		ff.kindOf[k] = i
	}
	ff.row = append(ff.row, row)
	ff.kind = append(ff.kind, i)
	ff.text = append(ff.text, sourceKey...)
	ff.ends = append(ff.ends, uint32(len(ff.text)))
	ff.text = append(ff.text, value...)
	ff.ends = append(ff.ends, uint32(len(ff.text)))
}

func (ff *fileFindings) len() int { return len(ff.row) }

// str returns the j-th text (source key 2i, value 2i+1).
func (ff *fileFindings) str(j int) string {
	start := uint32(0)
	if j > 0 {
		start = ff.ends[j-1]
	}
	return string(ff.text[start:ff.ends[j]])
}

// at returns the i-th finding.
func (ff *fileFindings) at(i int) finding {
	k := ff.kinds[ff.kind[i]]
	return finding{dept: ff.dept, sha: ff.sha, severity: k.severity, row: feedback.Row{
		File: ff.file, Row: ff.row[i], SourceKey: ff.str(2 * i), Field: k.field, Value: ff.str(2*i + 1), Code: k.code,
	}}
}

// order returns the indexes of the findings in row and reason order, as
// the workbook lists them: 4 bytes a finding, while the workbook is written.
func (ff *fileFindings) order() []int32 {
	idx := make([]int32, ff.len())
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		return cmp.Or(cmp.Compare(ff.row[a], ff.row[b]), cmp.Compare(ff.kinds[ff.kind[a]].code, ff.kinds[ff.kind[b]].code), cmp.Compare(a, b))
	})
	return idx
}

// keep keeps only the findings whose kind keep says, in new arrays so that
// the old ones go.
func (ff *fileFindings) keep(keep []bool) {
	out := newFileFindings(ff.dept, ff.sha, ff.file)
	for i := range ff.row {
		if k := ff.kinds[ff.kind[i]]; keep[ff.kind[i]] {
			out.add(ff.row[i], k, ff.str(2*i), ff.str(2*i+1))
		}
	}
	out.folded = ff.folded
	*ff = *out
}
