package merge

import (
	"cmp"

	"github.com/idfusion/idfusion/schemas"
)

// Source is where a value came from: one input row, or the citizen.
type Source struct {
	Dept string
	File string // sha256
	Row  int64
	// Priority is the department's trust rank (1 = most trusted).
	Priority int32
	// UpdatedAt is the record's own update time in Unix milliseconds; 0 when
	// unknown, which ranks below any known time.
	UpdatedAt int64
	// Citizen marks a value the citizen set or verified: it outranks every
	// department.
	Citizen bool
	// Staff marks a Citizen value that staff set by resolving a conflict
	// (工作人员核定, account.name_pinned): it ranks as the citizen's, and
	// a conflict names it as staff's.
	Staff bool
}

// Candidate is one value of a field with its source.
type Candidate struct {
	Value string
	Source
}

// Rule orders the candidates of a field.
type Rule int

const (
	// ByPriority prefers the most trusted department, then the newest
	// record: for identity fields such as the name.
	ByPriority Rule = iota
	// ByRecency prefers the newest record, then the most trusted
	// department: for contact data such as phones and addresses.
	ByRecency
)

// Survivorship configures, in one place, which rule picks each field.
var Survivorship = map[schemas.Field]Rule{
	schemas.FieldName:    ByPriority,
	schemas.FieldPhone:   ByRecency,
	schemas.FieldAddress: ByRecency,
	// A legal person's representative, all its fields from one row.
	schemas.FieldRepName: ByPriority,
	// A legal person's contact person.
	schemas.FieldContactName: ByRecency,
}

// compare orders a before b (negative) when a should survive over b. Empty
// values always lose; remaining ties fall to department code, file and row,
// so the result never depends on input order.
func (r Rule) compare(a, b Candidate) int {
	if (a.Value == "") != (b.Value == "") {
		if a.Value == "" {
			return 1
		}
		return -1
	}
	if a.Citizen != b.Citizen {
		if a.Citizen {
			return -1
		}
		return 1
	}
	prio := cmp.Compare(a.Priority, b.Priority)
	recent := -cmp.Compare(a.UpdatedAt, b.UpdatedAt)
	var first int
	if r == ByPriority {
		first = cmp.Or(prio, recent)
	} else {
		first = cmp.Or(recent, prio)
	}
	return cmp.Or(first, cmp.Compare(a.Dept, b.Dept), cmp.Compare(a.File, b.File), cmp.Compare(a.Row, b.Row), cmp.Compare(a.Value, b.Value))
}

// Best returns the surviving candidate of cs under rule r; ok is false when
// cs is empty.
func (r Rule) Best(cs []Candidate) (best Candidate, ok bool) {
	i := r.bestIndex(cs)
	if i < 0 {
		return Candidate{}, false
	}
	return cs[i], true
}

// bestIndex returns the index of the surviving candidate, -1 for none.
func (r Rule) bestIndex(cs []Candidate) int {
	best := -1
	for i, c := range cs {
		if best < 0 || r.compare(c, cs[best]) < 0 {
			best = i
		}
	}
	return best
}
