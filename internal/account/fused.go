package account

// The pipeline's side: new fused accounts, the stored accounts a run
// reconciles with, and the departments' values written to them.

import (
	"context"
	"fmt"
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
}

var newColumns = []string{"id", "id_bidx", "id_sealed", "id_hint", "id_type", "name", "gender", "birth_date",
	"phone_sealed", "phone_bidx", "phone_hint", "address", "status", "origin", "required_steps",
	"name_source", "phone_source", "address_source", "created_run", "updated_run"}

// CopyNew COPYs the new accounts that next yields (false: no more) into
// the run's transaction, as fused accounts pending completion of
// schemas.FusedAccountSteps. The ID number and phone are sealed straight
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
	n, err := database.CopyBinary(ctx, tx, "account", newColumns, func(r *database.CopyRow) (bool, error) {
		if !next(&a) {
			return false, nil
		}
		r.Int64(a.ID)
		r.Bytea(a.Key)
		r.ByteaFunc(k.SealedLen(len(a.IDNumber)), func(b []byte) []byte { return k.AppendSealString(b, a.IDNumber, idAAD) })
		r.TextFunc(func(b []byte) []byte { return pii.AppendMaskID(b, a.IDNumber) })
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
}

// CitizenName, CitizenAddress and CitizenPhone report whether a value is
// the citizen's: set without a department source (at registration or
// first login) or, for the phone, verified by the citizen whatever its
// source. A citizen's value outranks every department.
func (s *Stored) CitizenName() bool    { return s.Name != "" && s.NameSource.Lineage == nil }
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
		       a.address_source, fa.dept, fa.sha256, la.row_num, la.priority, la.record_updated_at
		FROM stage_key s JOIN account a ON a.id_bidx = s.bidx
		LEFT JOIN account_lineage ln ON ln.account_id = a.id AND ln.id = a.name_source LEFT JOIN source_file fn ON fn.id = ln.file_id
		LEFT JOIN account_lineage lp ON lp.account_id = a.id AND lp.id = a.phone_source LEFT JOIN source_file fp ON fp.id = lp.file_id
		LEFT JOIN account_lineage la ON la.account_id = a.id AND la.id = a.address_source LEFT JOIN source_file fa ON fa.id = la.file_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s Stored
		var src [3]nullSource
		if err := rows.Scan(&s.ID, &s.Key, &s.PhoneVerified, &s.Name, &s.PhoneBidx, &s.Address,
			&src[0].lineage, &src[0].dept, &src[0].file, &src[0].row, &src[0].priority, &src[0].updated,
			&src[1].lineage, &src[1].dept, &src[1].file, &src[1].row, &src[1].priority, &src[1].updated,
			&src[2].lineage, &src[2].dept, &src[2].file, &src[2].row, &src[2].priority, &src[2].updated); err != nil {
			return err
		}
		s.NameSource, s.PhoneSource, s.AddressSource = src[0].source(), src[1].source(), src[2].source()
		each(&s)
	}
	return rows.Err()
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
	Was                                    *Stored
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
		was_address text, was_address_source bigint, was_phone_bidx bytea, was_phone_source bigint, was_phone_verified bool) ON COMMIT DROP`); err != nil {
		return err
	}
	if err := database.CopyAll(ctx, tx, "stage_update", []string{"id", "set_name", "name", "name_source", "set_address", "address", "address_source",
		"set_phone", "phone_sealed", "phone_bidx", "phone_hint", "phone_source",
		"was_address", "was_address_source", "was_phone_bidx", "was_phone_source", "was_phone_verified"}, updates, func(r *database.CopyRow, u *Update) {
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
	}); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `
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
		WHERE a.id = s.id`, run)
	return err
}

// addressAsRead and phoneAsRead hold when an account's address or phone is
// still the one the run read (stage_update s, account a).
const (
	addressAsRead = `(a.address, a.address_source) IS NOT DISTINCT FROM (s.was_address, s.was_address_source)`
	phoneAsRead   = `(a.phone_bidx, a.phone_source, a.phone_verified) IS NOT DISTINCT FROM (s.was_phone_bidx, s.was_phone_source, s.was_phone_verified)`
)

// ForeignSources counts, among the accounts ids, those with a value whose
// source is not a lineage row of that same account: the ledger check of a
// run that changed them.
func ForeignSources(ctx context.Context, q Querier, ids []int64) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT count(*) FROM (
		SELECT a.id FROM account a LEFT JOIN account_lineage l ON l.account_id = a.id
		WHERE a.id = ANY($1)
		GROUP BY a.id
		HAVING NOT coalesce(bool_or(l.id = a.name_source) OR a.name_source IS NULL, false)
		    OR NOT coalesce(bool_or(l.id = a.phone_source) OR a.phone_source IS NULL, false)
		    OR NOT coalesce(bool_or(l.id = a.address_source) OR a.address_source IS NULL, false)) bad`, ids).Scan(&n)
	return n, err
}
