package account

import (
	"context"
	"fmt"
)

// Completion is what a citizen's first-login completion sets, applied at
// its last step. A nil field keeps the account's value.
type Completion struct {
	// PhoneSealed, PhoneBidx and PhoneHint: a new phone the citizen
	// proved by a code sent to it.
	PhoneSealed, PhoneBidx []byte
	PhoneHint              *string
	// PhoneProvedBidx: the phone on record that a login code proved in
	// the same flow. It becomes verified only if it is still the one on
	// record (an import may have changed it since).
	PhoneProvedBidx []byte
	Address         *string
	PasswordHash    *string
	// ContactName: a legal account's contact person, confirmed at ①.
	ContactName *string
}

// Complete applies a completion to an account pending completion and
// makes it active, in the caller's transaction (which should hold the
// account's row lock: ByID forUpdate). Values the citizen set lose their
// department source: no import will replace them. false when the account
// is no longer pending (an operator locked it, or another session
// completed it).
func Complete(ctx context.Context, q Querier, id int64, c Completion) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE account SET
			phone_sealed   = COALESCE($2, phone_sealed),
			phone_bidx     = COALESCE($3, phone_bidx),
			phone_hint     = COALESCE($4, phone_hint),
			phone_verified = phone_verified OR $2::bytea IS NOT NULL OR COALESCE(phone_bidx = $5, false),
			phone_source   = CASE WHEN $2::bytea IS NOT NULL OR phone_bidx = $5 THEN NULL ELSE phone_source END,
			address        = COALESCE($6, address),
			address_source = CASE WHEN $6::text IS NULL THEN address_source ELSE NULL END,
			password_hash  = COALESCE($7, password_hash),
			contact_name   = COALESCE($8, contact_name),
			contact_source = CASE WHEN $8::text IS NULL THEN contact_source ELSE NULL END,
			status = 'active', required_steps = '{}', updated_at = now(),
			realname_level = CASE WHEN kind = 'natural' THEN 'LV3' ELSE realname_level END
		WHERE id = $1 AND status = 'pending_completion'`,
		id, c.PhoneSealed, c.PhoneBidx, c.PhoneHint, c.PhoneProvedBidx, c.Address, c.PasswordHash, c.ContactName)
	if err != nil {
		return false, fmt.Errorf("complete account: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// VerifyPhone marks the phone on record verified, and the citizen's own,
// after a login code sent to it: no department's data will replace it.
// phoneBidx is the phone the code was sent to; if an import replaced it
// meanwhile, nothing changes. Only an active account's phone is verified
// this way: a recycled number a department still lists must not become
// the account's own before the completion's face check, so one pending
// completion verifies it only with the completion
// (Completion.PhoneProvedBidx). It reports whether the phone is verified
// now.
func VerifyPhone(ctx context.Context, q Querier, id int64, phoneBidx []byte) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE account SET phone_verified = true, phone_source = NULL
		WHERE id = $1 AND phone_bidx = $2 AND status = 'active'`, id, phoneBidx)
	return tag.RowsAffected() == 1, err
}
