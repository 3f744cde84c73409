package pipeline

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"

	"github.com/idfusion/idfusion/internal/feedback"
	"github.com/idfusion/idfusion/internal/sealfile"
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
	// sorted is the listing order of the findings, once asked (see order).
	sorted []int32
	// spilled holds the nSpilled findings in listing order once written
	// out (see spill); the arrays above are then empty.
	spilled  *sealfile.File
	nSpilled int
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
	ff.sorted = nil
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
	if ff.sorted != nil || ff.len() == 0 {
		return ff.sorted
	}
	idx := make([]int32, ff.len())
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		return cmp.Or(cmp.Compare(ff.row[a], ff.row[b]), cmp.Compare(ff.kinds[ff.kind[a]].code, ff.kinds[ff.kind[b]].code), cmp.Compare(a, b))
	})
	ff.sorted = idx
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

// spillMin is how many findings a read file must have for the Collector to
// write them out (see spill): fewer cost less held than a file costs.
var spillMin = 4096

// spill writes ff's findings, in listing order, to a new file in dir and
// lets go of them: once a file is read to its end and folded its findings
// no longer change, and the run needs them only in that order, to write the
// feedback and the rejects. What stays is the kinds and the count.
func (ff *fileFindings) spill(dir string) error {
	// Sealed: the values are in clear (a rejected row's ID number).
	f, err := sealfile.Create(dir, "findings-*.bin")
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	var buf []byte
	for _, i := range ff.order() {
		key, value := ff.str(2*int(i)), ff.str(2*int(i)+1)
		buf = binary.AppendVarint(buf[:0], ff.row[i])
		buf = binary.AppendUvarint(buf, uint64(ff.kind[i]))
		buf = binary.AppendUvarint(buf, uint64(len(key)))
		buf = append(buf, key...)
		buf = binary.AppendUvarint(buf, uint64(len(value)))
		buf = append(buf, value...)
		if _, err := w.Write(buf); err != nil {
			break
		}
	}
	if err = w.Flush(); err != nil {
		f.Abort()
		return fmt.Errorf("write the findings of %s: %w", ff.file, err)
	}
	sealed, err := f.Close()
	if err != nil {
		return fmt.Errorf("write the findings of %s: %w", ff.file, err)
	}
	n := ff.len()
	kinds, folded, kindOf := ff.kinds, ff.folded, ff.kindOf
	*ff = fileFindings{dept: ff.dept, sha: ff.sha, file: ff.file, kinds: kinds, kindOf: kindOf, folded: folded, spilled: sealed, nSpilled: n}
	return nil
}

// drop removes ff's spilled findings, if any.
func (ff *fileFindings) drop() {
	if ff.spilled != nil {
		ff.spilled.Remove()
		ff.spilled = nil
	}
}

// all yields ff's findings in listing order (row, reason); a failure to
// read spilled findings back ends the sequence and is kept in *errp.
func (ff *fileFindings) all(errp *error) iter.Seq[finding] {
	return func(yield func(finding) bool) {
		if ff.spilled == nil {
			for _, i := range ff.order() {
				if !yield(ff.at(int(i))) {
					return
				}
			}
			return
		}
		r := bufio.NewReaderSize(ff.spilled.Reader(), 1<<16)
		text := func() (string, error) {
			n, err := binary.ReadUvarint(r)
			if err != nil {
				return "", err
			}
			b := make([]byte, n)
			_, err = io.ReadFull(r, b)
			return string(b), err
		}
		for range ff.nSpilled {
			row, err := binary.ReadVarint(r)
			var kind uint64
			if err == nil {
				kind, err = binary.ReadUvarint(r)
			}
			var key, value string
			if err == nil {
				key, err = text()
			}
			if err == nil {
				value, err = text()
			}
			if err == nil && kind >= uint64(len(ff.kinds)) {
				err = errors.New("unknown kind")
			}
			if err != nil {
				if *errp == nil {
					*errp = fmt.Errorf("read back the findings of %s: %w", ff.file, err)
				}
				return
			}
			k := ff.kinds[kind]
			if !yield(finding{dept: ff.dept, sha: ff.sha, severity: k.severity, row: feedback.Row{
				File: ff.file, Row: row, SourceKey: key, Field: k.field, Value: value, Code: k.code}}) {
				return
			}
		}
	}
}
