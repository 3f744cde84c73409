package authsvc

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/account"
)

// TestSessionAccountChecked: no foreign key ties a session to its account
// any more (they are in two colocation groups, docs/scale-out.md §3.3), so
// the writers check it: a session, or a sign-in, for an account that does
// not exist is refused and writes nothing.
func TestSessionAccountChecked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	const gone = int64(1 << 40)
	if _, err := b.svc.startSession(ctx, b.svc.pool, httptest.NewRecorder(), kindFull, gone, ""); !errors.Is(err, errAccountGone) {
		t.Fatalf("startSession for a missing account: %v, want errAccountGone", err)
	}
	r := httptest.NewRequest("POST", "/login", nil)
	if _, err := b.svc.signIn(ctx, httptest.NewRecorder(), r, &account.Account{ID: gone}, methodPassword, ""); !errors.Is(err, errAccountGone) {
		t.Fatalf("signIn of a missing account: %v, want errAccountGone", err)
	}
	var n int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM auth_session WHERE account_id = $1`, gone).Scan(&n); err != nil || n != 0 {
		t.Fatalf("sessions of the missing account: %d, %v", n, err)
	}
	// A sign-in holds the account's row by its blind index too (routed
	// to its shard): an id with another account's index is no account.
	c := b.active(t, "李四", "13912349073", "Xy7#pQ2!wL")
	a, err := account.ByID(ctx, b.pool, c.id, false)
	if err != nil {
		t.Fatal(err)
	}
	wrong := *a
	wrong.IDBidx = make([]byte, len(a.IDBidx))
	if _, err := b.svc.signIn(ctx, httptest.NewRecorder(), r, &wrong, methodPassword, ""); !errors.Is(err, errAccountGone) {
		t.Errorf("signIn with another blind index: %v, want errAccountGone", err)
	}
	if _, err := b.svc.signIn(ctx, httptest.NewRecorder(), r, a, methodPassword, ""); err != nil {
		t.Errorf("signIn of the account: %v", err)
	}
}

// TestUsernameClaims: a registration holds its username from step ① in
// the lookup table registration_username (docs/scale-out.md §3.2): a second
// registration cannot take it in any case; the flow's end frees it (here:
// the ID number had an account, the registrant is signed into that one),
// and so does the purge of a flow gone with its session.
func TestUsernameClaims(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	held := func(name string) bool {
		t.Helper()
		var n int
		if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM registration_username WHERE username_lower = lower($1)`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	c := b.fused(t, "韩梅梅", "13400005551")
	first := b.registrant(t, "Claim01", "13400005552")
	first.idNumber = c.IDNumber
	first.start()
	if r := first.account(); r.Status != http.StatusOK || !held("claim01") {
		t.Fatalf("first ①: %d %s, held %v", r.Status, r.Raw, held("claim01"))
	}
	second := b.registrant(t, "CLAIM01", "13400005553")
	second.start()
	if r := second.account(); r.Status != http.StatusConflict || r.str("error") != "username_taken" {
		t.Fatalf("second ① with a held username: %d %s", r.Status, r.Raw)
	}
	if r := first.realname(); r.Status != http.StatusOK {
		t.Fatalf("first ②: %d %s", r.Status, r.Raw)
	}
	if r := first.face(); r.Status != http.StatusOK || r.Body["existing"] != true {
		t.Fatalf("first ③: %d %s", r.Status, r.Raw)
	}
	if held("claim01") {
		t.Fatal("the ended registration still holds its username")
	}
	b.clock.Advance(2 * time.Minute)
	if r := second.account(); r.Status != http.StatusOK || !held("claim01") {
		t.Fatalf("second ① once freed: %d %s", r.Status, r.Raw)
	}

	// A registration left at ②: its session ends, the purge takes the
	// session, its flow and the username it held.
	third := b.registrant(t, "Claim03", "13400005554")
	third.start()
	if r := third.account(); r.Status != http.StatusOK || !held("claim03") {
		t.Fatalf("third ①: %d %s", r.Status, r.Raw)
	}
	var sess []byte
	if err := b.pool.QueryRow(ctx, `SELECT session_hash FROM registration_username WHERE username_lower = 'claim03'`).Scan(&sess); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, `UPDATE auth_session SET expires_at = $2 WHERE id_hash = $1`, sess, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := Purge(ctx, memberPool(t, b.pool, roleImport), b.clock.Now().Add(purgeKeep+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if held("claim03") || !held("claim01") {
		t.Errorf("after the purge: claim03 held %v (want false), claim01 held %v (want true)", held("claim03"), held("claim01"))
	}
}
