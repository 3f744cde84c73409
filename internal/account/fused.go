package account

// The pipeline's side: new fused accounts, the stored accounts a run
// reconciles with, and the departments' values written to them.

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// ReserveIDs takes a block of n consecutive account ids and returns the
// first, in a short transaction of its own on db. The login service takes
// ids one nextval at a time: the database function reserve_account_ids
// (migration 012) holds their nextval with ALTER SEQUENCE for the few
// milliseconds of this transaction (the increment it sets is the one the
// sequence has), so the block is taken with one setval instead of n
// nextvals. It runs as the sequence's owner: only the owner may alter it.
// Like nextval, the block is not given back if the run rolls back.
func ReserveIDs(ctx context.Context, db database.Beginner, n int64) (first int64, err error) {
	if n == 0 {
		return 0, nil
	}
	err = database.Transact(ctx, db, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT reserve_account_ids($1)`, n).Scan(&first)
	})
	if err != nil {
		return 0, fmt.Errorf("reserve account ids: %w", err)
	}
	return first, nil
}

// New is a fused account the pipeline creates. Values are normalized;
// the sources are the lineage rows of the surviving values (nil: none).
type New struct {
	ID                                     int64
	Key                                    []byte // IDIndex of IDNumber
	IDNumber, IDType, Name, Gender         string
	Birth                                  int32 // days since 1970-01-01
	HasBirth                               bool
	Phone, Address                         string
	NameSource, PhoneSource, AddressSource *int64
	// Legal is a legal person's own values (IDNumber is then the credit
	// code, Key its CreditCodeIndex); nil for a natural person.
	Legal *NewLegal
}

// NewLegal is what a new legal account has besides a person's values.
type NewLegal struct {
	Type schemas.LegalType
	// The representative: RepID "" when none is on record; RepKey is
	// IDIndex(RepID), the citizens' domain.
	RepName, RepIDType, RepID, RepNationality string
	RepKey                                    []byte
	// RepValidFrom and RepValidTo in days since 1970-01-01; RepValidTo
	// LongTermDays is 长期有效. Has*: known.
	RepValidFrom, RepValidTo       int32
	HasRepValidFrom, HasRepValidTo bool
	ContactName                    string
	RepSource, ContactSource       *int64
}

// LongTermDays is LongTerm in days since 1970-01-01 (9999-12-31), the
// pipeline's 长期有效.
var LongTermDays = int32(LongTerm.Unix() / 86400)

var newColumns = []string{"id", "id_bidx", "id_sealed", "id_hint", "id_type", "name", "gender", "birth_date",
	"phone_sealed", "phone_bidx", "phone_hint", "address", "status", "origin", "required_steps",
	"name_source", "phone_source", "address_source", "created_run", "updated_run",
	"kind", "legal_type", "rep_name", "rep_id_type", "rep_id_sealed", "rep_id_bidx", "rep_id_hint", "rep_nationality",
	"rep_id_valid_from", "rep_id_valid_to", "contact_name", "rep_source", "contact_source", "realname_status"}

// CopyNew COPYs the new accounts that next yields (false: no more) into
// the run's transaction, as fused accounts pending completion of
// schemas.FusedAccountSteps, natural or legal (a legal account starts
// unverified: only the login service verifies it). The ID number and phone are sealed straight
// into the COPY buffer while PostgreSQL inserts the rows sent before. It
// fails unless exactly want rows were stored.
func CopyNew(ctx context.Context, tx pgx.Tx, k *pii.Keyring, run, want int64, next func(*New) bool) error {
	if want == 0 {
		return nil
	}
	steps := make([]string, len(schemas.FusedAccountSteps))
	for i, s := range schemas.FusedAccountSteps {
		steps[i] = string(s)
	}
	stepsArray := database.EncodeTextArray(steps)
	var a New
	// The ids and blind indexes, for account_key once the accounts are in.
	ids, keys := make([]int64, 0, want), make([]byte, 0, want*pii.BlindIndexLen)
	n, err := database.CopyBinary(ctx, tx, "account", newColumns, func(r *database.CopyRow) (bool, error) {
		if !next(&a) {
			return false, nil
		}
		ids, keys = append(ids, a.ID), append(keys, a.Key...)
		r.Int64(a.ID)
		r.Bytea(a.Key)
		r.ByteaFunc(k.SealedLen(len(a.IDNumber)), func(b []byte) []byte { return k.AppendSealString(b, a.IDNumber, idAAD) })
		if a.Legal != nil {
			r.Text(CreditCodeHint(a.IDNumber))
		} else {
			r.TextFunc(func(b []byte) []byte { return pii.AppendMaskID(b, a.IDNumber) })
		}
		r.Text(a.IDType)
		r.Text(a.Name)
		r.Text(a.Gender)
		if a.HasBirth {
			r.Date(a.Birth)
		} else {
			r.Null()
		}
		appendPhone(r, k, a.Phone)
		r.Text(a.Address)
		r.Text(string(schemas.StatusPendingCompletion))
		r.Text(string(schemas.OriginFused))
		r.Raw(stepsArray)
		r.Int64Ptr(a.NameSource)
		r.Int64Ptr(a.PhoneSource)
		r.Int64Ptr(a.AddressSource)
		r.Int64(run)
		r.Int64(run)
		appendLegal(r, k, a.Legal)
		return true, nil
	})
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("copy into account: %d of %d rows", n, want)
	}
	i := 0
	n, err = database.CopyBinary(ctx, tx, "account_key", []string{"id", "id_bidx"}, func(r *database.CopyRow) (bool, error) {
		if i == len(ids) {
			return false, nil
		}
		r.Int64(ids[i])
		r.Bytea(keys[i*pii.BlindIndexLen : (i+1)*pii.BlindIndexLen])
		i++
		return true, nil
	})
	if err != nil {
		return idTaken(err)
	}
	if n != want {
		return fmt.Errorf("copy into account_key: %d of %d rows", n, want)
	}
	return nil
}

// appendLegal appends the legal columns of newColumns: NULLs for a
// natural person.
func appendLegal(r *database.CopyRow, k *pii.Keyring, l *NewLegal) {
	if l == nil {
		r.Text(string(schemas.KindNatural))
		for range 13 {
			r.Null()
		}
		return
	}
	r.Text(string(schemas.KindLegal))
	r.Text(string(l.Type))
	appendRep(r, k, l)
	r.Text(l.ContactName)
	r.Int64Ptr(l.RepSource)
	r.Int64Ptr(l.ContactSource)
	r.Text(string(schemas.RealnameUnverified))
}

// appendRep appends the representative's columns of a COPY row: name,
// ID type, the ID sealed, indexed and masked (NULL, NULL, "" for none),
// nationality and validity.
func appendRep(r *database.CopyRow, k *pii.Keyring, l *NewLegal) {
	r.Text(l.RepName)
	r.Text(l.RepIDType)
	if l.RepID == "" {
		r.Null()
		r.Null()
		r.Text("")
	} else {
		r.ByteaFunc(k.SealedLen(len(l.RepID)), func(b []byte) []byte { return k.AppendSealString(b, l.RepID, repIDAAD) })
		r.Bytea(l.RepKey)
		r.TextFunc(func(b []byte) []byte { return pii.AppendMaskID(b, l.RepID) })
	}
	r.Text(l.RepNationality)
	appendDate(r, l.RepValidFrom, l.HasRepValidFrom)
	appendDate(r, l.RepValidTo, l.HasRepValidTo)
}

// appendDate appends a date (days since 1970-01-01; LongTermDays as
// 'infinity') or NULL.
func appendDate(r *database.CopyRow, days int32, ok bool) {
	switch {
	case !ok:
		r.Null()
	case days >= LongTermDays:
		r.Int32(math.MaxInt32) // PostgreSQL's binary 'infinity'
	default:
		r.Date(days)
	}
}

// Source is where a stored value came from: its lineage row and the
// department row it names. Lineage nil: the value has no department
// source (the citizen set it, or there is no value).
type Source struct {
	Lineage   *int64
	Dept      string
	File      string // the file's SHA-256
	Row       int64
	Priority  int32
	UpdatedAt *time.Time // the record's update time, when the file had one
}

// Stored is an account as a run reads it to reconcile: its values that
// departments supply, with their sources. The phone is compared by blind
// index, never decrypted.
type Stored struct {
	ID            int64
	Key           []byte
	Name, Address string
	PhoneBidx     []byte // nil: no phone
	PhoneVerified bool
	NameSource    Source
	PhoneSource   Source
	AddressSource Source
	// A legal account's representative (compared by its ID's blind index,
	// never decrypted) and contact person, with their sources.
	Kind          schemas.AccountKind
	RepName       string
	RepBidx       []byte // nil: no representative's ID
	RepHint       string
	ContactName   string
	RepSource     Source
	ContactSource Source
	// NamePinned: staff resolved the name's conflict (工作人员核定, issue
	// 20's four eyes); it ranks as the citizen's.
	NamePinned bool
	// RepPinned: staff chose the representative (a conflict of
	// representatives, the same); it ranks as the enterprise's own.
	RepPinned bool
}

// CitizenRep and CitizenContact report whether a legal account's
// representative or contact person is the registrant's (set without a
// department source).
func (s *Stored) CitizenRep() bool {
	return (s.RepName != "" || s.RepBidx != nil) && (s.RepSource.Lineage == nil || s.RepPinned)
}
func (s *Stored) CitizenContact() bool { return s.ContactName != "" && s.ContactSource.Lineage == nil }

// CitizenName, CitizenAddress and CitizenPhone report whether a value is
// the citizen's: set without a department source (at registration or
// first login), for the name also one staff pinned, or, for the phone, verified by the citizen whatever its
// source. A citizen's value outranks every department.
func (s *Stored) CitizenName() bool {
	return s.Name != "" && (s.NameSource.Lineage == nil || s.NamePinned)
}
func (s *Stored) CitizenAddress() bool { return s.Address != "" && s.AddressSource.Lineage == nil }
func (s *Stored) CitizenPhone() bool {
	return s.PhoneBidx != nil && (s.PhoneVerified || s.PhoneSource.Lineage == nil)
}

// ReadStored calls each for every stored account among the n keys (key(i)
// is the i-th), in the caller's transaction.
func ReadStored(ctx context.Context, tx pgx.Tx, n int, key func(i int) []byte, each func(*Stored)) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE stage_key (bidx bytea NOT NULL) ON COMMIT DROP`); err != nil {
		return err
	}
	i := 0
	if _, err := database.CopyBinary(ctx, tx, "stage_key", []string{"bidx"}, func(r *database.CopyRow) (bool, error) {
		if i == n {
			return false, nil
		}
		r.Bytea(key(i))
		i++
		return true, nil
	}); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `
		SELECT a.id, a.id_bidx, a.phone_verified, a.name, a.phone_bidx, a.address,
		       a.name_source, fn.dept, fn.sha256, ln.row_num, ln.priority, ln.record_updated_at,
		       a.phone_source, fp.dept, fp.sha256, lp.row_num, lp.priority, lp.record_updated_at,
		       a.address_source, fa.dept, fa.sha256, la.row_num, la.priority, la.record_updated_at,
		       a.kind, coalesce(a.rep_name, ''), a.rep_id_bidx, coalesce(a.rep_id_hint, ''), coalesce(a.contact_name, ''),
		       a.rep_source, fr.dept, fr.sha256, lr.row_num, lr.priority, lr.record_updated_at,
		       a.contact_source, fc.dept, fc.sha256, lc.row_num, lc.priority, lc.record_updated_at,
		       a.name_pinned, a.rep_pinned
		FROM stage_key s JOIN account a ON a.id_bidx = s.bidx
		LEFT JOIN account_lineage ln ON ln.account_bidx = a.id_bidx AND ln.id = a.name_source LEFT JOIN source_file fn ON fn.id = ln.file_id
		LEFT JOIN account_lineage lp ON lp.account_bidx = a.id_bidx AND lp.id = a.phone_source LEFT JOIN source_file fp ON fp.id = lp.file_id
		LEFT JOIN account_lineage la ON la.account_bidx = a.id_bidx AND la.id = a.address_source LEFT JOIN source_file fa ON fa.id = la.file_id
		LEFT JOIN account_lineage lr ON lr.account_bidx = a.id_bidx AND lr.id = a.rep_source LEFT JOIN source_file fr ON fr.id = lr.file_id
		LEFT JOIN account_lineage lc ON lc.account_bidx = a.id_bidx AND lc.id = a.contact_source LEFT JOIN source_file fc ON fc.id = lc.file_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s Stored
		var src [5]nullSource
		if err := rows.Scan(&s.ID, &s.Key, &s.PhoneVerified, &s.Name, &s.PhoneBidx, &s.Address,
			&src[0].lineage, &src[0].dept, &src[0].file, &src[0].row, &src[0].priority, &src[0].updated,
			&src[1].lineage, &src[1].dept, &src[1].file, &src[1].row, &src[1].priority, &src[1].updated,
			&src[2].lineage, &src[2].dept, &src[2].file, &src[2].row, &src[2].priority, &src[2].updated,
			&s.Kind, &s.RepName, &s.RepBidx, &s.RepHint, &s.ContactName,
			&src[3].lineage, &src[3].dept, &src[3].file, &src[3].row, &src[3].priority, &src[3].updated,
			&src[4].lineage, &src[4].dept, &src[4].file, &src[4].row, &src[4].priority, &src[4].updated,
			&s.NamePinned, &s.RepPinned); err != nil {
			return err
		}
		s.NameSource, s.PhoneSource, s.AddressSource = src[0].source(), src[1].source(), src[2].source()
		s.RepSource, s.ContactSource = src[3].source(), src[4].source()
		each(&s)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	// A run loading in batches stages each batch's keys anew.
	_, err = tx.Exec(ctx, `DROP TABLE stage_key`)
	return err
}

type nullSource struct {
	lineage    *int64
	dept, file *string
	row        *int64
	priority   *int32
	updated    *time.Time
}

func (n nullSource) source() Source {
	s := Source{Lineage: n.lineage, UpdatedAt: n.updated}
	if n.dept != nil {
		s.Dept, s.File, s.Row, s.Priority = *n.dept, *n.file, *n.row, *n.priority
	}
	return s
}

// Update is what a run changes in a stored account: each value set with
// its source, decided on the account as the run read it (Was).
type Update struct {
	ID                                     int64
	SetName, SetAddress, SetPhone          bool
	Name, Address, Phone                   string
	NameSource, AddressSource, PhoneSource *int64
	// A legal account's representative (Rep: all its fields, RepSource
	// and ContactSource in it) and contact person.
	SetRep, SetContact bool
	Rep                *NewLegal
	Was                *Stored
}

// ApplyUpdates writes a run's updates (staged by COPY, applied by one
// UPDATE), sealing the phones as they are sent. An account's status,
// completion state, password and counters are never touched. The
// decisions were taken on the accounts as the run read them, and the
// login service may change an address or phone meanwhile (the completion
// sets the citizen's, an SMS login verifies the phone): an address or
// phone is written only over the one the run read, compared on the row as
// it is now (also after waiting for the login service's row lock), so the
// citizen's change stays. Only imports change names, one at a time.
func ApplyUpdates(ctx context.Context, tx pgx.Tx, k *pii.Keyring, run int64, updates []Update) error {
	if len(updates) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE stage_update (
		id bigint, set_name bool, name text, name_source bigint, set_address bool, address text, address_source bigint,
		set_phone bool, phone_sealed bytea, phone_bidx bytea, phone_hint text, phone_source bigint,
		was_address text, was_address_source bigint, was_phone_bidx bytea, was_phone_source bigint, was_phone_verified bool,
		set_rep bool, rep_name text, rep_id_type text, rep_id_sealed bytea, rep_id_bidx bytea, rep_id_hint text, rep_nationality text,
		rep_id_valid_from date, rep_id_valid_to date, rep_source bigint, was_rep_name text, was_rep_id_bidx bytea, was_rep_source bigint,
		set_contact bool, contact_name text, contact_source bigint, was_contact_name text, was_contact_source bigint) ON COMMIT DROP`); err != nil {
		return err
	}
	if err := database.CopyAll(ctx, tx, "stage_update", []string{"id", "set_name", "name", "name_source", "set_address", "address", "address_source",
		"set_phone", "phone_sealed", "phone_bidx", "phone_hint", "phone_source",
		"was_address", "was_address_source", "was_phone_bidx", "was_phone_source", "was_phone_verified",
		"set_rep", "rep_name", "rep_id_type", "rep_id_sealed", "rep_id_bidx", "rep_id_hint", "rep_nationality",
		"rep_id_valid_from", "rep_id_valid_to", "rep_source", "was_rep_name", "was_rep_id_bidx", "was_rep_source",
		"set_contact", "contact_name", "contact_source", "was_contact_name", "was_contact_source"}, updates, func(r *database.CopyRow, u *Update) {
		r.Int64(u.ID)
		r.Bool(u.SetName)
		r.Text(u.Name)
		r.Int64Ptr(u.NameSource)
		r.Bool(u.SetAddress)
		r.Text(u.Address)
		r.Int64Ptr(u.AddressSource)
		r.Bool(u.SetPhone)
		if u.SetPhone {
			appendPhone(r, k, u.Phone)
		} else {
			appendPhone(r, k, "")
		}
		r.Int64Ptr(u.PhoneSource)
		r.Text(u.Was.Address)
		r.Int64Ptr(u.Was.AddressSource.Lineage)
		r.Bytea(u.Was.PhoneBidx)
		r.Int64Ptr(u.Was.PhoneSource.Lineage)
		r.Bool(u.Was.PhoneVerified)
		appendRepUpdate(r, k, u)
	}); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `
		UPDATE account a SET
			name           = CASE WHEN s.set_name AND NOT a.name_pinned THEN s.name ELSE a.name END,
			name_source    = CASE WHEN s.set_name AND NOT a.name_pinned THEN s.name_source ELSE a.name_source END,
			address        = CASE WHEN s.set_address AND `+addressAsRead+` THEN s.address ELSE a.address END,
			address_source = CASE WHEN s.set_address AND `+addressAsRead+` THEN s.address_source ELSE a.address_source END,
			phone_sealed   = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_sealed ELSE a.phone_sealed END,
			phone_bidx     = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_bidx ELSE a.phone_bidx END,
			phone_hint     = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_hint ELSE a.phone_hint END,
			phone_source   = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_source ELSE a.phone_source END,
			rep_name          = CASE WHEN s.set_rep AND `+repAsRead+` THEN s.rep_name ELSE a.rep_name END,
			rep_id_type       = CASE WHEN s.set_rep AND `+repAsRead+` THEN s.rep_id_type ELSE a.rep_id_type END,
			rep_id_sealed     = CASE WHEN s.set_rep AND `+repAsRead+` THEN s.rep_id_sealed ELSE a.rep_id_sealed END,
			rep_id_bidx       = CASE WHEN s.set_rep AND `+repAsRead+` THEN s.rep_id_bidx ELSE a.rep_id_bidx END,
			rep_id_hint       = CASE WHEN s.set_rep AND `+repAsRead+` THEN s.rep_id_hint ELSE a.rep_id_hint END,
			rep_nationality   = CASE WHEN s.set_rep AND `+repAsRead+` THEN s.rep_nationality ELSE a.rep_nationality END,
			rep_id_valid_from = CASE WHEN s.set_rep AND `+repAsRead+` THEN s.rep_id_valid_from ELSE a.rep_id_valid_from END,
			rep_id_valid_to   = CASE WHEN s.set_rep AND `+repAsRead+` THEN s.rep_id_valid_to ELSE a.rep_id_valid_to END,
			rep_source        = CASE WHEN s.set_rep AND `+repAsRead+` THEN s.rep_source ELSE a.rep_source END,
			contact_name      = CASE WHEN s.set_contact AND `+contactAsRead+` THEN s.contact_name ELSE a.contact_name END,
			contact_source    = CASE WHEN s.set_contact AND `+contactAsRead+` THEN s.contact_source ELSE a.contact_source END,
			updated_run    = $1,
			updated_at     = now()
		FROM stage_update s
		WHERE a.id = s.id`, run)
	if err != nil {
		return err
	}
	// A run loading in batches stages each batch's updates anew.
	_, err = tx.Exec(ctx, `DROP TABLE stage_update`)
	return err
}

