package account

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/schemas"
)

// Querier is what both a pool and a transaction offer.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Account is what the login service knows of an account. Sensitive values
// stay sealed until a step needs them (OpenID, OpenPhone).
type Account struct {
	ID int64
	// IDBidx is the blind index of the ID number (a legal person's: of its
	// credit code): the store's unique key of the account, and the
	// distribution key of the tables that hang on it (docs/scale-out.md).
	IDBidx        []byte
	Status        schemas.AccountStatus
	Steps         []schemas.Step // the completion steps left, in order
	Name          string
	IDType        string
	IDHint        string // the masked ID number
	IDSealed      []byte
	PhoneSealed   []byte // nil: no phone
	PhoneBidx     []byte
	PhoneHint     string
	PhoneVerified bool
	Address       string
	PasswordHash  *string
	LockedUntil   *time.Time // the lock of failed SMS codes and faces
	Username      *string    // nil: none (a fused account)
	RealnameLevel string     // LV1, LV2 or LV3 (a natural account's)
	Kind          schemas.AccountKind
	Legal         *Legal // nil for a natural account
}

// Legal is what a legal account has besides an account's values: its
// type, representative, contact person and real-name status. IDSealed,
// IDHint and Name of the Account are its credit code and name.
type Legal struct {
	Type                 schemas.LegalType
	RepName              string
	RepIDType            string
	RepIDSealed, RepBidx []byte // nil: no representative on record
	RepIDHint            string
	RepNationality       string
	// RepValidFrom and RepValidTo bound the representative's ID; RepValidTo
	// is LongTerm for 长期有效; nil: unknown.
	RepValidFrom, RepValidTo *time.Time
	ContactName              string
	Realname                 schemas.RealnameStatus
	RealnameCheckedAt        *time.Time
	RealnameSource           string
}

// LongTerm is the end of validity of an ID valid for a long time (长期有效),
// stored as the date 'infinity'.
var LongTerm = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// IsLegal reports whether the account is a legal person's.
func (a *Account) IsLegal() bool { return a.Kind == schemas.KindLegal }

// StepNames are the completion steps left, as the required_steps array
// holds them.
func (a *Account) StepNames() []string {
	out := make([]string, len(a.Steps))
	for i, s := range a.Steps {
		out[i] = string(s)
	}
	return out
}

const columns = `id, id_bidx, status, required_steps, name, id_type, id_hint, id_sealed, phone_sealed, phone_bidx, phone_hint,
	phone_verified, address, password_hash, locked_until, username, realname_level, kind,
	legal_type, coalesce(rep_name, ''), coalesce(rep_id_type, ''), rep_id_sealed, rep_id_bidx, coalesce(rep_id_hint, ''),
	coalesce(rep_nationality, ''), rep_id_valid_from, rep_id_valid_to, coalesce(contact_name, ''), realname_status,
	realname_checked_at, coalesce(realname_source, '')`

func scan(row pgx.Row) (*Account, error) {
	var a Account
	var steps []string
	var l Legal
	var legalType, realname *string
	var from, to pgtype.Date
	if err := row.Scan(&a.ID, &a.IDBidx, &a.Status, &steps, &a.Name, &a.IDType, &a.IDHint, &a.IDSealed, &a.PhoneSealed, &a.PhoneBidx,
		&a.PhoneHint, &a.PhoneVerified, &a.Address, &a.PasswordHash, &a.LockedUntil, &a.Username, &a.RealnameLevel, &a.Kind,
		&legalType, &l.RepName, &l.RepIDType, &l.RepIDSealed, &l.RepBidx, &l.RepIDHint,
		&l.RepNationality, &from, &to, &l.ContactName, &realname,
		&l.RealnameCheckedAt, &l.RealnameSource); err != nil {
		return nil, database.Translate(err)
	}
	if a.Kind == schemas.KindLegal {
		l.Type, l.Realname = schemas.LegalType(*legalType), schemas.RealnameStatus(*realname)
		l.RepValidFrom, l.RepValidTo = date(from), date(to)
		a.Legal = &l
	}
	for _, s := range steps {
		a.Steps = append(a.Steps, schemas.Step(s))
	}
	return &a, nil
}

