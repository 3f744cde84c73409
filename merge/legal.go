package merge

// Legal persons (法人): their rows go through the same grouping,
// survivorship, lineage, ledger and load as persons'; this file holds
// what only they have.

import (
	"encoding/json"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// addLegal takes the rows of a CleanLegal record, like AddClean a
// CleanPerson's: keyed by the credit code's blind index.
func (m *Merger) addLegal(rec arrow.Record) {
	str := func(c int) *array.String { return rec.Column(c).(*array.String) }
	n := int(rec.NumRows())
	if n == 0 {
		return
	}
	cols := []*array.String{str(schemas.LegalSourceKey), str(schemas.LegalCreditCode), str(schemas.LegalName), str(schemas.LegalTypeCol),
		str(schemas.LegalRepName), str(schemas.LegalRepIDType), str(schemas.LegalRepIDNumber), str(schemas.LegalRepNationality),
		str(schemas.LegalContactName), str(schemas.LegalPhone), str(schemas.LegalAddress)}
	key, code, name, typ, repName, repIDType, repID, nat, contact, phone, addr := cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8], cols[9], cols[10]
	a := newArena(cols...)
	take := a.take
	src := newSourceReader(rec, schemas.LegalUpdatedAt, schemas.LegalPriority)
	from := rec.Column(schemas.LegalRepIDStart).(*array.Date32)
	to := rec.Column(schemas.LegalRepIDEnd).(*array.Date32)
	rows := make([]Row, n)
	legal := make([]LegalRow, n)
	for i := range rows {
		r, l := &rows[i], &legal[i]
		r.Legal = l
		r.ID, r.IDType, r.Name = take(code.Value(i)), string(schemas.IDTypeUSCC), take(name.Value(i))
		account.AppendCreditCodeIndex(r.Key[:0], m.keys, r.ID)
		r.Phone, r.Address, r.SourceKey = take(phone.Value(i)), take(pii.Redact(addr.Value(i))), take(pii.Redact(key.Value(i)))
		l.Type = schemas.LegalType(typ.Value(i))
		l.RepName, l.RepIDType, l.RepID, l.RepNationality = take(repName.Value(i)), take(repIDType.Value(i)), take(repID.Value(i)), take(nat.Value(i))
		if l.RepID != "" {
			account.AppendIDIndex(l.RepKey[:0], m.keys, l.RepID)
		}
		l.ContactName = take(pii.Redact(contact.Value(i)))
		if from.IsValid(i) {
			l.RepFrom, l.HasRepFrom = int32(from.Value(i)), true
		}
		if to.IsValid(i) {
			l.RepTo, l.HasRepTo = int32(to.Value(i)), true
		}
		src.fill(&r.Source, i)
	}
	m.add(rows, chunkBytes(n, n, cap(*a)))
}

// Rep is the surviving representative of a legal person (all its fields
// from one row) with its source; nil when no row names one.
func (p *Person) Rep() (*LegalRow, Source) {
	if p.repRow < 0 || p.Kind != schemas.KindLegal {
		return nil, Source{}
	}
	r := p.Rows[p.repRow]
	return r.Legal, r.Source
}

// Contact is the surviving contact person of a legal person.
func (p *Person) Contact() Candidate {
	return p.candidate(p.contactRow, (*Row).contact)
}

// distinctReps returns each distinct representative ID (by blind index)
// once with its best source, in survivorship order, as conflict
// candidates, and their blind indexes in the same order.
func distinctReps(group []*Row) (reps []Candidate, keys []Key) {
	rule := Survivorship[schemas.FieldRepName]
	defer func() {
		order := make([]int, len(reps))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return rule.compare(reps[a], reps[b]) })
		r, k := make([]Candidate, len(reps)), make([]Key, len(keys))
		for i, j := range order {
			r[i], k[i] = reps[j], keys[j]
		}
		reps, keys = r, k
	}()
	for _, r := range group {
		if r.Legal == nil || r.Legal.RepID == "" {
			continue
		}
		c := r.candidate(account.RepCandidate(r.Legal.RepName, pii.MaskID(r.Legal.RepID)))
		j := -1
		for k := range keys {
			if keys[k] == r.Legal.RepKey {
				j = k
			}
		}
		if j < 0 {
			reps, keys = append(reps, c), append(keys, r.Legal.RepKey)
		} else if rule.compare(c, reps[j]) < 0 {
			reps[j] = c
		}
	}
	return reps, keys
}

// repConflicts is a legal person's conflict of representatives: more than
// one distinct representative ID in the run, or one other than the stored
// account's (ex, nil for a new account). Candidates show the name and
// the masked ID only; a department's row's values go sealed with k
// (account.SealConflictRep) in the conflict's reps, by candidate, for
// staff to choose it: outside the candidates, whose text is the
// conflict's identity (sealing is randomized).
func repConflicts(k *pii.Keyring, accountID int64, p *Person, ex *existing) []conflict {
	if p.Kind != schemas.KindLegal {
		return nil
	}
	reps := p.Reps
	if ex != nil && ex.RepBidx != nil && len(reps) > 0 && !slices.ContainsFunc(p.repKeys, func(k Key) bool { return string(k[:]) == string(ex.RepBidx) }) {
		stored := ex.rep
		stored.Value = account.RepCandidate(ex.RepName, ex.RepHint)
		reps = append(slices.Clone(reps), stored)
		slices.SortStableFunc(reps, Survivorship[schemas.FieldRepName].compare)
	}
	if len(reps) < 2 {
		return nil
	}
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
	var cs []cand
	sealed := make([]string, len(reps))
	for i, r := range reps {
		switch {
		case r.Staff:
			cs = append(cs, cand{Value: r.Value, Source: "staff"})
		case r.Citizen:
			cs = append(cs, cand{Value: r.Value, Source: "citizen"})
		case r.Dept == "":
			cs = append(cs, cand{Value: r.Value, Source: "stored"})
		default:
			cs = append(cs, cand{Value: r.Value, From: []src{{r.Dept, r.File, r.Row}}})
			sealed[i] = sealedRep(k, p, r.Source)
		}
	}
	b, _ := json.Marshal(cs)
	rb, _ := json.Marshal(sealed)
	return []conflict{{account: accountID, key: p.Key, field: schemas.FieldRepName, candidates: string(b), reps: string(rb)}}
}

// sealedRep is the representative of p's input row at src (a legal
// person's row: distinctReps took it), sealed for a conflict's candidate
// ("" if no such row: none to choose).
func sealedRep(k *pii.Keyring, p *Person, src Source) string {
	for _, r := range p.Rows {
		if r.Dept != src.Dept || r.File != src.File || r.Row != src.Row {
			continue
		}
		l := r.Legal
		rep := account.ConflictRep{Name: l.RepName, IDType: l.RepIDType, ID: l.RepID, Nationality: l.RepNationality}
		if l.HasRepFrom {
			rep.ValidFrom = &l.RepFrom
		}
		if l.HasRepTo {
			rep.ValidTo = &l.RepTo
		}
		return account.SealConflictRep(k, rep)
	}
	return ""
}
