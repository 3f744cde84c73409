package authsvc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// OperatorPhoneChange is a phone change the service staff make for an
// account whose phone is no longer usable, after checking the documents
// the holder mailed (2.2.3: 法定代表人身份证 + 营业执照 + 授权书; a citizen's
// likewise): `authsvc admin set-phone`, run by an operator as the owner.
// Exactly one of CreditCode (a legal account) and IDNumber (a citizen's).
type OperatorPhoneChange struct {
	CreditCode, IDNumber string
	Phone                string
	// Evidence is the reference of the mailed documents; Operator who
	// checked them. Both are audited with the change.
	Evidence, Operator string
}

// Errors of SetPhoneByOperator.
var (
	ErrNoSuchAccount = errors.New("no account has this credit code or ID number")
	ErrPhoneBound    = errors.New("the phone is another account's verified phone")
)

// SetPhoneByOperator binds the new phone (verified), ends every session of
// the account and audits the change with the evidence and the operator,
// in one transaction; then the old and the new phone get a notice. It
// returns the account's id.
func SetPhoneByOperator(ctx context.Context, pool *pgxpool.Pool, k *pii.Keyring, sms SMSSender, c OperatorPhoneChange, now time.Time) (int64, error) {
	c.Evidence, c.Operator = strings.TrimSpace(c.Evidence), strings.TrimSpace(c.Operator)
	phone := account.NormalizePhone(c.Phone)
	switch {
	case (c.CreditCode == "") == (c.IDNumber == ""):
		return 0, errors.New("name the account by exactly one of --credit-code and --id-number")
	case !account.ValidPhone(phone):
		return 0, errors.New("--phone is not a mainland mobile number")
	case c.Evidence == "" || c.Operator == "":
		return 0, errors.New("--evidence and --operator are required")
	}
	var bidx []byte
	if c.CreditCode != "" {
		code, ok := account.NormalizeCreditCode(c.CreditCode)
		if !ok {
			return 0, errors.New("--credit-code is not a valid unified social credit code")
		}
		bidx = account.CreditCodeIndex(k, code)
	} else {
		bidx = account.IDIndex(k, account.NormalizeID(c.IDNumber))
	}
	found, err := account.ByIDIndex(ctx, pool, bidx)
	if err != nil {
		return 0, err
	}
	if found == nil || (c.CreditCode != "") != found.IsLegal() {
		return 0, ErrNoSuchAccount
	}
	var old string
	var ended int
	err = database.Transact(ctx, pool, func(tx pgx.Tx) error {
		// The audit row first, then the account's: see Server.signIn.
		detail := fmt.Sprintf("operator %s; evidence %s; new phone %s", c.Operator, c.Evidence, pii.MaskPhone(phone))
		if _, err := tx.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome, account_id, account_bidx, subject, ip, detail) VALUES ($1, 'admin_set_phone', 'ok', $2, $5, $3, '', $4)`,
			now, found.ID, pii.Redact(found.IDHint), pii.Redact(detail), found.IDBidx); err != nil {
			return err
		}
		old, ended, err = operatorSetPhoneIn(ctx, tx, k, found.ID, phone, now)
		return err
	})
	if err != nil {
		return 0, err
	}
	if err := phoneChangeNotice(ctx, sms, old, phone); err != nil {
		return found.ID, fmt.Errorf("phone changed (%d sessions ended), notice not sent: %w", ended, err)
	}
	return found.ID, nil
}

// operatorSetPhoneIn binds phone (normalized, valid) to the account id
// as its verified phone after staff checked the holder's documents, in
// tx (whose audit row the caller wrote first): it locks the account's
// row, ends every session of the account and their business systems'
// (the running service's outbox worker tells the back-channel ones). It
// returns the old phone ("" for none) and how many sessions ended;
// ErrPhoneBound when the phone is another account's verified phone (or
// the account is disabled). Shared by `authsvc admin set-phone` and the
// console's four-eyes approval (console_proposal.go).
func operatorSetPhoneIn(ctx context.Context, tx pgx.Tx, k *pii.Keyring, id int64, phone string, now time.Time) (old string, ended int, err error) {
	a, err := account.ByID(ctx, tx, id, true)
	if err != nil {
		return "", 0, err
	}
	if a == nil {
		return "", 0, ErrNoSuchAccount
	}
	if old, err = account.OpenPhone(k, a.PhoneSealed); err != nil {
		return "", 0, err
	}
	set, err := account.SetPhoneByOperator(ctx, tx, a.ID, k.Seal([]byte(phone), []byte(schemas.FieldPhone)), account.PhoneIndex(k, phone), pii.MaskPhone(phone))
	if err != nil {
		return "", 0, err
	}
	if !set {
		return "", 0, ErrPhoneBound
	}
	e, err := endSessionsAt(ctx, tx, a.ID, nil, now)
	if err != nil {
		return "", 0, err
	}
	_, err = endProviderSessionsIn(ctx, tx, e, now)
	return old, len(e), err
}

// phoneChangeNotice tells the old and the new phone of a phone change
// staff made.
func phoneChangeNotice(ctx context.Context, sms SMSSender, old, phone string) error {
	for _, to := range []string{old, phone} {
		if to == "" {
			continue
		}
		if err := sms.Send(ctx, to, "【统一身份认证】您账号绑定的手机号已由客服人员根据您提交的材料修改为"+pii.MaskPhone(phone)+
			"，账号在各设备上的登录已退出。如非本人申请，请立即联系客服。"); err != nil {
			return err
		}
	}
	return nil
}

// DevOutbox is the development outbox (Outbox) on a pool, for the
// operators' commands without an SMS gateway.
func DevOutbox(q account.Querier, now func() time.Time) SMSSender { return Outbox{q: q, now: now} }
