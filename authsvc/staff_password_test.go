package authsvc

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestStaffPasswordChange: a 客服 someone else made must change the
// password before anything else (every console route refused, its pages
// sent to /admin/password); the change needs the current password (each
// wrong one counted and audited, the 5th locking the member out and
// ending the session), the citizens' rules, the confirmation, and a new
// one; it ends the member's other sessions, and of two at once one wins.
// The old password no longer signs in. A reset by 运维 asks for a change
// again; a member with another role has no change here.
func TestStaffPasswordChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.addStaff(t, "kf.pw", "王小明", "kefu")
	signIn := func() *browser {
		t.Helper()
		b.clock.Advance(31 * time.Second) // a new TOTP step
		br := b.browser(t)
		if r := br.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusOK {
			t.Fatalf("sign-in: %d %s", r.Status, r.Raw)
		}
		return br
	}
	change := func(br *browser, current, password, confirm string) response {
		return br.post("/api/v1/admin/password", map[string]string{"current": current, "password": password, "confirm": confirm})
	}
	kf := signIn()
	if me := kf.get("/api/v1/admin/me"); me.Body["must_change"] != true {
		t.Fatalf("a new 客服 need not change the password: %s", me.Raw)
	}
	if r := kf.post("/api/v1/admin/lookup", map[string]string{"kind": "username", "value": "someone"}); r.Status != http.StatusForbidden || r.str("error") != "password_change_required" {
		t.Errorf("lookup before the change: %d %s", r.Status, r.Raw)
	}
	for _, page := range []string{"/admin", "/admin/lookup"} {
		if r := kf.get(page); r.Status != http.StatusSeeOther || r.Header.Get("Location") != staffPasswordPath {
			t.Errorf("%s before the change: %d %s", page, r.Status, r.Header.Get("Location"))
		}
	}

	// Refusals: a confirmation that differs, a weak password.
	const good = "Desk#2026-hk"
	if r := change(kf, u.password, good, good+"x"); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("a confirmation that differs: %d %s", r.Status, r.Raw)
	}
	if r := change(kf, u.password, "wangxiaoming#1", "wangxiaoming#1"); r.Status != http.StatusUnprocessableEntity || r.str("error") != "PASSWORD_NAME" {
		t.Errorf("a password of the member's name: %d %s", r.Status, r.Raw)
	}
	// A wrong current password: counted, audited; the 5th locks out.
	other := signIn()
	for i := range 4 {
		if r := change(kf, "wrong-Pass#1", good, good); r.Status != http.StatusUnauthorized || r.str("error") != "staff_password_wrong" {
			t.Fatalf("wrong current password %d: %d %s", i+1, r.Status, r.Raw)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'staff_password' AND outcome = 'fail' AND subject = 'kf.pw' AND detail = 'staff=kf.pw; wrong password'`); n != 4 {
		t.Errorf("%d wrong current passwords audited, want 4", n)
	}
	// Of two changes at once (two sessions), one wins. The test holds the
	// member's row until both wait for it, past their checks of the
	// current password, so they overlap.
	ctx := context.Background()
	hold, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(ctx, `SELECT 1 FROM staff WHERE username = 'kf.pw' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	got := make([]response, 2)
	wait := b.overlap(t, func() { got[0] = change(kf, u.password, good, good) }, func() { got[1] = change(other, u.password, good, good) })
	hold.Rollback(ctx)
	wait()
	if got[0].Status+got[1].Status != http.StatusOK+http.StatusUnauthorized {
		t.Fatalf("two changes at once: %d %s / %d %s", got[0].Status, got[0].Raw, got[1].Status, got[1].Raw)
	}
	winner := kf
	if got[1].Status == http.StatusOK {
		winner = other
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'staff_password' AND outcome = 'ok' AND subject = 'kf.pw'`); n != 1 {
		t.Errorf("%d changes audited ok, want 1", n)
	}
	// The winner goes on; the other session has ended.
	if me := winner.get("/api/v1/admin/me"); me.Status != http.StatusOK || me.Body["must_change"] != false {
		t.Errorf("after the change: %d %s", me.Status, me.Raw)
	}
	loser := other
	if winner == other {
		loser = kf
	}
	if me := loser.get("/api/v1/admin/me"); me.Status != http.StatusUnauthorized {
		t.Errorf("the member's other session after the change: %d", me.Status)
	}
	if r := winner.post("/api/v1/admin/lookup", map[string]string{"kind": "username", "value": "someone"}); r.Status != http.StatusOK {
		t.Errorf("lookup after the change: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(31 * time.Second)
	if r := b.browser(t).staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusUnauthorized {
		t.Errorf("the old password after the change: %d", r.Status)
	}
	u.password = good
	kf = signIn()
	if r := change(kf, good, good, good); r.Status != http.StatusBadRequest || r.str("error") != "password_same" {
		t.Errorf("the current password again: %d %s", r.Status, r.Raw)
	}

	// Five wrong current passwords in a row lock the member out.
	for range 5 {
		change(kf, "wrong-Pass#1", "Desk#2027-hk", "Desk#2027-hk")
	}
	if me := kf.get("/api/v1/admin/me"); me.Status != http.StatusUnauthorized {
		t.Errorf("the session after 5 wrong current passwords: %d", me.Status)
	}
	b.clock.Advance(31 * time.Second)
	if r := b.browser(t).staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusUnauthorized {
		t.Errorf("sign-in while locked: %d", r.Status)
	}

	// Not the username either.
	v := b.addStaff(t, "Kf.Desk-2026", "李四", "kefu")
	b.clock.Advance(31 * time.Second)
	kv := b.browser(t)
	kv.staffLogin(v.username, v.password, b.code(v))
	if r := change(kv, v.password, "kf.desk-2026", "kf.desk-2026"); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("the username as the password: %d %s", r.Status, r.Raw)
	}

	// 运维's reset asks for a change again.
	b.clock.Advance(time.Hour)
	ops := b.staffBrowser(t, "ops.pw", "yunwei")
	nu := shownUser(t, ops.post("/api/v1/admin/staff/kf.pw/reset-credentials", map[string]any{"reason": "忘记密码"}))
	b.clock.Advance(31 * time.Second)
	kf = b.browser(t)
	if r := kf.staffLogin(nu.username, nu.password, b.code(nu)); r.Status != http.StatusOK {
		t.Fatalf("sign-in after the reset: %d %s", r.Status, r.Raw)
	}
	if me := kf.get("/api/v1/admin/me"); me.Body["must_change"] != true {
		t.Errorf("no change asked after a reset: %s", me.Raw)
	}
	// A member down to 客服 only (roles taken away, in the console or by
	// the CLI) has a password the owner set: a change is asked.
	for i, byCLI := range []bool{false, true} {
		name := []string{"both.console", "both.cli"}[i]
		b.addStaff(t, name, "双岗", "kefu", "shenhe")
		if byCLI {
			if _, err := SetStaffRoles(context.Background(), b.pool, b.keys, fastArgon, name, []string{"kefu"}, "test", b.clock.Now()); err != nil {
				t.Fatal(err)
			}
		} else if r := ops.post("/api/v1/admin/staff/"+name+"/roles", map[string]any{"roles": []string{"kefu"}, "reason": "调岗"}); r.Status != http.StatusOK {
			t.Fatalf("take 审核 away: %d %s", r.Status, r.Raw)
		}
		if n := b.count(t, `SELECT count(*) FROM staff WHERE username = $1 AND must_change`, name); n != 1 {
			t.Errorf("%s: no change asked once 客服 only", name)
		}
	}

	// Another role: no change asked, none allowed (the owner resets it).
	if me := ops.get("/api/v1/admin/me"); me.Body["must_change"] != false {
		t.Errorf("a 运维 asked to change: %s", me.Raw)
	}
	if r := change(ops, "anything#1A", good, good); r.Status != http.StatusForbidden || r.str("error") != "staff_privileged" {
		t.Errorf("a 运维's change: %d %s", r.Status, r.Raw)
	}
}

// TestStaffPasswordChangeLockedOut: a try whose session ends while it
// waits (a lockout by the tries before it, here a revocation while the
// test holds the member's row), or whose member is locked out by failed
// sign-ins, is refused whatever it guessed, and nothing changes.
func TestStaffPasswordChangeLockedOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	u := b.addStaff(t, "kf.lock", "赵六", "kefu")
	kf := b.browser(t)
	if r := kf.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", r.Status, r.Raw)
	}
	const good = "Desk#2026-hk"
	change := func() response {
		return kf.post("/api/v1/admin/password", map[string]string{"current": u.password, "password": good, "confirm": good})
	}
	unchanged := func(when string) {
		t.Helper()
		if n := b.count(t, `SELECT count(*) FROM staff WHERE username = 'kf.lock' AND must_change`); n != 1 {
			t.Errorf("%s: the password changed", when)
		}
	}

	// The session ends while the try waits for the member's row.
	hold, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(ctx, `SELECT 1 FROM staff WHERE username = 'kf.lock' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	var r response
	wait := b.overlap(t, func() { r = change() })
	if _, err := hold.Exec(ctx, `UPDATE staff_session SET revoked_at = now() WHERE staff_id = (SELECT id FROM staff WHERE username = 'kf.lock')`); err != nil {
		t.Fatal(err)
	}
	if err := hold.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wait()
	if r.Status != http.StatusUnauthorized {
		t.Errorf("a try whose session ended while it waited: %d %s", r.Status, r.Raw)
	}
	unchanged("after the ended session's try")

	// Locked out by failed sign-ins: the session's try is refused too.
	b.clock.Advance(31 * time.Second)
	kf = b.browser(t)
	if r := kf.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", r.Status, r.Raw)
	}
	for range 5 {
		b.browser(t).staffLogin(u.username, "wrong-Pass#1", "000000")
	}
	if r := change(); r.Status != http.StatusUnauthorized {
		t.Errorf("a try while locked out: %d %s", r.Status, r.Raw)
	}
	unchanged("after the locked-out try")
}
