package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/schemas"
)

// ErrCreditCodeTaken: the credit code has an account already.
var ErrCreditCodeTaken = errors.New("account: credit code has an account")

// LegalRegistration is a legal person's own account, as registration
// (2.2.1) creates it: active, the contact phone verified, the agreement's
// version recorded, its real-name status the verifier's verdict at
// registration. Values are sealed already; RepIDBidx is the blind index
// of the representative's ID number in the citizens' domain (IDIndex).
type LegalRegistration struct {
	// Username is the login name the registrant chose, "" for none: the
	// credit code is the login name then.
	Username               string
	Type                   schemas.LegalType
	Name                   string
	CodeSealed, CodeBidx   []byte
	CodeHint               string
	RepName, RepIDType     string
	RepIDSealed, RepIDBidx []byte
	RepIDHint              string
	RepNationality         string
	RepValidFrom           *time.Time
	RepValidTo             *time.Time // LongTerm: 长期有效
	ContactName            string
	Address                string
	PhoneSealed, PhoneBidx []byte
	PhoneHint              string
	PasswordHash           string
	AgreementVersion       string
	AgreementAt            time.Time
	// Verified: the enterprise interface matched at registration
	// (realname_source 'registration'), at CheckedAt. Else the account
	// starts unverified and its first scheduled check is NextCheck.
	Verified  bool
	CheckedAt time.Time
	NextCheck time.Time
}

// RegisterLegal creates the account of a legal registration and returns
// its id; ErrCreditCodeTaken when the credit code has an account (a
// credit code is never registered twice: ON CONFLICT (id_bidx) DO
// NOTHING). q should be a transaction: the password is written by an
// UPDATE of the new row (the login service never inserts a password).
func RegisterLegal(ctx context.Context, q Querier, r LegalRegistration) (int64, error) {
	status := schemas.RealnameUnverified
	var checkedAt, next *time.Time
	var source *string
	if r.Verified {
		status, checkedAt = schemas.RealnameVerified, &r.CheckedAt
		src := "registration"
		source = &src
	} else {
		next = &r.NextCheck
	}
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO account (kind, id_bidx, id_sealed, id_hint, id_type, name, phone_sealed, phone_bidx, phone_hint,
			phone_verified, address, status, origin, required_steps, agreement_version, agreement_accepted_at,
			legal_type, rep_name, rep_id_type, rep_id_sealed, rep_id_bidx, rep_id_hint, rep_nationality, rep_id_valid_from, rep_id_valid_to,
			contact_name, realname_status, realname_checked_at, realname_source, realname_next_check_at, username)
		VALUES ('legal', $1, $2, $3, $4, $5, $6, $7, $8, true, $9, $10, $11, '{}', $12, $13,
			$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)
		ON CONFLICT (id_bidx) DO NOTHING RETURNING id`,
		r.CodeBidx, r.CodeSealed, r.CodeHint, string(schemas.IDTypeUSCC), r.Name, r.PhoneSealed, r.PhoneBidx, r.PhoneHint,
		r.Address, string(schemas.StatusActive), string(schemas.OriginRegistered), r.AgreementVersion, r.AgreementAt,
		string(r.Type), r.RepName, r.RepIDType, r.RepIDSealed, r.RepIDBidx, r.RepIDHint, nilIfEmpty(r.RepNationality),
		DateArg(r.RepValidFrom), DateArg(r.RepValidTo), nilIfEmpty(r.ContactName), string(status), checkedAt, source, next,
		nilIfEmpty(r.Username)).Scan(&id)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return 0, ErrCreditCodeTaken
	}
	if err != nil {
		return 0, fmt.Errorf("register legal account: %w", err)
	}
	if err := claimID(ctx, q, id, r.CodeBidx); err != nil {
		return 0, err
	}
	if r.Username != "" {
		if err := claimUsername(ctx, q, r.Username, id, r.CodeBidx); err != nil {
			return 0, err
		}
	}
	if _, err := q.Exec(ctx, `UPDATE account SET password_hash = $2 WHERE id = $1`, id, r.PasswordHash); err != nil {
		return 0, fmt.Errorf("register legal account: password: %w", err)
	}
	return id, nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreditCodeTaken reports whether a legal account has the credit code
// (its blind index).
func CreditCodeTaken(ctx context.Context, q Querier, codeBidx []byte) (bool, error) {
	var taken bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM account WHERE id_bidx = $1)`, codeBidx).Scan(&taken)
	return taken, err
}

// RealnameCheck is an unverified legal account due for a scheduled check
// against the enterprise interface, with what the interface is asked.
type RealnameCheck struct {
	ID                 int64
	CodeSealed         []byte
	Name               string
	RepName, RepIDType string
	RepIDSealed        []byte // nil: no representative on record
	RepIDBidx          []byte
	Attempts           int
}

