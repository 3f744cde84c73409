package account

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pii"
)

// TestNormalize: every form in which the pipeline accepts an ID number or
// a phone reduces to the one the pipeline stored, so its blind index
// finds the account.
func TestNormalize(t *testing.T) {
	t.Parallel()
	const id = "11010519491231002X"
	for _, typed := range []string{id, "11010519491231002x", "１１０１０５１９４９１２３１００２Ｘ", " 110105 19491231 002X ", "110105\u200b19491231002X"} {
		if got := NormalizeID(typed); got != id {
			t.Errorf("NormalizeID(%q) = %q, want %q", typed, got, id)
		}
	}
	// A 15-digit number is its 18-character form, as the pipeline stores it.
	info, code := cleanse.ParseID("110105491231002", "", false)
	if code != "" {
		t.Fatalf("15 digits refused: %s", code)
	}
	if got := NormalizeID("110105491231002"); got != info.Number || len(got) != 18 {
		t.Errorf("NormalizeID(15 digits) = %q, want %q", got, info.Number)
	}
	// Not a valid number: only normalized, and it finds nothing.
	if got := NormalizeID(" １２３ "); got != "123" {
		t.Errorf("NormalizeID(invalid) = %q, want 123", got)
	}
	for _, typed := range []string{"13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "0086 13800138000", "１３８００１３８０００"} {
		if got := NormalizePhone(typed); got != "13800138000" || !ValidPhone(got) {
			t.Errorf("NormalizePhone(%q) = %q", typed, got)
		}
	}
	for _, bad := range []string{"1380013800", "12800138000", "23800138000", "138001380001", "1380013800x", ""} {
		if ValidPhone(NormalizePhone(bad)) {
			t.Errorf("ValidPhone(%q) = true", bad)
		}
	}
}

// TestVerifyPhone: a login code verifies the phone it was sent to, and
// makes it the citizen's (no department source), on an active account
// only, and only while that phone is still the one on record.
func TestVerifyPhone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	k, _, err := pii.LoadOrCreateDevKeyring(filepath.Join(t.TempDir(), "dev.key"))
	if err != nil {
		t.Fatal(err)
	}
	phoneA, phoneB := PhoneIndex(k, "13800138000"), PhoneIndex(k, "13900139000")
	insert := func(status string) int64 {
		var id int64
		if err := pool.QueryRow(ctx, `WITH run AS (INSERT INTO import_run (started_at, trigger, forced, ledger) VALUES (now(), 'manual', false, '{}') RETURNING id)
			INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, status, origin, phone_sealed, phone_bidx, phone_hint, created_run, updated_run)
			SELECT $1, '\x00', '1*****1', 'resident', '张三', $2, 'fused', '\x00', $3, '138****8000', id, id FROM run RETURNING id`,
			[]byte(status+t.Name()), status, phoneA).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	verified := func(id int64) bool {
		var v bool
		if err := pool.QueryRow(ctx, `SELECT phone_verified FROM account WHERE id = $1`, id).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	active, pending := insert("active"), insert("pending_completion")
	if ok, err := VerifyPhone(ctx, pool, active, phoneB); err != nil || ok || verified(active) {
		t.Fatalf("a code sent to a phone no longer on record verified it: %v %v", ok, err)
	}
	if ok, err := VerifyPhone(ctx, pool, pending, phoneA); err != nil || ok || verified(pending) {
		t.Fatalf("an account pending completion got its phone verified by a login code: %v %v", ok, err)
	}
	if ok, err := VerifyPhone(ctx, pool, active, phoneA); err != nil || !ok || !verified(active) {
		t.Fatalf("the phone on record was not verified: %v %v", ok, err)
	}
}
