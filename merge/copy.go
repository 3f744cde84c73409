package merge

// The bulk COPY of new accounts (through internal/account) and rejects.

import (
	"context"
	"iter"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/schemas"
)

// copyAccounts COPYs the new accounts, in blind index order.
func (l *loader) copyAccounts(ctx context.Context, accounts []int64, have map[string]*existing, lines *lineTable, want int64) error {
	persons, next := l.persons, 0
	return account.CopyNew(ctx, l.tx, l.cfg.Keyring, l.runID, want, func(a *account.New) bool {
		for ; next < len(persons) && have[string(persons[next].Key[:])] != nil; next++ {
		}
		if next == len(persons) {
			return false
		}
		i := next
		next++
		p := &persons[i]
		src := lines.sources(i, p)
		*a = account.New{ID: accounts[i], Key: p.Key[:], IDNumber: p.ID, IDType: p.IDType, Name: p.Name().Value, Gender: p.Gender,
			Birth: p.Birth, HasBirth: p.HasBirth, Phone: p.Phone().Value, Address: p.Address().Value,
			NameSource: src.name, PhoneSource: src.phone, AddressSource: src.address, Legal: newLegal(p, src)}
		return true
	})
}

// copyRejects stores the run's rejected rows, as Input.Rejects yields them.
func (l *loader) copyRejects(ctx context.Context) error {
	if l.in.Rejects == nil {
		return nil
	}
	copyFn := database.CopyBinary
	if l.fresh["import_reject"] {
		copyFn = database.CopyBinaryFreeze
	}
	next, stop := iter.Pull2(l.in.Rejects)
	defer stop()
	_, err := copyFn(ctx, l.tx, "import_reject", []string{"run_id", "file_id", "row_num", "source_key", "code", "field", "value"},
		func(w *database.CopyRow) (bool, error) {
			r, err, ok := next()
			if !ok || err != nil {
				return false, err
			}
			w.Int64(l.runID)
			w.Int32(l.fileID(r.Dept, r.File))
			w.Int64(r.Row)
			w.Text(r.SourceKey)
			w.Text(string(r.Code))
			w.Text(string(r.Field))
			w.Text(r.Value)
			return true, nil
		})
	return err
}

// newLegal is a legal person's own values for its account; nil for a
// natural person.
func newLegal(p *Person, src sources) *account.NewLegal {
	if p.Kind != schemas.KindLegal {
		return nil
	}
	l := &account.NewLegal{Type: p.LegalType, ContactName: p.Contact().Value, ContactSource: src.contact}
	if rep, _ := p.Rep(); rep != nil {
		l.RepName, l.RepIDType, l.RepID, l.RepNationality = rep.RepName, rep.RepIDType, rep.RepID, rep.RepNationality
		if rep.RepID != "" {
			l.RepKey = rep.RepKey[:]
		}
		l.RepValidFrom, l.HasRepValidFrom, l.RepValidTo, l.HasRepValidTo = rep.RepFrom, rep.HasRepFrom, rep.RepTo, rep.HasRepTo
		l.RepSource = src.rep
	}
	return l
}
