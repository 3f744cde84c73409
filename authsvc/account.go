package authsvc

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idfusion/idfusion/cleanse"
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
// the blind index was computed on: the fusion pipeline's own rule
// (cleanse.ParseID: white space and invisible characters dropped,
// full-width forms folded, x upper-cased, a 15-digit legacy number
// converted to its 18 characters), so a number is found however it was
// exported or typed. A number that is not valid is only normalized
// (cleanse.NormalizeID): it finds no account.
func NormalizeIDNumber(s string) string {
	if info, code := cleanse.ParseID(s, "", false); code == "" {
		return info.Number
	}
	return cleanse.NormalizeID(s)
}

// NormalizePhone reduces a typed mainland mobile number to its 11 digits
// by the pipeline's rule (cleanse.NormalizePhone: full-width digits,
// spaces, dashes, dots, +86/0086); anything else comes back trimmed and
// fails validPhone.
func NormalizePhone(s string) string {
	if p, ok := cleanse.NormalizePhone(s); ok {
		return p
	}
	return strings.TrimSpace(s)
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
	return s.cfg.Keyring.BlindIndex(string(schemas.FieldPhone), NormalizePhone(phone))
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

// openPhone opens a sealed phone ("" for none).
func (s *Server) openPhone(sealed []byte) (string, error) {
	if sealed == nil {
		return "", nil
	}
	b, err := s.cfg.Keyring.Open(sealed, []byte(schemas.FieldPhone))
	return string(b), err
}

// locked reports whether the account's SMS-code and face logins (and its
// completion steps) are refused now: the operators' lock, or the lock of
// failed SMS codes and faces. The password's own lock is not here: it
// stops password logins only (claimPasswordTry).
func (s *Server) locked(a *account) bool {
	return a.status == schemas.StatusLocked || a.status == schemas.StatusDisabled ||
		(a.lockedUntil != nil && a.lockedUntil.After(s.cfg.Now()))
}

// failed counts a failed SMS code or face against the account; the
// MaxFailures-th in a row locks SMS-code and face logins for LockFor (and
// starts the count again for after the lock). Passwords have a count of
// their own (claimPasswordTry). accountID 0 counts against nobody: the
// statement matches no row and costs what a count does.
func (s *Server) failed(ctx context.Context, accountID int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE account SET
		locked_until    = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until END,
		failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END
		WHERE id = $1`, accountID, s.cfg.MaxFailures, s.cfg.Now().Add(s.cfg.LockFor))
	return err
}

// claimPasswordTry finds the account of an ID number that may log in with
// a password now and counts the try against it, in one statement: the
// MaxFailures-th try in a row locks password logins (only them), until
// passwordLockEnd. A successful password login (signIn) then clears the
// count, the level and the lock. nil when there is no such account: none,
// locked or disabled by the operators, password locked, or without a
// password.
func (s *Server) claimPasswordTry(ctx context.Context, idNumber string) (*account, error) {
	now := s.cfg.Now()
	a, err := scanAccount(s.pool.QueryRow(ctx, `UPDATE account SET
		password_locked_until = CASE WHEN password_failures + 1 >= $2 THEN `+passwordLockEnd+` ELSE password_locked_until END,
		password_locks        = CASE WHEN password_failures + 1 >= $2 THEN password_locks + 1 ELSE password_locks END,
		password_failures     = CASE WHEN password_failures + 1 >= $2 THEN 0 ELSE password_failures + 1 END
		WHERE id_bidx = $1 AND password_hash IS NOT NULL AND status NOT IN ('locked', 'disabled')
		  AND (password_locked_until IS NULL OR password_locked_until <= $3)
		RETURNING `+accountColumns,
		s.idIndex(idNumber), s.cfg.MaxFailures, now, s.cfg.LockFor.Microseconds(), s.cfg.PasswordLockMax.Microseconds(), s.passwordLockDoublings()))
	if errors.Is(err, database.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// passwordLockEnd is when a password lock set now ($3) ends: LockFor ($4,
// µs) doubled for each lock before it in a row, at most PasswordLockMax
// ($5, µs). The exponent stops at the doublings that reach the cap ($6),
// so the shift cannot overflow however many locks an attack ran into.
const passwordLockEnd = `$3::timestamptz + LEAST($4::bigint << LEAST(password_locks, $6::int), $5::bigint) * interval '1 microsecond'`

// passwordLockDoublings is how many doublings of LockFor reach
// PasswordLockMax.
func (s *Server) passwordLockDoublings() int {
	n := 0
	for d := s.cfg.LockFor; d < s.cfg.PasswordLockMax; d *= 2 {
		n++
	}
	return n
}

// loginReset is what a successful login by method clears, as the SET list
// of an UPDATE of the account and the condition that there is anything to
// clear. Each factor clears its own count only. A password clears the
// password's count, level and lock (a lock only its own claimed try can
// have set: see claimPasswordTry). An SMS code or a face clears the count
// of SMS codes and faces and leaves the password alone: while its lock
// runs, someone may still be guessing it, so the owner is in but the lock
// stays until its end, and the next lock still escalates.
func loginReset(method string) (set, cond string) {
	if method == "login_password" {
		return `password_failures = 0, password_locks = 0, password_locked_until = NULL`,
			`password_failures <> 0 OR password_locks <> 0 OR password_locked_until IS NOT NULL`
	}
	return `failed_attempts = 0, locked_until = NULL`, `failed_attempts <> 0 OR locked_until IS NOT NULL`
}

// succeeded clears the count of failed SMS codes and faces after a
// passed check.
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
