package authsvc

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// account is what the service knows of an account. Sensitive values stay
// sealed until a step needs them.
type account struct {
	id            int64
	status        schemas.AccountStatus
	steps         []schemas.Step
	name          string
	idType        string
	idHint        string
	idSealed      []byte
	phoneSealed   []byte
	phoneBidx     []byte
	phoneHint     string
	phoneVerified bool
	address       string
	passwordHash  *string
	lockedUntil   *time.Time
}

const accountColumns = `id, status, required_steps, name, id_type, id_hint, id_sealed, phone_sealed, phone_bidx, phone_hint,
	phone_verified, address, password_hash, locked_until`

func scanAccount(row pgx.Row) (*account, error) {
	var a account
	var steps []string
	if err := row.Scan(&a.id, &a.status, &steps, &a.name, &a.idType, &a.idHint, &a.idSealed, &a.phoneSealed, &a.phoneBidx,
		&a.phoneHint, &a.phoneVerified, &a.address, &a.passwordHash, &a.lockedUntil); err != nil {
		return nil, database.Translate(err)
	}
	for _, s := range steps {
		a.steps = append(a.steps, schemas.Step(s))
	}
	return &a, nil
}

// NormalizeIDNumber is the form of an ID number typed by a citizen that
// the blind index was computed on: no spaces, upper-case letters
// (a trailing x is the check character X).
func NormalizeIDNumber(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// NormalizePhone strips what people type around a mainland mobile number
// (spaces, dashes, +86/0086); the result is checked by the caller.
func NormalizePhone(s string) string {
	s = strings.NewReplacer(" ", "", "-", "", "\u3000", "").Replace(strings.TrimSpace(s))
	for _, p := range []string{"+86", "0086"} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

func validPhone(s string) bool {
	if len(s) != 11 || s[0] != '1' || s[1] < '3' {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (s *Server) idIndex(idNumber string) []byte {
	return s.cfg.Keyring.BlindIndex(string(schemas.FieldIDNumber), NormalizeIDNumber(idNumber))
}

func (s *Server) phoneIndex(phone string) []byte {
	return s.cfg.Keyring.BlindIndex(string(schemas.FieldPhone), phone)
}

// accountByIDNumber finds the account of an ID number; database.ErrNotFound
// when there is none.
func (s *Server) accountByIDNumber(ctx context.Context, q querier, idNumber string) (*account, error) {
	return scanAccount(q.QueryRow(ctx, `SELECT `+accountColumns+` FROM account WHERE id_bidx = $1`, s.idIndex(idNumber)))
}

// accountByID reads an account, locking its row when forUpdate.
func (s *Server) accountByID(ctx context.Context, q querier, id int64, forUpdate bool) (*account, error) {
	sql := `SELECT ` + accountColumns + ` FROM account WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	return scanAccount(q.QueryRow(ctx, sql, id))
}

// idNumber opens an account's ID number, for the checks that need it (the
// password rules, the face result); never shown or logged.
func (s *Server) idNumber(a *account) (string, error) {
	b, err := s.cfg.Keyring.Open(a.idSealed, []byte(schemas.FieldIDNumber))
	return string(b), err
}

func (s *Server) phone(a *account) (string, error) { return s.openPhone(a.phoneSealed) }

// openPhone opens a sealed phone ("" for none).
func (s *Server) openPhone(sealed []byte) (string, error) {
	if sealed == nil {
		return "", nil
	}
	b, err := s.cfg.Keyring.Open(sealed, []byte(schemas.FieldPhone))
	return string(b), err
}

// locked reports whether credentials of the account are refused now.
func (s *Server) locked(a *account) bool {
	return a.status == schemas.StatusLocked || a.status == schemas.StatusDisabled ||
		(a.lockedUntil != nil && a.lockedUntil.After(s.cfg.Now()))
}

// failed counts a failed credential check against the account; the
// MaxFailures-th in a row locks it for LockFor (and starts the count
// again for after the lock).
func (s *Server) failed(ctx context.Context, accountID int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE account SET
		locked_until    = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until END,
		failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END
		WHERE id = $1`, accountID, s.cfg.MaxFailures, s.cfg.Now().Add(s.cfg.LockFor))
	return err
}

// claimPasswordTry finds the account of an ID number that may log in with
// a password now and counts the try against it, in one statement (the
// MaxFailures-th try in a row locks it, as failed does; a success then
// clears both). nil when there is no such account: none, locked, disabled,
// or without a password.
func (s *Server) claimPasswordTry(ctx context.Context, idNumber string) (*account, error) {
	now := s.cfg.Now()
	a, err := scanAccount(s.pool.QueryRow(ctx, `UPDATE account SET
		locked_until    = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until END,
		failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END
		WHERE id_bidx = $1 AND password_hash IS NOT NULL AND status NOT IN ('locked', 'disabled')
		  AND (locked_until IS NULL OR locked_until <= $4)
		RETURNING `+accountColumns, s.idIndex(idNumber), s.cfg.MaxFailures, now.Add(s.cfg.LockFor), now))
	if errors.Is(err, database.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// succeeded clears the failure count after a passed check.
func (s *Server) succeeded(ctx context.Context, q querier, accountID int64) error {
	_, err := q.Exec(ctx, `UPDATE account SET failed_attempts = 0 WHERE id = $1 AND failed_attempts <> 0`, accountID)
	return err
}

// auditEvent is one line of the audit log.
type auditEvent struct {
	event, outcome string
	account        int64 // 0: none
	subject        string
	ip             string
	detail         string
}

// audit writes an event on its own, outside any transaction: a refusal is
// recorded even when the work around it rolls back.
func (s *Server) audit(ctx context.Context, e auditEvent) {
	var acc *int64
	if e.account != 0 {
		acc = &e.account
	}
	if _, err := s.pool.Exec(context.WithoutCancel(ctx), `INSERT INTO auth_audit (at, event, outcome, account_id, subject, ip, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.cfg.Now(), e.event, e.outcome, acc, pii.Redact(e.subject), e.ip, pii.Redact(e.detail)); err != nil {
		s.cfg.Logger.Error("audit_failed", errAttr(err))
	}
}
