package merge

// Reconciling a run with the accounts the store already has: pure
// decisions, taken on the accounts as the run read them (stored.go reads
// and writes them).

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/schemas"
)

// existing is a stored account as survivorship sees it: its values as
// candidates, a citizen's outranking every department.
type existing struct {
	*account.Stored
	name, address, phone Candidate
	// a legal account's representative (compared by source, never
	// decrypted) and contact person
	rep, contact Candidate
}

func newExisting(s *account.Stored) *existing {
	ex := &existing{Stored: s}
	ex.name = Candidate{Value: s.Name, Source: source(s.NameSource, s.CitizenName())}
	ex.name.Staff = s.NamePinned
	ex.address = Candidate{Value: s.Address, Source: source(s.AddressSource, s.CitizenAddress())}
	if s.PhoneBidx != nil {
		// compared by blind index, never decrypted
		ex.phone = Candidate{Value: "\x00stored", Source: source(s.PhoneSource, s.CitizenPhone())}
	}
	if s.RepName != "" || s.RepBidx != nil {
		ex.rep = Candidate{Value: "\x00stored", Source: source(s.RepSource, s.CitizenRep())}
		ex.rep.Staff = s.RepPinned
	}
	ex.contact = Candidate{Value: s.ContactName, Source: source(s.ContactSource, s.CitizenContact())}
	return ex
}

// source is a stored value's source as a candidate's.
func source(s account.Source, citizen bool) Source {
	if s.Dept == "" {
		return Source{Priority: 1 << 30, Citizen: citizen} // no lineage: ranks below every department
	}
	out := Source{Dept: s.Dept, File: s.File, Row: s.Row, Priority: s.Priority, Citizen: citizen}
	if s.UpdatedAt != nil {
		out.UpdatedAt = s.UpdatedAt.UnixMilli()
	}
	return out
}

// reconcile decides what a run changes in a stored account: each value
// the run's candidate wins by survivorship (never over a citizen's) and
// that does not come from the source the account already has. false when
// nothing changes. Its status, completion state and citizen-set values
// are never touched.
func reconcile(ex *existing, p *Person, src sources) (account.Update, bool) {
	// won reports whether the run's candidate replaces the stored value,
	// and the lineage id of its source.
	won := func(f schemas.Field, stored, run Candidate, runSrc, storedSrc *int64) (bool, *int64) {
		if run.Value == "" {
			return false, nil
		}
		if best, _ := Survivorship[f].Best([]Candidate{stored, run}); best != run {
			return false, nil
		}
		return !sameSource(runSrc, storedSrc), runSrc
	}
	setName, nameSrc := won(schemas.FieldName, ex.name, p.Name(), src.name, ex.NameSource.Lineage)
	setAddr, addrSrc := won(schemas.FieldAddress, ex.address, p.Address(), src.address, ex.AddressSource.Lineage)
	setPhone, phoneSrc := won(schemas.FieldPhone, ex.phone, p.Phone(), src.phone, ex.PhoneSource.Lineage)
	var setRep, setContact bool
	var rep *account.NewLegal
	if p.Kind == schemas.KindLegal && ex.Kind == schemas.KindLegal {
		rl, rs := p.Rep()
		var runRep Candidate
		if rl != nil {
			runRep = Candidate{Value: "\x00run", Source: rs}
		}
		setRep, _ = won(schemas.FieldRepName, ex.rep, runRep, src.rep, ex.RepSource.Lineage)
		setContact, _ = won(schemas.FieldContactName, ex.contact, p.Contact(), src.contact, ex.ContactSource.Lineage)
		if setRep || setContact {
			rep = newLegal(p, src)
		}
	}
	if !setName && !setPhone && !setAddr && !setRep && !setContact {
		return account.Update{}, false
	}
	return account.Update{ID: ex.ID, SetName: setName, SetAddress: setAddr, SetPhone: setPhone,
		Name: p.Name().Value, Address: p.Address().Value, Phone: p.Phone().Value,
		NameSource: nameSrc, AddressSource: addrSrc, PhoneSource: phoneSrc,
		SetRep: setRep, SetContact: setContact, Rep: rep, Was: ex.Stored}, true
}

func sameSource(a, b *int64) bool { return a != nil && b != nil && *a == *b }

// conflictRows lists the conflicts of a person: different names (in this
// run, or against the stored name), and departments' genders or birth dates
// that disagree with the ID number.
func conflictRows(accountID int64, p *Person, stored *Candidate) []conflict {
	type src struct {
		Dept string `json:"dept"`
		File string `json:"file_sha256"`
		Row  int64  `json:"row"`
	}
	type cand struct {
		Value  string `json:"value"`
		Source string `json:"source,omitempty"`
		From   []src  `json:"sources,omitempty"`
	}
	var out []conflict
	names := p.Names
	if len(names) == 0 {
		names = []Candidate{p.Name()}
	}
	if stored != nil && !slices.ContainsFunc(names, func(c Candidate) bool { return c.Value == stored.Value }) {
		names = append(slices.Clone(names), *stored)
		slices.SortFunc(names, Survivorship[schemas.FieldName].compare)
	}
	if len(names) > 1 {
		var cs []cand
		for _, n := range names {
			if n.Staff {
				cs = append(cs, cand{Value: n.Value, Source: "staff"})
				continue
			}
			if n.Citizen {
				cs = append(cs, cand{Value: n.Value, Source: "citizen"})
				continue
			}
			cs = append(cs, cand{Value: n.Value, From: []src{{n.Dept, n.File, n.Row}}})
		}
		b, _ := json.Marshal(cs)
		out = append(out, conflict{account: accountID, key: p.Key, field: schemas.FieldName, candidates: string(b)})
	}
	for _, f := range []schemas.Field{schemas.FieldGender, schemas.FieldBirthDate} {
		var cs []cand
		for _, m := range p.Mismatches {
			if m.Field == f {
				cs = append(cs, cand{Value: m.Value, From: []src{{m.Dept, m.File, m.Row}}})
			}
		}
		if len(cs) == 0 {
			continue
		}
		idValue := p.Gender
		if f == schemas.FieldBirthDate {
			idValue = time.Unix(int64(p.Birth)*86400, 0).UTC().Format("2006-01-02")
		}
		cs = append([]cand{{Value: idValue, Source: "id_number"}}, cs...)
		b, _ := json.Marshal(cs)
		out = append(out, conflict{account: accountID, key: p.Key, field: f, candidates: string(b)})
	}
	return out
}

// conflict is a conflict for review: the competing values of a field of
// an account, as JSON.
type conflict struct {
	account    int64
	key        Key // the account's blind index
	field      schemas.Field
	candidates string
	// reps: a conflict of representatives' sealed rows by candidate, as
	// a JSON array ("" for other fields).
	reps string
}
