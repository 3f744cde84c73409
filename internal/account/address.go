package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
)

// MaxAddresses is how many mailing addresses an account may keep.
const MaxAddresses = 10

// ErrTooManyAddresses refuses an address beyond MaxAddresses.
var ErrTooManyAddresses = errors.New("account: too many addresses")

// AddressInput is a mailing address as typed. Validate normalizes it.
type AddressInput struct {
	Recipient string `json:"recipient"`
	Phone     string `json:"phone"`
	Region    string `json:"region"`
	Detail    string `json:"detail"`
	Default   bool   `json:"is_default"`
}

// Address is a stored mailing address; the phone is shown masked.
type Address struct {
	ID        int64  `json:"id"`
	Recipient string `json:"recipient"`
	PhoneHint string `json:"phone_hint"`
	Region    string `json:"region"`
	Detail    string `json:"detail"`
	Default   bool   `json:"is_default"`
}

// Validate trims and checks an address; the problems by field, in
// Chinese, nil when none. The phone is normalized as the account's is
// (NormalizePhone).
func (in *AddressInput) Validate() map[string]string {
	bad := map[string]string{}
	in.Recipient = strings.TrimSpace(in.Recipient)
	in.Region = strings.TrimSpace(in.Region)
	in.Detail = strings.TrimSpace(in.Detail)
	in.Phone = NormalizePhone(in.Phone)
	if n := utf8.RuneCountInString(in.Recipient); n < 1 || n > 30 {
		bad["recipient"] = "请填写收件人（30字以内）"
	}
	if !ValidPhone(in.Phone) {
		bad["phone"] = "请输入正确的手机号码"
	}
	if n := utf8.RuneCountInString(in.Region); n < 2 || n > 60 {
		bad["region"] = "请填写所在地区（省市区县）"
	}
	if n := utf8.RuneCountInString(in.Detail); n < 2 || n > 120 {
		bad["detail"] = "请填写详细地址（2至120字）"
	}
	for k, v := range map[string]string{"recipient": in.Recipient, "region": in.Region, "detail": in.Detail} {
		if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			bad[k] = "不能包含控制字符"
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return bad
}

const addressColumns = `id, recipient, phone_hint, region, detail, is_default`

// Addresses lists an account's mailing addresses, the default first.
func Addresses(ctx context.Context, q Querier, accountID int64) ([]Address, error) {
	rows, err := q.Query(ctx, `SELECT `+addressColumns+` FROM account_address WHERE account_id = $1 ORDER BY is_default DESC, id`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Address, error) {
		var a Address
		err := row.Scan(&a.ID, &a.Recipient, &a.PhoneHint, &a.Region, &a.Detail, &a.Default)
		return a, err
	})
}

// AddAddress stores a validated address for the account in tx, under the
// account row's lock: no more than MaxAddresses, however many requests
// arrive together (ErrTooManyAddresses). The first address is the
// default; a new default replaces the old one.
func AddAddress(ctx context.Context, tx pgx.Tx, k *pii.Keyring, accountID int64, in AddressInput, now time.Time) (int64, error) {
	a, err := ByID(ctx, tx, accountID, true)
	if err != nil {
		return 0, err
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM account_address WHERE account_id = $1`, accountID).Scan(&n); err != nil {
		return 0, err
	}
	if n >= MaxAddresses {
		return 0, ErrTooManyAddresses
	}
	def := in.Default || n == 0
	if def {
		if err := clearDefault(ctx, tx, accountID); err != nil {
			return 0, err
		}
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO account_address (account_id, account_bidx, recipient, phone_sealed, phone_hint, region, detail, is_default, created_at, updated_at)
		VALUES ($1, $9, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
		accountID, in.Recipient, SealPhone(k, in.Phone), pii.MaskPhone(in.Phone), in.Region, in.Detail, def, now, a.IDBidx).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("add address: %w", err)
	}
	return id, nil
}

func clearDefault(ctx context.Context, tx pgx.Tx, accountID int64) error {
	_, err := tx.Exec(ctx, `UPDATE account_address SET is_default = false WHERE account_id = $1 AND is_default`, accountID)
	return err
}

// UpdateAddress replaces an address of the account (database.ErrNotFound
// when the account has no such address). Making it the default takes the
// default from the other; the default stays the default.
func UpdateAddress(ctx context.Context, tx pgx.Tx, k *pii.Keyring, accountID, id int64, in AddressInput, now time.Time) error {
	if in.Default {
		if err := clearDefault(ctx, tx, accountID); err != nil {
			return err
		}
	}
	tag, err := tx.Exec(ctx, `UPDATE account_address SET recipient = $3, phone_sealed = $4, phone_hint = $5, region = $6, detail = $7,
		is_default = is_default OR $8, updated_at = $9 WHERE account_id = $1 AND id = $2`,
		accountID, id, in.Recipient, SealPhone(k, in.Phone), pii.MaskPhone(in.Phone), in.Region, in.Detail, in.Default, now)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return database.ErrNotFound
	}
	return nil
}

// SetDefaultAddress makes an address of the account its default.
func SetDefaultAddress(ctx context.Context, tx pgx.Tx, accountID, id int64) error {
	if err := clearDefault(ctx, tx, accountID); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `UPDATE account_address SET is_default = true WHERE account_id = $1 AND id = $2`, accountID, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return database.ErrNotFound
	}
	return nil
}

// DeleteAddress removes an address of the account; when it was the
// default, the oldest one left becomes the default.
func DeleteAddress(ctx context.Context, tx pgx.Tx, accountID, id int64) error {
	var def bool
	err := tx.QueryRow(ctx, `DELETE FROM account_address WHERE account_id = $1 AND id = $2 RETURNING is_default`, accountID, id).Scan(&def)
	if err != nil {
		return database.Translate(err)
	}
	if def {
		_, err = tx.Exec(ctx, `UPDATE account_address SET is_default = true
			WHERE id = (SELECT min(id) FROM account_address WHERE account_id = $1)`, accountID)
	}
	return err
}

// ChangePassword replaces an active account's password hash (the personal
// center's 修改密码, after the old password was checked): the password's
// failure count and lock are cleared and the try's place (ClaimPasswordTry)
// given back. false when the account is not active.
func ChangePassword(ctx context.Context, q Querier, id int64, hash string) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE account SET password_hash = $2, password_failures = 0, password_locks = 0,
		password_locked_until = NULL, password_tries = GREATEST(password_tries - 1, 0)
		WHERE id = $1 AND status = 'active'`, id, hash)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}
