package account

import (
	"context"
	"errors"
	"time"

	"github.com/idfusion/idfusion/internal/database"
)

// Lockout is the policy of failed credentials. Each factor has a count
// of its own: the password's, whose locks escalate and stop password
// logins only, and the count of SMS codes and faces, whose lock stops
// those logins and the completion steps.
type Lockout struct {
	// MaxFailures failures in a row lock.
	MaxFailures int
	// LockFor is how long a lock lasts (a password lock: the first one).
	LockFor time.Duration
	// PasswordLockMax caps a password lock, doubled for each lock in a row.
	PasswordLockMax time.Duration
	// doublings is how many doublings of LockFor reach PasswordLockMax.
	doublings int
}

// NewLockout returns the policy; lockFor must be positive (the
// escalation doubles it).
func NewLockout(maxFailures int, lockFor, passwordLockMax time.Duration) Lockout {
	l := Lockout{MaxFailures: maxFailures, LockFor: lockFor, PasswordLockMax: passwordLockMax}
	for d := lockFor; d < passwordLockMax; d *= 2 {
		l.doublings++
	}
	return l
}

// CountFailure counts a failed SMS code or face against the account; the
// MaxFailures-th in a row locks SMS-code and face logins for LockFor (and
// starts the count again for after the lock). id 0 counts against nobody:
// the statement matches no row and costs what a count does.
func (l Lockout) CountFailure(ctx context.Context, q Querier, id int64, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE account SET
		locked_until    = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until END,
		failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END
		WHERE id = $1`, id, l.MaxFailures, now.Add(l.LockFor))
	return err
}

// ClaimPasswordTry finds the account of an ID number's blind index that
// may log in with a password now and counts the try against it, in one
// statement: the MaxFailures-th try in a row locks password logins (only
// them) until passwordLockEnd. A successful password login then clears
// the count, the level and the lock (ResetAfterLoginSQL). nil when there
// is no such account: none, locked or disabled by the operators, password
// locked, or without a password.
func (l Lockout) ClaimPasswordTry(ctx context.Context, q Querier, idBidx []byte, now time.Time) (*Account, error) {
	a, err := scan(q.QueryRow(ctx, `UPDATE account SET
		password_locked_until = CASE WHEN password_failures + 1 >= $2 THEN `+passwordLockEnd+` ELSE password_locked_until END,
		password_locks        = CASE WHEN password_failures + 1 >= $2 THEN password_locks + 1 ELSE password_locks END,
		password_failures     = CASE WHEN password_failures + 1 >= $2 THEN 0 ELSE password_failures + 1 END
		WHERE id_bidx = $1 AND password_hash IS NOT NULL AND status NOT IN ('locked', 'disabled')
		  AND (password_locked_until IS NULL OR password_locked_until <= $3)
		RETURNING `+columns,
		idBidx, l.MaxFailures, now, l.LockFor.Microseconds(), l.PasswordLockMax.Microseconds(), l.doublings))
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

// ClearFailures clears the count of failed SMS codes and faces after a
// passed check.
func ClearFailures(ctx context.Context, q Querier, id int64) error {
	_, err := q.Exec(ctx, `UPDATE account SET failed_attempts = 0 WHERE id = $1 AND failed_attempts <> 0`, id)
	return err
}

// ResetAfterLoginSQL is the UPDATE that a successful login by a factor
// clears, for the account whose id is parameter idParam (as "$3"), to be
// run in the login's own statement. Each factor clears its own count
// only. A password clears the password's count, level and lock (a lock
// only its own claimed try can have set: see ClaimPasswordTry). An SMS
// code or a face clears the count of SMS codes and faces and leaves the
// password alone: while its lock runs, someone may still be guessing it,
// so the owner is in but the lock stays until its end, and the next lock
// still escalates. The row is written only when there is anything to
// clear.
func ResetAfterLoginSQL(password bool, idParam string) string {
	if password {
		return `UPDATE account SET password_failures = 0, password_locks = 0, password_locked_until = NULL
			WHERE id = ` + idParam + ` AND (password_failures <> 0 OR password_locks <> 0 OR password_locked_until IS NOT NULL)`
	}
	return `UPDATE account SET failed_attempts = 0, locked_until = NULL
		WHERE id = ` + idParam + ` AND (failed_attempts <> 0 OR locked_until IS NOT NULL)`
}