// ClaimRealnameChecks claims up to limit unverified legal accounts whose
// check is due at now — never checked first (a fused account the import
// created: no check scheduled yet), then oldest due first — by moving
// their next check to now+lease in one statement that skips rows another
// transaction holds (FOR UPDATE SKIP LOCKED). The claim is committed at
// once: no account row stays locked while the interface is asked (a
// login of the account would wait for it), and another instance of the
// job finds the claimed accounts not due until the lease ends, so two
// instances never check one account at once; a check whose process died
// is taken up again when its lease ends.
func ClaimRealnameChecks(ctx context.Context, q Querier, now time.Time, lease time.Duration, limit int) ([]RealnameCheck, error) {
	rows, err := q.Query(ctx, `UPDATE account a SET realname_next_check_at = $3
		FROM (SELECT id FROM account WHERE kind = 'legal' AND realname_status = 'unverified'
		        AND (realname_next_check_at IS NULL OR realname_next_check_at <= $1)
		      ORDER BY realname_next_check_at NULLS FIRST, id LIMIT $2 FOR UPDATE SKIP LOCKED) due
		WHERE a.id = due.id
		RETURNING a.id, a.id_sealed, a.name, coalesce(a.rep_name, ''), coalesce(a.rep_id_type, ''), a.rep_id_sealed, a.rep_id_bidx, a.realname_attempts`,
		now, limit, now.Add(lease))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RealnameCheck, error) {
		var c RealnameCheck
		err := r.Scan(&c.ID, &c.CodeSealed, &c.Name, &c.RepName, &c.RepIDType, &c.RepIDSealed, &c.RepIDBidx, &c.Attempts)
		return c, err
	})
}

// SetCheckedVerified marks a legal account verified by the scheduled check
// c at now, ending its checks: only while it still has the values c
// checked (its name and representative; an import or an upgrade may change
// them meanwhile) and is unverified. false when it does not.
func SetCheckedVerified(ctx context.Context, q Querier, c RealnameCheck, now time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE account SET realname_status = 'verified', realname_checked_at = $2, realname_source = 'scheduled',
		realname_next_check_at = NULL, realname_attempts = 0, updated_at = $2
		WHERE id = $1 AND kind = 'legal' AND realname_status = 'unverified'
		  AND name = $3 AND coalesce(rep_name, '') = $4 AND rep_id_bidx IS NOT DISTINCT FROM $5`, c.ID, now, c.Name, c.RepName, c.RepIDBidx)
	return tag.RowsAffected() == 1, err
}

// PostponeCheck records a check without a verdict and when the next one
// is due.
func PostponeCheck(ctx context.Context, q Querier, id int64, next time.Time) error {
	_, err := q.Exec(ctx, `UPDATE account SET realname_attempts = realname_attempts + 1, realname_next_check_at = $2
		WHERE id = $1 AND kind = 'legal' AND realname_status = 'unverified'`, id, next)
	return err
}

// LegalUpgrade is what a legal account's holder submits for 实名等级升级
// (2.2.5): the legal person's name and type and the representative; never
// the login name or the credit code.
type LegalUpgrade struct {
	Type                   schemas.LegalType
	Name                   string
	RepName, RepIDType     string
	RepIDSealed, RepIDBidx []byte
	RepIDHint              string
	RepNationality         string
	RepValidFrom           *time.Time
	RepValidTo             *time.Time
}

// ApplyLegalUpgrade writes a verified upgrade to a legal account: its
// values become the registrant's (the *_source lineage ends), its status
// verified by 'upgrade' at now.
func ApplyLegalUpgrade(ctx context.Context, q Querier, id int64, u LegalUpgrade, now time.Time) error {
	tag, err := q.Exec(ctx, `UPDATE account SET legal_type = $2, name = $3, name_source = NULL, rep_name = $4, rep_id_type = $5,
			rep_id_sealed = $6, rep_id_bidx = $7, rep_id_hint = $8, rep_nationality = $9, rep_id_valid_from = $10, rep_id_valid_to = $11,
			rep_source = NULL, name_pinned = false, rep_pinned = false, realname_status = 'verified', realname_checked_at = $12, realname_source = 'upgrade',
			realname_next_check_at = NULL, realname_attempts = 0, updated_at = $12
		WHERE id = $1 AND kind = 'legal'`,
		id, string(u.Type), u.Name, u.RepName, u.RepIDType, u.RepIDSealed, u.RepIDBidx, u.RepIDHint, nilIfEmpty(u.RepNationality),
		DateArg(u.RepValidFrom), DateArg(u.RepValidTo), now)
	if err != nil {
		return fmt.Errorf("legal upgrade: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return database.ErrNotFound
	}
	return nil
}