// addressAsRead and phoneAsRead hold when an account's address or phone is
// still the one the run read (stage_update s, account a).
const (
	addressAsRead = `(a.address, a.address_source) IS NOT DISTINCT FROM (s.was_address, s.was_address_source)`
	phoneAsRead   = `(a.phone_bidx, a.phone_source, a.phone_verified) IS NOT DISTINCT FROM (s.was_phone_bidx, s.was_phone_source, s.was_phone_verified)`
	repAsRead     = `NOT a.rep_pinned AND (coalesce(a.rep_name, ''), a.rep_id_bidx, a.rep_source) IS NOT DISTINCT FROM (s.was_rep_name, s.was_rep_id_bidx, s.was_rep_source)`
	contactAsRead = `(coalesce(a.contact_name, ''), a.contact_source) IS NOT DISTINCT FROM (s.was_contact_name, s.was_contact_source)`
)

// appendRepUpdate appends an update's representative and contact columns
// of stage_update.
func appendRepUpdate(r *database.CopyRow, k *pii.Keyring, u *Update) {
	l := u.Rep
	r.Bool(u.SetRep)
	if !u.SetRep || l == nil {
		for range 9 {
			r.Null()
		}
	} else {
		appendRep(r, k, l)
		r.Int64Ptr(l.RepSource)
	}
	r.Text(u.Was.RepName)
	r.Bytea(u.Was.RepBidx)
	r.Int64Ptr(u.Was.RepSource.Lineage)
	r.Bool(u.SetContact)
	if !u.SetContact || l == nil {
		r.Null()
		r.Null()
	} else {
		r.Text(l.ContactName)
		r.Int64Ptr(l.ContactSource)
	}
	r.Text(u.Was.ContactName)
	r.Int64Ptr(u.Was.ContactSource.Lineage)
}

// ForeignSources counts, among the accounts ids, those with a value whose
// source is not a lineage row of that same account: the ledger check of a
// run that changed them.
func ForeignSources(ctx context.Context, q Querier, ids []int64) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT count(*) FROM (
		SELECT a.id FROM account a LEFT JOIN account_lineage l ON l.account_bidx = a.id_bidx
		WHERE a.id = ANY($1)
		GROUP BY a.id, a.name_source, a.phone_source, a.address_source, a.rep_source, a.contact_source
		HAVING NOT coalesce(bool_or(l.id = a.name_source) OR a.name_source IS NULL, false)
		    OR NOT coalesce(bool_or(l.id = a.phone_source) OR a.phone_source IS NULL, false)
		    OR NOT coalesce(bool_or(l.id = a.address_source) OR a.address_source IS NULL, false)
		    OR NOT coalesce(bool_or(l.id = a.rep_source) OR a.rep_source IS NULL, false)
		    OR NOT coalesce(bool_or(l.id = a.contact_source) OR a.contact_source IS NULL, false)) bad`, ids).Scan(&n)
	return n, err
}