// date is a stored date as a time: LongTerm for 'infinity', nil for NULL.
func date(d pgtype.Date) *time.Time {
	switch {
	case !d.Valid:
		return nil
	case d.InfinityModifier == pgtype.Infinity:
		return &LongTerm
	}
	t := d.Time
	return &t
}

// DateOf is a scanned date as a time: LongTerm for 'infinity', nil for
// NULL.
func DateOf(d pgtype.Date) *time.Time { return date(d) }

// DateArg is a date for a statement's argument: LongTerm as 'infinity',
// nil as NULL.
func DateArg(t *time.Time) pgtype.Date {
	switch {
	case t == nil:
		return pgtype.Date{}
	case t.Equal(LongTerm):
		return pgtype.Date{InfinityModifier: pgtype.Infinity, Valid: true}
	}
	return pgtype.Date{Time: *t, Valid: true}
}

// DaysArg is DateArg of a date in days since 1970-01-01 (the pipeline's
// form; LongTermDays or later: 长期有效).
func DaysArg(days *int32) pgtype.Date {
	switch {
	case days == nil:
		return pgtype.Date{}
	case *days >= LongTermDays:
		return DateArg(&LongTerm)
	}
	t := time.Unix(int64(*days)*86400, 0).UTC()
	return DateArg(&t)
}

// ByIDIndex finds the account of an ID number's blind index; nil (no
// error) when there is none.
func ByIDIndex(ctx context.Context, q Querier, bidx []byte) (*Account, error) {
	return byIDIndex(ctx, q, bidx, "")
}

// LockByIDIndex is ByIDIndex locking the account's row (in a
// transaction): by its key, so on one shard (docs/scale-out.md).
func LockByIDIndex(ctx context.Context, q Querier, bidx []byte) (*Account, error) {
	return byIDIndex(ctx, q, bidx, " FOR UPDATE")
}

func byIDIndex(ctx context.Context, q Querier, bidx []byte, lock string) (*Account, error) {
	a, err := scan(q.QueryRow(ctx, `SELECT `+columns+` FROM account WHERE id_bidx = $1`+lock, bidx))
	if errors.Is(err, database.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// ByID reads an account, locking its row when forUpdate (in a
// transaction); database.ErrNotFound when there is none.
func ByID(ctx context.Context, q Querier, id int64, forUpdate bool) (*Account, error) {
	sql := `SELECT ` + columns + ` FROM account WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	return scan(q.QueryRow(ctx, sql, id))
}

// FaceIndexOf is the blind index (the citizens' domain, IDIndex) of the
// ID number whose face proves the account: a citizen's own, a legal
// account's representative's (nil when it has none on record: no face
// proves it).
func FaceIndexOf(ctx context.Context, q Querier, id int64) ([]byte, error) {
	var bidx []byte
	err := q.QueryRow(ctx, `SELECT CASE WHEN kind = 'legal' THEN rep_id_bidx ELSE id_bidx END FROM account WHERE id = $1`, id).Scan(&bidx)
	return bidx, database.Translate(err)
}

// ExistsSQL is the condition, for a statement of another table, that the
// account whose id is the expression idExpr exists.
func ExistsSQL(idExpr string) string {
	return `EXISTS (SELECT 1 FROM account acct WHERE acct.id = ` + idExpr + `)`
}

// KeyExistsSQL is the condition, for a row of a table of the account group
// (docs/scale-out.md), that its account exists: found by its blind index
// (bidxExpr), the group's distribution key, so that on Citus the check
// stays on the row's shard; and, unless idExpr is "", with that id.
func KeyExistsSQL(bidxExpr, idExpr string) string {
	cond := `acct.id_bidx = ` + bidxExpr
	if idExpr != "" {
		cond += ` AND acct.id = ` + idExpr
	}
	return `EXISTS (SELECT 1 FROM account acct WHERE ` + cond + `)`
}

// ActiveSQL is the condition, for a statement of another table, that the
// account whose id is the expression idExpr is active: tokens and codes
// are good only while it is.
func ActiveSQL(idExpr string) string {
	return `EXISTS (SELECT 1 FROM account acct WHERE acct.id = ` + idExpr + ` AND acct.status = 'active')`
}
