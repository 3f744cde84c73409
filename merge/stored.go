package merge

// Reconciling a run with the accounts the store already has: reading
// them, merging the run's values into them (a citizen's values stay), and
// the conflicts for review.

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// existing loads the accounts that already exist for the run's persons,
// with the sources of their surviving values.
func (l *loader) existing(ctx context.Context) (map[string]*existing, error) {
	if _, err := l.tx.Exec(ctx, `CREATE TEMP TABLE stage_key (bidx bytea NOT NULL) ON COMMIT DROP`); err != nil {
		return nil, err
	}
	if err := copyAll(ctx, l.tx, "stage_key", []string{"bidx"}, l.in.Persons, func(r *database.CopyRow, p *Person) { r.Bytea(p.Key[:]) }); err != nil {
		return nil, err
	}
	rows, err := l.tx.Query(ctx, `
		SELECT a.id, a.id_bidx, a.phone_verified, a.name, a.phone_bidx, a.address,
		       a.name_source, a.phone_source, a.address_source,
		       fn.dept, fn.sha256, ln.row_num, ln.priority, ln.record_updated_at,
		       fp.dept, fp.sha256, lp.row_num, lp.priority, lp.record_updated_at,
		       fa.dept, fa.sha256, la.row_num, la.priority, la.record_updated_at
		FROM stage_key s JOIN account a ON a.id_bidx = s.bidx
		LEFT JOIN account_lineage ln ON ln.account_id = a.id AND ln.id = a.name_source LEFT JOIN source_file fn ON fn.id = ln.file_id
		LEFT JOIN account_lineage lp ON lp.account_id = a.id AND lp.id = a.phone_source LEFT JOIN source_file fp ON fp.id = lp.file_id
		LEFT JOIN account_lineage la ON la.account_id = a.id AND la.id = a.address_source LEFT JOIN source_file fa ON fa.id = la.file_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*existing{}
	for rows.Next() {
		var ex existing
		var key []byte
		var srcs [3]nullableSource
		if err := rows.Scan(&ex.id, &key, &ex.phoneVerified, &ex.name.Value, &ex.phoneBidx, &ex.address.Value,
			&ex.nameSrc, &ex.phoneSrc, &ex.addrSrc,
			&srcs[0].dept, &srcs[0].file, &srcs[0].row, &srcs[0].priority, &srcs[0].updated,
			&srcs[1].dept, &srcs[1].file, &srcs[1].row, &srcs[1].priority, &srcs[1].updated,
			&srcs[2].dept, &srcs[2].file, &srcs[2].row, &srcs[2].priority, &srcs[2].updated); err != nil {
			return nil, err
		}
		ex.name.Source = srcs[0].source()
		ex.phone.Source = srcs[1].source()
		ex.address.Source = srcs[2].source()
		// A value without a department source was set by the citizen (at
		// registration or first login), and one the citizen verified is
		// theirs whatever its source: both outrank every department. This
		// is where the rule lives; applyUpdates only refuses to write over
		// a value that changed since it was read here.
		ex.name.Citizen = ex.name.Value != "" && ex.nameSrc == nil
		ex.address.Citizen = ex.address.Value != "" && ex.addrSrc == nil
		if ex.phoneBidx != nil {
			ex.phone.Value = "\x00stored" // compared by blind index, never decrypted
			ex.phone.Citizen = ex.phoneVerified || ex.phoneSrc == nil
		}
		out[string(key)] = &ex
	}
	return out, rows.Err()
}

type nullableSource struct {
	dept, file *string
	row        *int64
	priority   *int32
	updated    *time.Time
}

func (n nullableSource) source() Source {
	if n.dept == nil {
		return Source{Priority: 1 << 30} // no lineage: ranks below every department
	}
	s := Source{Dept: *n.dept, File: *n.file, Row: *n.row, Priority: *n.priority}
	if n.updated != nil {
		s.UpdatedAt = n.updated.UnixMilli()
	}
	return s
}

// lineageIDs returns the lineage rows the store already has for the run's
// files (only when a file is imported again with --force).
func (l *loader) lineageIDs(ctx context.Context, files map[fileKey]int32) (map[lineageKey]int64, error) {
	out := map[lineageKey]int64{}
	l.storedAccount = map[lineageKey]int64{}
	for _, id := range files {
		rows, err := l.tx.Query(ctx, `SELECT row_num, id, account_id FROM account_lineage WHERE file_id = $1`, id)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var row, lid, account int64
			if err := rows.Scan(&row, &lid, &account); err != nil {
				rows.Close()
				return nil, err
			}
			out[lineageKey{id, row}] = lid
			l.storedAccount[lineageKey{id, row}] = account
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// accountUpdate is what a run changes in an existing account: each value
// with its source, when set, and the account as the run read it.
type accountUpdate struct {
	id                         int64
	setName, setAddr, setPhone bool
	name, address              string
	nameSrc, addrSrc           *int64
	phone                      string
	phoneSrc                   *int64
	was                        *existing
}

// update merges the run's values into an existing account. Its status,
// completion state and citizen-set values are never touched: survivorship
// ranks them above every department (their Candidate.Citizen).
func (l *loader) update(id int64, ex *existing, p *Person, src sources) (accountUpdate, bool) {
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
	setName, nameSrc := won(schemas.FieldName, ex.name, p.Name(), src.name, ex.nameSrc)
	setAddr, addrSrc := won(schemas.FieldAddress, ex.address, p.Address(), src.address, ex.addrSrc)
	setPhone, phoneSrc := won(schemas.FieldPhone, ex.phone, p.Phone(), src.phone, ex.phoneSrc)
	if !setName && !setPhone && !setAddr {
		return accountUpdate{}, false
	}
	return accountUpdate{id: id, setName: setName, setAddr: setAddr, setPhone: setPhone,
		name: p.Name().Value, address: p.Address().Value, nameSrc: nameSrc, addrSrc: addrSrc,
		phone: p.Phone().Value, phoneSrc: phoneSrc, was: ex}, true
}

func sameSource(a, b *int64) bool { return a != nil && b != nil && *a == *b }

// applyUpdates writes the changes to existing accounts (staged by COPY,
// applied by one UPDATE), sealing the phones as they are sent.
func (l *loader) applyUpdates(ctx context.Context, updates []accountUpdate) error {
	for _, u := range updates {
		l.updated = append(l.updated, u.id)
	}
	if len(updates) == 0 {
		return nil
	}
	if _, err := l.tx.Exec(ctx, `CREATE TEMP TABLE stage_update (
		id bigint, set_name bool, name text, name_source bigint, set_address bool, address text, address_source bigint,
		set_phone bool, phone_sealed bytea, phone_bidx bytea, phone_hint text, phone_source bigint,
		was_address text, was_address_source bigint, was_phone_bidx bytea, was_phone_source bigint, was_phone_verified bool) ON COMMIT DROP`); err != nil {
		return err
	}
	k := l.cfg.Keyring
	phoneAAD := []byte(schemas.FieldPhone)
	if err := copyAll(ctx, l.tx, "stage_update", []string{"id", "set_name", "name", "name_source", "set_address", "address", "address_source",
		"set_phone", "phone_sealed", "phone_bidx", "phone_hint", "phone_source",
		"was_address", "was_address_source", "was_phone_bidx", "was_phone_source", "was_phone_verified"}, updates, func(r *database.CopyRow, u *accountUpdate) {
		r.Int64(u.id)
		r.Bool(u.setName)
		r.Text(u.name)
		r.Int64Ptr(u.nameSrc)
		r.Bool(u.setAddr)
		r.Text(u.address)
		r.Int64Ptr(u.addrSrc)
		r.Bool(u.setPhone)
		if u.setPhone {
			r.ByteaFunc(k.SealedLen(len(u.phone)), func(b []byte) []byte { return k.AppendSealString(b, u.phone, phoneAAD) })
			r.ByteaFunc(pii.BlindIndexLen, func(b []byte) []byte { return k.AppendBlindIndex(b, string(schemas.FieldPhone), u.phone) })
			r.TextFunc(func(b []byte) []byte { return pii.AppendMaskPhone(b, u.phone) })
		} else {
			r.Null()
			r.Null()
			r.Text("")
		}
		r.Int64Ptr(u.phoneSrc)
		r.Text(u.was.address.Value)
		r.Int64Ptr(u.was.addrSrc)
		r.Bytea(u.was.phoneBidx)
		r.Int64Ptr(u.was.phoneSrc)
		r.Bool(u.was.phoneVerified)
	}); err != nil {
		return err
	}
	// The decisions were taken on the accounts as the run read them. The
	// login service may change an address or phone meanwhile (③ sets the
	// citizen's address and phone, an SMS login verifies the phone): a
	// value is written only over the one the run read, compared on the
	// row as it is now (also after waiting for the login service's lock),
	// so the citizen's change stays. Only imports change names, and they
	// run one at a time.
	_, err := l.tx.Exec(ctx, `
		UPDATE account a SET
			name           = CASE WHEN s.set_name THEN s.name ELSE a.name END,
			name_source    = CASE WHEN s.set_name THEN s.name_source ELSE a.name_source END,
			address        = CASE WHEN s.set_address AND `+addressAsRead+` THEN s.address ELSE a.address END,
			address_source = CASE WHEN s.set_address AND `+addressAsRead+` THEN s.address_source ELSE a.address_source END,
			phone_sealed   = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_sealed ELSE a.phone_sealed END,
			phone_bidx     = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_bidx ELSE a.phone_bidx END,
			phone_hint     = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_hint ELSE a.phone_hint END,
			phone_source   = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_source ELSE a.phone_source END,
			updated_run    = $1,
			updated_at     = now()
		FROM stage_update s
		WHERE a.id = s.id`, l.runID)
	return err
}

// addressAsRead and phoneAsRead hold when an account's address or phone is
// still the one the run read (stage_update s, account a).
const (
	addressAsRead = `(a.address, a.address_source) IS NOT DISTINCT FROM (s.was_address, s.was_address_source)`
	phoneAsRead   = `(a.phone_bidx, a.phone_source, a.phone_verified) IS NOT DISTINCT FROM (s.was_phone_bidx, s.was_phone_source, s.was_phone_verified)`
)

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
			if n.Citizen {
				cs = append(cs, cand{Value: n.Value, Source: "citizen"})
				continue
			}
			cs = append(cs, cand{Value: n.Value, From: []src{{n.Dept, n.File, n.Row}}})
		}
		b, _ := json.Marshal(cs)
		out = append(out, conflict{accountID, schemas.FieldName, string(b)})
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
		out = append(out, conflict{accountID, f, string(b)})
	}
	return out
}

// conflict is a conflict for review: the competing values of a field of
// an account, as JSON.
type conflict struct {
	account    int64
	field      schemas.Field
	candidates string
}

// insertConflicts stores the run's conflicts; a conflict already recorded
// (the same candidates) is not recorded again.
func (l *loader) insertConflicts(ctx context.Context, cs []conflict) (int64, error) {
	if len(cs) == 0 {
		return 0, nil
	}
	if _, err := l.tx.Exec(ctx, `CREATE TEMP TABLE stage_conflict (account_id bigint, field text, candidates text) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	if err := copyAll(ctx, l.tx, "stage_conflict", []string{"account_id", "field", "candidates"}, cs, func(r *database.CopyRow, c *conflict) {
		r.Int64(c.account)
		r.Text(string(c.field))
		r.Text(c.candidates)
	}); err != nil {
		return 0, err
	}
	tag, err := l.tx.Exec(ctx, `INSERT INTO merge_conflict (account_id, field, candidates, run_id)
		SELECT account_id, field, candidates::jsonb, $1 FROM stage_conflict
		ON CONFLICT (account_id, field, md5(candidates::text)) DO NOTHING`, l.runID)
	return tag.RowsAffected(), err
}
