package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pii"
)

// TestAdminSetPhone: `authsvc admin set-phone` finds the legal account by
// its credit code with the service's key, binds the phone, audits the
// evidence and the operator, and refuses without them.
func TestAdminSetPhone(t *testing.T) {
	conn := dbtest.ConnString(t)
	t.Setenv("DATABASE_URL", conn)
	ctx := context.Background()
	dir := t.TempDir()
	k, err := keyring(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	first17 := "91460100MA5T00001"
	code := first17 + string(cleanse.USCCCheckChar(first17))
	const oldPhone, newPhone = "13912349071", "13800138000"
	var id int64
	if err := db.QueryRow(ctx, `INSERT INTO account (kind, id_bidx, id_sealed, id_hint, id_type, name, phone_sealed, phone_bidx, phone_hint,
		status, origin, required_steps, legal_type, realname_status)
		VALUES ('legal', $1, $2, $3, 'uscc', '海南椰风科技有限公司', $4, $5, $6, 'active', 'fused', '{}', 'enterprise', 'unverified') RETURNING id`,
		account.CreditCodeIndex(k, code), account.SealID(k, code), account.CreditCodeHint(code),
		account.SealPhone(k, oldPhone), account.PhoneIndex(k, oldPhone), pii.MaskPhone(oldPhone)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"admin", "set-phone", "--data-dir", dir, "--credit-code", code, "--phone", newPhone, "--operator", "客服张三"}); err == nil {
		t.Error("set-phone without --evidence succeeded")
	}
	var out bytes.Buffer
	if err := adminSetPhone(ctx, &out, []string{"--data-dir", dir, "--credit-code", code, "--phone", newPhone, "--evidence", "EMS1234567", "--operator", "客服张三"}); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^account \d+: phone set, its sessions ended, audited\n$`).MatchString(out.String()) {
		t.Errorf("output %q", out.String())
	}
	var hint, detail string
	if err := db.QueryRow(ctx, `SELECT a.phone_hint, au.detail FROM account a JOIN auth_audit au ON au.account_id = a.id AND au.event = 'admin_set_phone' WHERE a.id = $1`, id).Scan(&hint, &detail); err != nil {
		t.Fatal(err)
	}
	if hint != pii.MaskPhone(newPhone) || !regexp.MustCompile(`客服张三.*EMS1234567`).MatchString(detail) {
		t.Errorf("after: phone %s, audit %q", hint, detail)
	}
	var notices int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM sms_outbox`).Scan(&notices); err != nil || notices != 2 {
		t.Errorf("%d notices (%v), want 2", notices, err)
	}
}
