package authsvc

// The account as the login service uses it. The table, its rules and its
// SQL are internal/account's; this file binds them to the service's
// configuration.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// querier is what both a pool and a transaction offer.
type querier = account.Querier

// idIndex is the blind index of a typed ID number, normalized by the
// pipeline's rule (account.NormalizeID).
func (s *Server) idIndex(typed string) []byte {
	return account.IDIndex(s.cfg.Keyring, account.NormalizeID(typed))
}

// phoneIndex is the blind index of a typed phone (account.NormalizePhone).
func (s *Server) phoneIndex(typed string) []byte {
	return account.PhoneIndex(s.cfg.Keyring, account.NormalizePhone(typed))
}

// lookup finds the account of a typed ID number; nil (no error) when
// there is none.
func (s *Server) lookup(ctx context.Context, idNumber string) (*account.Account, error) {
	return account.ByIDIndex(ctx, s.pool, s.idIndex(idNumber))
}

// principal is whose accounts a login form names: the citizens' (个人登录,
// by ID number) or the legal persons' (法人登录, by credit code). One
// login mechanism serves both; only finding the account differs
// (principal.key).
type principal struct {
	kind schemas.AccountKind
	// field is the form's and the JSON's name of the typed key.
	field string
	// tab and smsTab are the login page's tabs of the password and the
	// SMS-code forms.
	tab, smsTab string
	// path is where the forms post (path+"/password", path+"/sms"…).
	path string
	// sentNotice answers a send of a login code.
	sentNotice string
}

var (
	personal    = &principal{kind: schemas.KindNatural, field: "id_number", tab: "password", smsTab: "sms", path: "/login", sentNotice: codeSentNotice}
	legalPerson = &principal{kind: schemas.KindLegal, field: "credit_code", tab: "legal", smsTab: "legal-sms", path: "/login/legal", sentNotice: legalCodeSentNotice}
)

// key is the blind index of a typed key and the masked subject for the
// audit log. A citizen's key is an ID number (account.NormalizeID and
// account.IDIndex); a legal person's a credit code, full-width, lower case
// and spaces folded (account.NormalizeCreditCode), in the credit codes'
// own blind-index domain: no ID number typed on the 法人登录 form and no
// credit code typed on the 个人登录 form can name an account. A text that
// is no valid credit code still gets an index, of nothing, so the login
// goes on at the same cost. byUsername: a valid username names its
// account of the principal's kind (account.IDIndexByUsername) when one
// has it.
func (s *Server) key(ctx context.Context, p *principal, typed string, byUsername bool) (subject string, bidx []byte, err error) {
	if p.kind == schemas.KindLegal {
		code, ok := account.NormalizeCreditCode(typed)
		if !ok {
			code = strings.ToUpper(strings.TrimSpace(typed))
			subject = pii.MaskID(code)
		} else {
			subject = account.CreditCodeHint(code)
		}
		bidx = account.CreditCodeIndex(s.cfg.Keyring, code)
	} else {
		id := account.NormalizeID(typed)
		subject, bidx = pii.MaskID(id), account.IDIndex(s.cfg.Keyring, id)
	}
	if !byUsername {
		return subject, bidx, nil
	}
	// A username names its account's key; anything else, a username-shaped
	// passport number too when no account has it as a username, is a key.
	// Either way the login goes on the same: same claim, same hash, same
	// answer.
	if typed := strings.TrimSpace(typed); account.ValidUsername(typed) {
		byName, err := account.IDIndexByUsername(ctx, s.pool, typed, p.kind)
		if err != nil {
			return "", nil, err
		}
		if byName != nil {
			subject, bidx = pii.MaskName(typed), byName
		}
	}
	return subject, bidx, nil
}

// refused is a login's refusal as the principal's form tells it.
func (p *principal) refused(err error) error {
	if p.kind == schemas.KindLegal && errors.Is(err, errLoginFailed) {
		return errLegalLoginFailed
	}
	return err
}

// lookupAs finds the account of a typed key of the principal (no
// username); nil (no error) when there is none.
func (s *Server) lookupAs(ctx context.Context, p *principal, typed string) (*account.Account, string, error) {
	subject, bidx, err := s.key(ctx, p, typed, false)
	if err != nil {
		return nil, "", err
	}
	a, err := account.ByIDIndex(ctx, s.pool, bidx)
	return a, subject, err
}

