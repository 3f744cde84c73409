package account

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/schemas"
)

// usernameRE is the rule of a username, the same as the CHECK of
// account.username (migration 018): 4–20 letters, digits or underscore,
// starting with a letter.
var usernameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{3,19}$`)

// ValidUsername reports whether s is a username: of the rule the account
// table takes, and neither a valid ID number (an old foreigner's card is
// three letters and twelve digits) nor a valid credit code (its first
// character may be a letter). The login forms read those as the keys
// they are, so such a username would take the login of the account whose
// key it is.
func ValidUsername(s string) bool {
	if !usernameRE.MatchString(s) {
		return false
	}
	if _, code := cleanse.ParseID(s, "", false); code == "" {
		return false
	}
	_, isCode := NormalizeCreditCode(s)
	return !isCode
}

// Real-name levels.
const (
	LevelPhone = "LV1" // a phone only
	LevelID    = "LV2" // name and ID number checked
	LevelFace  = "LV3" // the face verified
)

// ErrUsernameTaken: another account has the username, whatever the case.
var ErrUsernameTaken = errors.New("account: username taken")

// ErrIDTaken: the ID number has an account already.
var ErrIDTaken = errors.New("account: ID number has an account")

// UsernameTaken reports whether an account has the username, compared
// without case.
func UsernameTaken(ctx context.Context, q Querier, username string) (bool, error) {
	var taken bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM account_username WHERE username_lower = lower($1))`, username).Scan(&taken)
	return taken, err
}

// IDIndexByUsername is the key's blind index (the ID number's, or a legal
// account's credit code's) of the account of the kind with the username,
// compared without case; nil when there is none. A password login by
// username goes on as by that key. A username names an account of its
// kind only: the 个人登录 form never finds a legal account by it, the
// 法人登录 form never a citizen's.
func IDIndexByUsername(ctx context.Context, q Querier, username string, kind schemas.AccountKind) ([]byte, error) {
	var bidx []byte
	// The lookup table first (routed by the username), then the account
	// by its blind index (routed by it): docs/scale-out.md §3.2.
	err := q.QueryRow(ctx, `SELECT id_bidx FROM account
		WHERE id_bidx = (SELECT account_bidx FROM account_username WHERE username_lower = lower($1)) AND kind = $2`,
		username, string(kind)).Scan(&bidx)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return nil, nil
	}
	return bidx, err
}

// PhoneBound reports whether an account has the phone (its blind index).
func PhoneBound(ctx context.Context, q Querier, phoneBidx []byte) (bool, error) {
	var bound bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM account WHERE phone_bidx = $1)`, phoneBidx).Scan(&bound)
	return bound, err
}

// Registration is a citizen's own account, as registration creates it
// once the face check of its ID number passed: active, LV3, its phone
// verified, the agreement's version recorded. Values are sealed already.
type Registration struct {
	Username               string
	Name                   string
	IDType                 string
	IDSealed, IDBidx       []byte
	IDHint                 string
	PhoneSealed, PhoneBidx []byte
	PhoneHint              string
	AgreementVersion       string
	AgreementAt            time.Time
}

// claimID records the id of a new account (blind index bidx) in
// account_key, where an id is unique nationally (docs/scale-out.md §3.2).
func claimID(ctx context.Context, q Querier, id int64, bidx []byte) error {
	_, err := q.Exec(ctx, `INSERT INTO account_key (id, id_bidx) VALUES ($1, $2)`, id, bidx)
	return idTaken(err)
}

// idTaken explains a unique violation of account_key: an id given to two
// accounts, which the transaction must not commit.
func idTaken(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "account_key_pkey" {
		return fmt.Errorf("an account id is another account's already (%s): %w", pe.Detail, err)
	}
	if err != nil {
		return fmt.Errorf("record the account id: %w", err)
	}
	return nil
}

// claimUsername records that the account id (blind index bidx) has the
// username, in the lookup table that keeps usernames unique across the
// country (account_username, docs/scale-out.md §3.2); ErrUsernameTaken
// when another account has it. q must be the transaction that writes the
// account: a refusal is to undo the account too.
func claimUsername(ctx context.Context, q Querier, username string, id int64, bidx []byte) error {
	_, err := q.Exec(ctx, `INSERT INTO account_username (username_lower, account_id, account_bidx) VALUES (lower($1), $2, $3)`,
		username, id, bidx)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "account_username_lower" {
		return ErrUsernameTaken
	}
	if err != nil {
		return fmt.Errorf("claim username: %w", err)
	}
	return nil
}

// Register creates the account of a registration and returns its id.
// ErrIDTaken when the ID number has an account (registered or fused
// meanwhile; the caller's transaction stays usable to read it),
// ErrUsernameTaken when the username does (then q, which must be a
// transaction, is to be rolled back: the account is written already).
func Register(ctx context.Context, q Querier, r Registration) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, phone_sealed, phone_bidx, phone_hint,
			phone_verified, status, origin, required_steps, username, realname_level, agreement_version, agreement_accepted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9, $10, '{}', $11, $12, $13, $14)
		ON CONFLICT (id_bidx) DO NOTHING RETURNING id`,
		r.IDBidx, r.IDSealed, r.IDHint, r.IDType, r.Name, r.PhoneSealed, r.PhoneBidx, r.PhoneHint,
		string(schemas.StatusActive), string(schemas.OriginRegistered), r.Username, LevelFace, r.AgreementVersion, r.AgreementAt).Scan(&id)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		// The ID number has an account: the caller's transaction is
		// still good to read it.
		return 0, ErrIDTaken
	}
	if err != nil {
		return 0, fmt.Errorf("register account: %w", err)
	}
	if err := claimID(ctx, q, id, r.IDBidx); err != nil {
		return 0, err
	}
	if err := claimUsername(ctx, q, r.Username, id, r.IDBidx); err != nil {
		return 0, err
	}
	return id, nil
}

// UpstreamRegistration is a citizen's account as an upstream OpenID
// provider's verified claims create it (authsvc's upstream login): active,
// at the level the provider warrants, no username and no password (the
// citizen sets one by 忘记密码), the phone as the provider gave it but not
// verified here (a code to it proves it later). Values are sealed already.
type UpstreamRegistration struct {
	Name                   string
	IDType                 string
	IDSealed, IDBidx       []byte
	IDHint                 string
	PhoneSealed, PhoneBidx []byte // nil: none
	PhoneHint              *string
	Level                  string
	AgreementVersion       string
	AgreementAt            time.Time
}

// RegisterUpstream creates the account of an upstream registration and
// returns its id; ErrIDTaken when the ID number has an account
// (registered or fused meanwhile).
func RegisterUpstream(ctx context.Context, q Querier, r UpstreamRegistration) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, phone_sealed, phone_bidx, phone_hint,
			phone_verified, status, origin, required_steps, realname_level, agreement_version, agreement_accepted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, ''), false, $9, $10, '{}', $11, $12, $13)
		ON CONFLICT (id_bidx) DO NOTHING RETURNING id`,
		r.IDBidx, r.IDSealed, r.IDHint, r.IDType, r.Name, r.PhoneSealed, r.PhoneBidx, r.PhoneHint,
		string(schemas.StatusActive), string(schemas.OriginRegistered), r.Level, r.AgreementVersion, r.AgreementAt).Scan(&id)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return 0, ErrIDTaken
	}
	if err != nil {
		return 0, fmt.Errorf("register upstream account: %w", err)
	}
	if err := claimID(ctx, q, id, r.IDBidx); err != nil {
		return 0, err
	}
	return id, nil
}
