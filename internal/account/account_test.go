package account

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
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
	for _, good := range []string{"13000000000", "19999999999", "17012345678"} {
		if !ValidPhone(good) {
			t.Errorf("ValidPhone(%q) = false", good)
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

// insertAccount stores an active account with a password, for the
// lockout's tests.
func insertAccount(t *testing.T, ctx context.Context, q Querier, bidx []byte) int64 {
	t.Helper()
	var id int64
	if err := q.QueryRow(ctx, `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, status, origin, password_hash)
		VALUES ($1, '\x00', '1*****1', 'resident', '张三', 'active', 'registered', 'hash') RETURNING id`, bidx).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestLockout: the password's count locks at MaxFailures failures in a row,
// each lock in a row twice the one before, up to PasswordLockMax; while
// locked no try is claimed; a password login clears count, level and
// lock. The count of SMS codes and faces locks for LockFor on its own and
// is cleared by ClearFailures and by a login with them, never by a
// password's.
func TestLockout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	l := NewLockout(3, time.Minute, 5*time.Minute)
	bidx := []byte("lockout" + t.Name())
	id := insertAccount(t, ctx, pool, bidx)
	now := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	state := func() (failures, locks int, until *time.Time) {
		if err := pool.QueryRow(ctx, `SELECT password_failures, password_locks, password_locked_until FROM account WHERE id = $1`, id).
			Scan(&failures, &locks, &until); err != nil {
			t.Fatal(err)
		}
		return
	}
	claim := func(at time.Time) bool {
		a, err := l.ClaimPasswordTry(ctx, pool, bidx, at)
		if err != nil {
			t.Fatal(err)
		}
		return a != nil
	}
	// fail is a wrong password: claimed, then counted.
	fail := func(at time.Time) bool {
		if !claim(at) {
			return false
		}
		if err := l.PasswordFailed(ctx, pool, id, at); err != nil {
			t.Fatal(err)
		}
		return true
	}
	// Three locks in a row: 1, 2, then 4 minutes; a fourth would be 8,
	// capped at 5.
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
		for try := range 3 {
			if !fail(now) {
				t.Fatalf("lock %d, try %d refused before the lock", i, try)
			}
		}
		f, locks, until := state()
		if f != 0 || locks != i+1 || until == nil || !until.Equal(now.Add(want)) {
			t.Fatalf("after lock %d: failures %d, locks %d, until %v; want 0, %d, %v", i, f, locks, until, i+1, now.Add(want))
		}
		if claim(now.Add(want - time.Second)) {
			t.Fatalf("lock %d: a try was claimed while locked", i)
		}
		now = now.Add(want)
	}
	if !claim(now) {
		t.Fatal("the lock's end: try refused")
	}
	if _, err := pool.Exec(ctx, ResetAfterLoginSQL(true, "$1"), id); err != nil {
		t.Fatal(err)
	}
	if f, locks, until := state(); f != 0 || locks != 0 || until != nil {
		t.Fatalf("after a password login: failures %d, locks %d, until %v", f, locks, until)
	}

	// SMS codes and faces.
	sms := func() (n int, until *time.Time) {
		if err := pool.QueryRow(ctx, `SELECT failed_attempts, locked_until FROM account WHERE id = $1`, id).Scan(&n, &until); err != nil {
			t.Fatal(err)
		}
		return
	}
	for range 2 {
		if err := l.CountFailure(ctx, pool, id, now); err != nil {
			t.Fatal(err)
		}
	}
	if n, until := sms(); n != 2 || until != nil {
		t.Fatalf("two failed codes: count %d, lock %v", n, until)
	}
	if err := ClearFailures(ctx, pool, id); err != nil {
		t.Fatal(err)
	}
	if n, _ := sms(); n != 0 {
		t.Fatalf("ClearFailures left %d", n)
	}
	for range 3 {
		if err := l.CountFailure(ctx, pool, id, now); err != nil {
			t.Fatal(err)
		}
	}
	if n, until := sms(); n != 0 || until == nil || !until.Equal(now.Add(time.Minute)) {
		t.Fatalf("three failed codes: count %d, lock %v; want 0, %v", n, until, now.Add(time.Minute))
	}
	if _, err := pool.Exec(ctx, ResetAfterLoginSQL(true, "$1"), id); err != nil {
		t.Fatal(err)
	}
	if _, until := sms(); until == nil {
		t.Fatal("a password login cleared the lock of SMS codes and faces")
	}
	if _, err := pool.Exec(ctx, ResetAfterLoginSQL(false, "$1"), id); err != nil {
		t.Fatal(err)
	}
	if n, until := sms(); n != 0 || until != nil {
		t.Fatalf("after an SMS login: count %d, lock %v", n, until)
	}
}

// TestPasswordTriesInFlight: a claim holds a place and counts nothing;
// places in flight and failures together stay within MaxFailures; each
// outcome gives its place back; a place not given back (its process died)
// is forgotten after TryLifetime.
func TestPasswordTriesInFlight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	l := NewLockout(3, time.Minute, 5*time.Minute)
	bidx := []byte("tries" + t.Name())
	id := insertAccount(t, ctx, pool, bidx)
	now := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	state := func() (failures, tries int) {
		if err := pool.QueryRow(ctx, `SELECT password_failures, password_tries FROM account WHERE id = $1`, id).Scan(&failures, &tries); err != nil {
			t.Fatal(err)
		}
		return
	}
	claim := func(at time.Time) error {
		a, err := l.ClaimPasswordTry(ctx, pool, bidx, at)
		if err == nil && a == nil {
			t.Fatal("claim: no account")
		}
		return err
	}
	for i := range 3 {
		if err := claim(now); err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
	}
	if f, n := state(); f != 0 || n != 3 {
		t.Fatalf("three claims: failures %d, tries %d; want 0, 3", f, n)
	}
	if err := claim(now); !errors.Is(err, ErrTriesInFlight) {
		t.Fatalf("a fourth claim with three in flight: %v, want ErrTriesInFlight", err)
	}
	// A wrong password: one failure, its place back; 1 + 2 in flight fill
	// the three again.
	if err := l.PasswordFailed(ctx, pool, id, now); err != nil {
		t.Fatal(err)
	}
	if f, n := state(); f != 1 || n != 2 {
		t.Fatalf("after a failure: failures %d, tries %d; want 1, 2", f, n)
	}
	if err := claim(now); !errors.Is(err, ErrTriesInFlight) {
		t.Fatalf("a claim with one failure and two in flight: %v, want ErrTriesInFlight", err)
	}
	// A try without an outcome gives its place back and counts nothing.
	if err := ReleasePasswordTry(ctx, pool, id); err != nil {
		t.Fatal(err)
	}
	if f, n := state(); f != 1 || n != 1 {
		t.Fatalf("after a release: failures %d, tries %d; want 1, 1", f, n)
	}
	if err := claim(now); err != nil {
		t.Fatalf("a claim after a release: %v", err)
	}
	// A right password clears the failures and gives its place back.
	if _, err := pool.Exec(ctx, ResetAfterLoginSQL(true, "$1"), id); err != nil {
		t.Fatal(err)
	}
	if f, n := state(); f != 0 || n != 1 {
		t.Fatalf("after a password login: failures %d, tries %d; want 0, 1", f, n)
	}
	// Two places are held by a process that died: until TryLifetime has
	// passed since the last claim they count; then they are forgotten.
	if err := claim(now); err != nil {
		t.Fatal(err)
	}
	if err := claim(now); err != nil {
		t.Fatal(err)
	}
	if err := claim(now.Add(TryLifetime - time.Second)); !errors.Is(err, ErrTriesInFlight) {
		t.Fatalf("a claim with three places held before TryLifetime: %v, want ErrTriesInFlight", err)
	}
	if err := claim(now.Add(TryLifetime)); err != nil {
		t.Fatalf("a claim after TryLifetime: %v", err)
	}
	if _, n := state(); n != 1 {
		t.Fatalf("after the places held expired and one claim: tries %d, want 1", n)
	}
	// Releases never go below zero.
	for range 3 {
		if err := ReleasePasswordTry(ctx, pool, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, n := state(); n != 0 {
		t.Fatalf("releases below zero: tries %d", n)
	}
}

// RegisterLegal refuses a login name another account has, whatever the
// case (the unique index, for two registrations racing past the page's
// check), and a credit code that has an account.
func TestRegisterLegalTaken(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	k, _, err := pii.LoadOrCreateDevKeyring(filepath.Join(t.TempDir(), "dev.key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reg := func(code, username string) error {
		_, err := RegisterLegal(ctx, pool, LegalRegistration{Username: username, Type: schemas.LegalEnterprise, Name: "海南椰风科技有限公司",
			CodeSealed: SealID(k, code), CodeBidx: CreditCodeIndex(k, code), CodeHint: CreditCodeHint(code), ContactName: "韩洪阳",
			PasswordHash: "x", AgreementVersion: "v1", AgreementAt: time.Now(), NextCheck: time.Now()})
		return err
	}
	if err := reg("91460100MA5T000019", "yefeng"); err != nil {
		t.Fatal(err)
	}
	if err := reg("91460100MA5T00002X", "YeFeng"); !errors.Is(err, ErrUsernameTaken) {
		t.Errorf("taken login name: %v", err)
	}
	if err := reg("91460100MA5T000019", ""); !errors.Is(err, ErrCreditCodeTaken) {
		t.Errorf("credit code with an account: %v", err)
	}
}

// Register refuses a username another account has, whatever the case:
// the lookup table account_username (docs/scale-out.md §3.2) holds it, in
// the registration's transaction, which the refusal rolls back whole.
func TestRegisterUsernameTaken(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	k, _, err := pii.LoadOrCreateDevKeyring(filepath.Join(t.TempDir(), "dev.key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reg := func(idNumber, username string) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := Register(ctx, tx, Registration{Username: username, Name: "韩梅梅", IDType: "resident",
				IDSealed: SealID(k, idNumber), IDBidx: IDIndex(k, idNumber), IDHint: "4*****8",
				PhoneSealed: SealPhone(k, "13400001111"), PhoneBidx: PhoneIndex(k, "13400001111"), PhoneHint: "134****1111",
				AgreementVersion: "v1", AgreementAt: time.Now()})
			return err
		})
	}
	if err := reg("460102199208150018", "Han_Meimei"); err != nil {
		t.Fatal(err)
	}
	if err := reg("460102199208150026", "han_meimei"); !errors.Is(err, ErrUsernameTaken) {
		t.Errorf("taken username: %v", err)
	}
	var accounts, names int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM account), (SELECT count(*) FROM account_username WHERE username_lower = 'han_meimei')`).Scan(&accounts, &names); err != nil {
		t.Fatal(err)
	}
	if accounts != 1 || names != 1 {
		t.Errorf("%d accounts, %d holders of the username; want 1 and 1", accounts, names)
	}
	if bidx, err := IDIndexByUsername(ctx, pool, "HAN_MEIMEI", schemas.KindNatural); err != nil || !bytes.Equal(bidx, IDIndex(k, "460102199208150018")) {
		t.Errorf("IDIndexByUsername: %x, %v", bidx, err)
	}
	// An id the sequence gives again (set back behind the data) is
	// another account's: the registration fails, nothing is written.
	if _, err := pool.Exec(ctx, `SELECT setval(pg_get_serial_sequence('account', 'id'), (SELECT min(id) FROM account), false)`); err != nil {
		t.Fatal(err)
	}
	if err := reg("460102199208150034", "li_lei"); err == nil || !strings.Contains(err.Error(), "another account's") {
		t.Errorf("a registration given a taken id: %v", err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM account`).Scan(&accounts); err != nil || accounts != 1 {
		t.Errorf("%d accounts (%v) after a registration given a taken id, want 1", accounts, err)
	}
}
