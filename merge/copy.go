package merge

// The bulk COPY of new accounts and rejects.

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

var accountColumns = []string{"id", "id_bidx", "id_sealed", "id_hint", "id_type", "name", "gender", "birth_date",
	"phone_sealed", "phone_bidx", "phone_hint", "address", "status", "origin", "required_steps",
	"name_source", "phone_source", "address_source", "created_run", "updated_run"}

// copyAccounts COPYs the new accounts, in blind index order. Values are
// sealed straight into the COPY buffer while PostgreSQL inserts the rows
// sent before.
func (l *loader) copyAccounts(ctx context.Context, accounts []int64, have map[string]*existing, lines *lineTable, want int64) error {
	if want == 0 {
		return nil
	}
	k := l.cfg.Keyring
	steps := database.EncodeTextArray(stepNames(schemas.FusedAccountSteps))
	idAAD, phoneAAD := []byte(schemas.FieldIDNumber), []byte(schemas.FieldPhone)
	persons, next := l.in.Persons, 0
	n, err := database.CopyBinary(ctx, l.tx, "account", accountColumns, func(r *database.CopyRow) (bool, error) {
		for ; next < len(persons) && have[string(persons[next].Key[:])] != nil; next++ {
		}
		if next == len(persons) {
			return false, nil
		}
		i := next
		next++
		p := &persons[i]
		r.Int64(accounts[i])
		r.Bytea(p.Key[:])
		r.ByteaFunc(k.SealedLen(len(p.ID)), func(b []byte) []byte { return k.AppendSealString(b, p.ID, idAAD) })
		r.TextFunc(func(b []byte) []byte { return pii.AppendMaskID(b, p.ID) })
		r.Text(p.IDType)
		r.Text(p.Name().Value)
		r.Text(p.Gender)
		if p.HasBirth {
			r.Date(p.Birth)
		} else {
			r.Null()
		}
		if ph := p.Phone().Value; ph != "" {
			r.ByteaFunc(k.SealedLen(len(ph)), func(b []byte) []byte { return k.AppendSealString(b, ph, phoneAAD) })
			r.ByteaFunc(pii.BlindIndexLen, func(b []byte) []byte { return k.AppendBlindIndex(b, string(schemas.FieldPhone), ph) })
			r.TextFunc(func(b []byte) []byte { return pii.AppendMaskPhone(b, ph) })
		} else {
			r.Null()
			r.Null()
			r.Text("")
		}
		r.Text(p.Address().Value)
		r.Text(string(schemas.StatusPendingCompletion))
		r.Text(string(schemas.OriginFused))
		r.Raw(steps)
		src := lines.sources(i, p)
		r.Int64Ptr(src.name)
		r.Int64Ptr(src.phone)
		r.Int64Ptr(src.address)
		r.Int64(l.runID)
		r.Int64(l.runID)
		return true, nil
	})
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("copy into account: %d of %d rows", n, want)
	}
	return nil
}

func stepNames(steps []schemas.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = string(s)
	}
	return out
}

// copyRejects stores the run's rejected rows.
func (l *loader) copyRejects(ctx context.Context) error {
	return copyAll(ctx, l.tx, "import_reject", []string{"run_id", "file_id", "row_num", "source_key", "code", "field", "value"}, l.in.Rejects,
		func(w *database.CopyRow, r *Reject) {
			w.Int64(l.runID)
			w.Int32(l.fileID(r.Dept, r.File))
			w.Int64(r.Row)
			w.Text(r.SourceKey)
			w.Text(string(r.Code))
			w.Text(string(r.Field))
			w.Text(r.Value)
		})
}

// copyAll COPYs every element of rows, encoded by encode, into table.
func copyAll[T any](ctx context.Context, tx pgx.Tx, table string, cols []string, rows []T, encode func(*database.CopyRow, *T)) error {
	if len(rows) == 0 {
		return nil
	}
	i := 0
	n, err := database.CopyBinary(ctx, tx, table, cols, func(r *database.CopyRow) (bool, error) {
		if i == len(rows) {
			return false, nil
		}
		encode(r, &rows[i])
		i++
		return true, nil
	})
	if err != nil {
		return err
	}
	if n != int64(len(rows)) {
		return fmt.Errorf("copy into %s: %d of %d rows", table, n, len(rows))
	}
	return nil
}
