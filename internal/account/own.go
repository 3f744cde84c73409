package account

import (
	"context"
	"fmt"
)

// The citizen's own changes to an account: a password recovered (2.1.5)
// and a new bound phone (2.1.4). The login service checks who asks; the
// SQL that writes the account is here.

// SetPassword sets a recovered password: the password's failure count,
// level and lock are cleared (the guesses were of the old one). For an
// account pending completion it satisfies the completion's password step
// (the step leaves required_steps); the other steps, and the status, stay.
// false when the account can take no password (the operators locked or
// disabled it, or it is gone).
func SetPassword(ctx context.Context, q Querier, id int64, hash string) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE account SET password_hash = $2,
			password_failures = 0, password_locks = 0, password_locked_until = NULL,
			required_steps = array_remove(required_steps, 'password'), updated_at = now()
		WHERE id = $1 AND status IN ('active', 'pending_completion')`, id, hash)
	if err != nil {
		return false, fmt.Errorf("set password: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// PhoneBoundElsewhere reports whether the phone (blind index) is the
// verified phone of an account other than id: bound to another citizen.
func PhoneBoundElsewhere(ctx context.Context, q Querier, phoneBidx []byte, id int64) (bool, error) {
	var bound bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM account WHERE phone_bidx = $1 AND phone_verified AND id <> $2)`, phoneBidx, id).Scan(&bound)
	return bound, err
}

// SetPhone binds a new phone, proved by a code sent to it, to an active
// account: verified, the citizen's own (no department's data replaces
// it). It refuses (false) when the account is not active or the phone
// became another account's verified one meanwhile.
func SetPhone(ctx context.Context, q Querier, id int64, sealed, bidx []byte, hint string) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE account SET phone_sealed = $2, phone_bidx = $3, phone_hint = $4,
			phone_verified = true, phone_source = NULL, updated_at = now()
		WHERE id = $1 AND status = 'active'
			AND NOT EXISTS (SELECT 1 FROM account o WHERE o.phone_bidx = $3 AND o.phone_verified AND o.id <> $1)`, id, sealed, bidx, hint)
	if err != nil {
		return false, fmt.Errorf("set phone: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetPhoneByOperator binds a phone an operator checked on mailed
// documents (authsvc admin set-phone), in the caller's transaction:
// verified, the holder's own, whatever the account's status but
// disabled. It refuses (false) when the account is disabled or the phone
// is another account's verified one.
func SetPhoneByOperator(ctx context.Context, q Querier, id int64, sealed, bidx []byte, hint string) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE account SET phone_sealed = $2, phone_bidx = $3, phone_hint = $4,
			phone_verified = true, phone_source = NULL, updated_at = now()
		WHERE id = $1 AND status <> 'disabled'
			AND NOT EXISTS (SELECT 1 FROM account o WHERE o.phone_bidx = $3 AND o.phone_verified AND o.id <> $1)`, id, sealed, bidx, hint)
	if err != nil {
		return false, fmt.Errorf("set phone by operator: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