// idNumber opens an account's ID number, for the checks that need it (the
// password rules, the face result); never shown or logged.
func (s *Server) idNumber(a *account.Account) (string, error) {
	return account.OpenID(s.cfg.Keyring, a.IDSealed)
}

// openPhone opens a sealed phone ("" for none).
func (s *Server) openPhone(sealed []byte) (string, error) {
	return account.OpenPhone(s.cfg.Keyring, sealed)
}

// locked reports whether the account's SMS-code and face logins (and its
// completion steps) are refused now: the operators' lock, or the lock of
// failed SMS codes and faces. The password's own lock is not here: it
// stops password logins only (account.Lockout.ClaimPasswordTry).
func (s *Server) locked(a *account.Account) bool {
	return a.Status == schemas.StatusLocked || a.Status == schemas.StatusDisabled ||
		(a.LockedUntil != nil && a.LockedUntil.After(s.cfg.Now()))
}

// failed counts a failed SMS code or face against the account countOn (0:
// against nobody, at the same cost: see account.Lockout.CountFailure) and
// writes e, in one transaction: the count and the audit agree, whatever
// stops. The audit row first: see signIn.
func (s *Server) failed(ctx context.Context, countOn int64, e auditEvent) error {
	ctx = context.WithoutCancel(ctx)
	return database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.auditIn(ctx, tx, e); err != nil {
			return err
		}
		return s.lockout.CountFailure(ctx, tx, countOn, s.cfg.Now())
	})
}

// auditEvent is one line of the audit log.
type auditEvent struct {
	event, outcome string
	account        int64 // 0: none
	// bidx is the audit row's shard key (docs/scale-out.md §3.1): the
	// account's blind index (IDBidx), or, for a refusal without an
	// account, the blind index of the identifier tried. nil with an
	// account: auditIn reads the account's; nil without one: the zero key
	// (the column's default).
	bidx    []byte
	subject string
	ip      string
	detail  string
}

// zeroKeyHex is the shard key of the audit rows of no account and no
// identifier: 32 zero bytes, in hex (those rows land on one shard).
var zeroKeyHex = strings.Repeat("00", 32)

// audit writes an event on its own, outside any transaction: a refusal is
// recorded even when the work around it rolls back.
func (s *Server) audit(ctx context.Context, e auditEvent) {
	if err := s.auditIn(context.WithoutCancel(ctx), s.pool, e); err != nil {
		s.cfg.Logger.Error("audit_failed", slog.String("event", e.event), errAttr(err))
	}
}

// auditIn writes an event with q: in a transaction, with what it records.
func (s *Server) auditIn(ctx context.Context, q querier, e auditEvent) error {
	var acc *int64
	if e.account != 0 {
		acc = &e.account
		if e.bidx == nil {
			// The caller holds only the account's id (a session's): one
			// more read until the session carries the key
			// (docs/scale-out.md §4).
			err := q.QueryRow(ctx, `SELECT id_bidx FROM account WHERE id = $1`, e.account).Scan(&e.bidx)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("audit %s: the account's key: %w", e.event, err)
			}
		}
	}
	_, err := q.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome, account_id, account_bidx, subject, ip, detail)
		VALUES ($1, $2, $3, $4, coalesce($5, '\x`+zeroKeyHex+`'::bytea), $6, $7, $8)`,
		s.cfg.Now(), e.event, e.outcome, acc, e.bidx, pii.Redact(e.subject), e.ip, pii.Redact(e.detail))
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.event, err)
	}
	return nil
}

// checkNewPassword checks a new password of the account against the rules
// (CheckPassword) with the account's own facts: its name, its ID number
// and phoneSealed, the phone it has (or will have). It returns the ID
// number and the phone opened, which the callers go on with.
func (s *Server) checkNewPassword(a *account.Account, phoneSealed []byte, password string) (idNumber, phone string, err error) {
	if idNumber, err = s.idNumber(a); err != nil {
		return "", "", err
	}
	if phone, err = s.openPhone(phoneSealed); err != nil {
		return "", "", err
	}
	return idNumber, phone, CheckPassword(password, PasswordFacts{Name: a.Name, IDNumber: idNumber, Phone: phone})
}
