package authsvc

import (
	"context"
	"encoding/base32"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// shownUser is the staff member of credentials the console showed.
func shownUser(t testing.TB, r response) staffUser {
	t.Helper()
	if r.Status != http.StatusOK || r.str("password") == "" || !strings.HasPrefix(r.str("totp_uri"), "otpauth://totp/") {
		t.Fatalf("credentials: %d %s", r.Status, r.Raw)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r.str("totp_secret"))
	if err != nil {
		t.Fatal(err)
	}
	return staffUser{username: r.str("username"), password: r.str("password"), secret: secret}
}

// TestConsoleStaff: 运维 adds a staff member (the credentials shown once,
// no-store), who then signs in with them; sets their roles (in effect on
// the member's next request); disables them (their live session ends)
// and enables them; resets their credentials (the session ends, the old
// password no longer works, the new one does); lifts their lock. Nobody
// changes their own roles, disables, resets or unlocks themselves. Each
// change needs a reason and is audited with the staff member, role,
// target and reason.
func TestConsoleStaff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ops := b.staffBrowser(t, "ops.one", "yunwei")
	ops2 := b.staffBrowser(t, "ops.two", "yunwei")
	api := "/api/v1/admin/staff"

	// Add.
	if r := ops.post(api, map[string]any{"username": "kf.new", "name": "新客服", "roles": []string{"kefu"}}); r.Status != http.StatusBadRequest || r.str("error") != "reason_required" {
		t.Errorf("add without a reason: %d %s", r.Status, r.Raw)
	}
	if r := ops.post(api, map[string]any{"username": "kf.new", "name": "新客服", "roles": []string{"boss"}, "reason": "新员工入职"}); r.Status != http.StatusBadRequest {
		t.Errorf("add with an unknown role: %d %s", r.Status, r.Raw)
	}
	// 审核, 运维 and 审计 are the owner's to give (the CLI): else one 运维
	// could make both eyes of a four-eyes change.
	for _, roles := range [][]string{{"shenhe"}, {"kefu", "shenhe"}, {"yunwei"}, {"shenji"}} {
		if r := ops.post(api, map[string]any{"username": "kf.new", "name": "新客服", "roles": roles, "reason": "新员工入职"}); r.Status != http.StatusForbidden ||
			r.str("error") != "staff_privileged" {
			t.Errorf("add with %v: %d %s", roles, r.Status, r.Raw)
		}
	}
	// A username with a long number: the audit would mask it.
	for _, name := range []string{"k13800138000", "w1391.1234.9071", "a138_0013_8000"} {
		if r := ops.post(api, map[string]any{"username": name, "name": "新客服", "roles": []string{"kefu"}, "reason": "新员工入职"}); r.Status != http.StatusBadRequest {
			t.Errorf("add the username %s, which the audit would mask: %d %s", name, r.Status, r.Raw)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM staff WHERE username = 'kf.new'`); n != 0 {
		t.Fatalf("refused additions made %d staff members", n)
	}
	r := ops.post(api, map[string]any{"username": "kf.new", "name": "新客服", "roles": []string{"kefu"}, "reason": "新员工入职"})
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("credentials cached: %q", r.Header.Get("Cache-Control"))
	}
	u := shownUser(t, r)
	if r := ops.post(api, map[string]any{"username": "KF.NEW", "name": "重名", "roles": []string{"kefu"}, "reason": "新员工入职"}); r.Status != http.StatusConflict {
		t.Errorf("add a taken username: %d %s", r.Status, r.Raw)
	}
	kf := b.browser(t)
	if r := kf.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusOK {
		t.Fatalf("new member's sign-in: %d %s", r.Status, r.Raw)
	}
	if r := kf.get(api); r.Status != http.StatusForbidden {
		t.Errorf("客服 lists the staff: %d", r.Status)
	}

	// Roles: never one beyond 客服 the member does not hold; taking one
	// away is in effect on the member's next request.
	if r := ops.post(api+"/kf.new/roles", map[string]any{"roles": []string{"kefu", "yunwei"}}); r.Status != http.StatusBadRequest {
		t.Errorf("roles without a reason: %d %s", r.Status, r.Raw)
	}
	if r := ops.post(api+"/kf.new/roles", map[string]any{"roles": []string{"kefu", "yunwei"}, "reason": "兼任运维"}); r.Status != http.StatusForbidden ||
		r.str("error") != "staff_privileged" {
		t.Errorf("give 运维: %d %s", r.Status, r.Raw)
	}
	sh := b.staffBrowser(t, "sh.old", "kefu", "shenhe")
	if r := sh.get("/api/v1/admin/proposals"); r.Status != http.StatusOK {
		t.Fatalf("审核's queue: %d %s", r.Status, r.Raw)
	}
	if r := ops.post(api+"/sh.old/roles", map[string]any{"roles": []string{"kefu"}, "reason": "兼任运维"}); r.Status != http.StatusOK {
		t.Fatalf("take 审核 away: %d %s", r.Status, r.Raw)
	}
	if r := sh.get("/api/v1/admin/proposals"); r.Status != http.StatusForbidden {
		t.Errorf("the member's next request without 审核: %d %s", r.Status, r.Raw)
	}
	if r := ops.post(api+"/sh.old/roles", map[string]any{"roles": []string{"kefu", "shenhe"}, "reason": "恢复审核"}); r.Status != http.StatusForbidden {
		t.Errorf("give 审核 back from the console: %d %s", r.Status, r.Raw)
	}
	if r := ops.post(api+"/ops.two/reset-credentials", map[string]any{"reason": "手机丢失"}); r.Status != http.StatusForbidden || r.str("error") != "staff_privileged" {
		t.Errorf("reset a 运维: %d %s", r.Status, r.Raw)
	}
	if r := ops.post(api+"/nobody/roles", map[string]any{"roles": []string{"kefu"}, "reason": "兼任运维"}); r.Status != http.StatusNotFound {
		t.Errorf("roles of nobody: %d %s", r.Status, r.Raw)
	}

	// Never oneself: ops.two may change ops.one, not themselves; ops.one
	// not themselves.
	for _, action := range []string{"roles", "disable", "reset-credentials", "unlock"} {
		for _, br := range []*browser{ops, ops2} {
			self := "ops.one"
			if br == ops2 {
				self = "OPS.two"
			}
			r := br.post(api+"/"+self+"/"+action, map[string]any{"roles": []string{"shenji"}, "reason": "自己改自己"})
			if r.Status != http.StatusForbidden || r.str("error") != "staff_self" {
				t.Errorf("%s of oneself (%s): %d %s", action, self, r.Status, r.Raw)
			}
		}
	}
	if n := b.count(t, `SELECT count(*) FROM staff WHERE roles <> '{yunwei}' AND username IN ('ops.one', 'ops.two') OR roles <> '{kefu}' AND username = 'kf.new' OR status <> 'active'`); n != 0 {
		t.Errorf("%d staff members changed by their own hands", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event LIKE 'admin_staff_%' AND outcome = 'refused' AND detail LIKE '%; self'`); n != 8 {
		t.Errorf("%d audited self-changes, want 8", n)
	}
	// Anyone may be disabled from the console; a 运维 (or 审核, 审计) is
	// enabled again by the owner only.
	if r := ops.post(api+"/ops.two/disable", map[string]any{"reason": "疑似账号泄露"}); r.Status != http.StatusOK {
		t.Fatalf("disable a 运维: %d %s", r.Status, r.Raw)
	}
	if r := ops.post(api+"/ops.two/enable", map[string]any{"reason": "恢复"}); r.Status != http.StatusForbidden || r.str("error") != "staff_privileged" {
		t.Errorf("enable a 运维 from the console: %d %s", r.Status, r.Raw)
	}
	b.exec(t, `UPDATE staff SET status = 'active' WHERE username = 'ops.two'`)

	// Disable: the live session ends; enable: the member signs in again.
	if r := ops.post(api+"/kf.new/disable", map[string]any{"reason": "离职"}); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM staff_session ss JOIN staff st ON st.id = ss.staff_id WHERE st.username = 'kf.new' AND ss.revoked_at IS NULL`); n != 0 {
		t.Errorf("disable left %d live sessions", n)
	}
	if r := kf.get("/api/v1/admin/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("a disabled member's session: %d", r.Status)
	}
	b.clock.Advance(31 * time.Second)
	if r := kf.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusUnauthorized {
		t.Errorf("a disabled member signs in: %d", r.Status)
	}
	if r := ops.post(api+"/kf.new/enable", map[string]any{"reason": "返岗"}); r.Status != http.StatusOK {
		t.Fatalf("enable: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(31 * time.Second)
	if r := kf.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusOK {
		t.Fatalf("an enabled member's sign-in: %d %s", r.Status, r.Raw)
	}

	// Reset: new credentials, the session ends, the old password is gone.
	r = ops.post(api+"/kf.new/reset-credentials", map[string]any{"reason": "手机丢失"})
	nu := shownUser(t, r)
	if r := kf.get("/api/v1/admin/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("session after a reset: %d", r.Status)
	}
	b.clock.Advance(31 * time.Second)
	if r := kf.staffLogin(u.username, u.password, b.code(nu)); r.Status != http.StatusUnauthorized {
		t.Errorf("the old password after a reset: %d", r.Status)
	}
	if r := kf.staffLogin(nu.username, nu.password, b.code(nu)); r.Status != http.StatusOK {
		t.Errorf("the new credentials: %d %s", r.Status, r.Raw)
	}

	// Unlock.
	if _, err := b.pool.Exec(context.Background(), `UPDATE staff SET failed_attempts = 5, locked_until = $1 WHERE username = 'kf.new'`, b.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r := ops.get(api); !strings.Contains(r.Raw, `"username":"kf.new","name":"新客服","roles":["kefu"],"role_names":["客服"],"status":"active","locked":true,"last_sign_in":"2026-11-27 18:`) {
		t.Errorf("staff list: %s", r.Raw)
	}
	if r := ops.post(api+"/kf.new/unlock", map[string]any{"reason": "核实本人"}); r.Status != http.StatusOK {
		t.Fatalf("unlock: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM staff WHERE username = 'kf.new' AND failed_attempts = 0 AND locked_until IS NULL`); n != 1 {
		t.Errorf("unlock left the lock")
	}

	// The pages: the list, and an addition by form showing the
	// credentials once.
	if r := ops.get("/admin/staff"); r.Status != http.StatusOK || !strings.Contains(r.Raw, "kf.new") || !strings.Contains(r.Raw, "新客服") {
		t.Errorf("staff page: %d %.300s", r.Status, r.Raw)
	}
	if r := ops.form("/admin/staff", url.Values{"username": {"sh.new"}, "name": {"新审核"}, "roles": {"shenhe", "kefu"}, "reason": {"新员工入职"}}); r.Status != http.StatusForbidden {
		t.Errorf("add 审核 by form: %d", r.Status)
	}
	r = ops.form("/admin/staff", url.Values{"username": {"sh.new"}, "name": {"新客服乙"}, "roles": {"kefu"}, "reason": {"新员工入职"}})
	if r.Status != http.StatusOK || !strings.Contains(r.Raw, "初始密码") || !strings.Contains(r.Raw, "otpauth://totp/") {
		t.Errorf("add by form: %d %.300s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM staff WHERE username = 'sh.new' AND roles = '{kefu}' AND created_by = 'ops.one'`); n != 1 {
		t.Errorf("form addition: %d", n)
	}

	// Every change audited: staff, role, target, reason.
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_staff_roles' AND outcome = 'ok'
		AND detail LIKE 'staff=ops.one; role=yunwei; target=sh.old; reason=兼任运维%'`); n != 1 {
		t.Errorf("roles: %d audit rows, want 1", n)
	}
	for action, reason := range map[string]string{"staff_add": "新员工入职", "staff_disable": "离职",
		"staff_enable": "返岗", "staff_reset": "手机丢失", "staff_unlock": "核实本人"} {
		if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_' || $1 AND subject = 'ops.one' AND outcome = 'ok'
			AND detail LIKE 'staff=ops.one; role=yunwei; target=kf.new; reason=' || $2 || '%'`, action, reason); n != 1 {
			t.Errorf("%s: %d audit rows, want 1", action, n)
		}
	}
}
