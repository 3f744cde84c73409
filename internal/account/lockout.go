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

// TryLifetime is how long a claimed password try holds its place: longer
// than any try takes (the hash queue's wait, the hash and the outcome's
// statement), so a place still held after it was claimed by a process that
// died, and is given back.
const TryLifetime = time.Minute

// ErrTriesInFlight refuses a password try while the tries of the account
// in flight and its failures counted fill what the lock allows: the try
// may be made once one of them has ended.
var ErrTriesInFlight = errors.New("account: the password tries in flight fill what the lock allows")

// liveTries is the account's tries in flight at $3: none once
// password_tries_until has passed (their processes died).
const liveTries = `(CASE WHEN password_tries_until > $3 THEN password_tries ELSE 0 END)`

// canTryPassword: the account has a password and may log in with it at
// the parameter at ("$3").
func canTryPassword(at string) string {
	return `password_hash IS NOT NULL AND status NOT IN ('locked', 'disabled')
		AND (password_locked_until IS NULL OR password_locked_until <= ` + at + `)`
}

// ClaimPasswordTry finds the account of an ID number's blind index that
// may log in with a password now and holds a place for one try, before
// the slow hash: failures counted plus tries in flight stay within
// MaxFailures, so guesses sent together get no more comparisons than
// guesses sent one by one. The place is given back by the try's outcome,
// in the transaction that audits it (PasswordFailed, ResetAfterLoginSQL),
// or by ReleasePasswordTry when there is none; a claim counts nothing, so
// a try cut off (a crash, a client gone) is no failure. nil when there is
// no such account: none, locked or disabled by the operators, password
// locked, or without a password. ErrTriesInFlight when the account's
// tries in flight fill the places left.
func (l Lockout) ClaimPasswordTry(ctx context.Context, q Querier, idBidx []byte, now time.Time) (*Account, error) {
	a, err := scan(q.QueryRow(ctx, `UPDATE account SET
		password_tries       = `+liveTries+` + 1,
		password_tries_until = $3::timestamptz + $4 * interval '1 microsecond'
		WHERE id_bidx = $1 AND `+canTryPassword("$3")+` AND password_failures + `+liveTries+` < $2
		RETURNING `+columns,
		idBidx, l.MaxFailures, now, TryLifetime.Microseconds()))
	if !errors.Is(err, database.ErrNotFound) {
		return a, err
	}
	var full bool
	err = q.QueryRow(ctx, `SELECT `+canTryPassword("$2")+` FROM account WHERE id_bidx = $1`, idBidx, now).Scan(&full)
	switch {
	case errors.Is(database.Translate(err), database.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case full:
		return nil, ErrTriesInFlight
	}
	return nil, nil
}

// PasswordFailed counts a wrong password against the account and gives
// back its try's place: the MaxFailures-th failure in a row locks password
// logins (only them) until passwordLockEnd. Run it in the transaction
// that audits the failure: the count and the audit agree, whatever stops.
func (l Lockout) PasswordFailed(ctx context.Context, q Querier, id int64, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE account SET
		password_locked_until = CASE WHEN password_failures + 1 >= $2 THEN `+passwordLockEnd+` ELSE password_locked_until END,
		password_locks        = CASE WHEN password_failures + 1 >= $2 THEN password_locks + 1 ELSE password_locks END,
		password_failures     = CASE WHEN password_failures + 1 >= $2 THEN 0 ELSE password_failures + 1 END,
		password_tries        = GREATEST(password_tries - 1, 0)
		WHERE id = $1`,
		id, l.MaxFailures, now, l.LockFor.Microseconds(), l.PasswordLockMax.Microseconds(), l.doublings)
	return err
}

// ReleasePasswordTry gives back a try's place when the try has no
// outcome to record (the hash was not computed, the sign-in failed).
func ReleasePasswordTry(ctx context.Context, q Querier, id int64) error {
	_, err := q.Exec(ctx, `UPDATE account SET password_tries = GREATEST(password_tries - 1, 0) WHERE id = $1`, id)
	return err
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
// clears, for the account whose id is idParam (a parameter as "$3", or a
// subquery in parentheses), to be
// run in the login's own statement. Each factor clears its own count
// only. A password clears the password's count, level and lock (a lock
// set while its try was in flight was set by tries claimed beside it: the
// owner is in) and gives back its try's place (ClaimPasswordTry). An SMS
// code or a face clears the count of SMS codes and faces and leaves the
// password alone: while its lock runs, someone may still be guessing it,
// so the owner is in but the lock stays until its end, and the next lock
// still escalates; its row is written only when there is anything to
// clear.
func ResetAfterLoginSQL(password bool, idParam string) string {
	if password {
		return `UPDATE account SET password_failures = 0, password_locks = 0, password_locked_until = NULL,
			password_tries = GREATEST(password_tries - 1, 0) WHERE id = ` + idParam
	}
	return `UPDATE account SET failed_attempts = 0, locked_until = NULL
		WHERE id = ` + idParam + ` AND (failed_attempts <> 0 OR locked_until IS NOT NULL)`
}
