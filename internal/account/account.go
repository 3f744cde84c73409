package account

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	ID            int64
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
	RealnameLevel string     // LV1, LV2 or LV3
}

// StepNames are the completion steps left, as the required_steps array
// holds them.
func (a *Account) StepNames() []string {
	out := make([]string, len(a.Steps))
	for i, s := range a.Steps {
		out[i] = string(s)
	}
	return out
}

const columns = `id, status, required_steps, name, id_type, id_hint, id_sealed, phone_sealed, phone_bidx, phone_hint,
	phone_verified, address, password_hash, locked_until, username, realname_level`

func scan(row pgx.Row) (*Account, error) {
	var a Account
	var steps []string
	if err := row.Scan(&a.ID, &a.Status, &steps, &a.Name, &a.IDType, &a.IDHint, &a.IDSealed, &a.PhoneSealed, &a.PhoneBidx,
		&a.PhoneHint, &a.PhoneVerified, &a.Address, &a.PasswordHash, &a.LockedUntil, &a.Username, &a.RealnameLevel); err != nil {
		return nil, database.Translate(err)
	}
	for _, s := range steps {
		a.Steps = append(a.Steps, schemas.Step(s))
	}
	return &a, nil
}

// ByIDIndex finds the account of an ID number's blind index; nil (no
// error) when there is none.
func ByIDIndex(ctx context.Context, q Querier, bidx []byte) (*Account, error) {
	a, err := scan(q.QueryRow(ctx, `SELECT `+columns+` FROM account WHERE id_bidx = $1`, bidx))
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

// IDIndexOf is the blind index of an account's ID number.
func IDIndexOf(ctx context.Context, q Querier, id int64) ([]byte, error) {
	var bidx []byte
	err := q.QueryRow(ctx, `SELECT id_bidx FROM account WHERE id = $1`, id).Scan(&bidx)
	return bidx, database.Translate(err)
}

// ExistsSQL is the condition, for a statement of another table, that the
// account whose id is the expression idExpr exists.
func ExistsSQL(idExpr string) string {
	return `EXISTS (SELECT 1 FROM account acct WHERE acct.id = ` + idExpr + `)`
}

// ActiveSQL is the condition, for a statement of another table, that the
// account whose id is the expression idExpr is active: tokens and codes
// are good only while it is.
func ActiveSQL(idExpr string) string {
	return `EXISTS (SELECT 1 FROM account acct WHERE acct.id = ` + idExpr + ` AND acct.status = 'active')`
}
