package authsvc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idfusion/idfusion/schemas"
)

// caseOf looks up the account of idOrCode (an ID number or a credit
// code) as the staff browser br and returns its case reference.
func caseOf(t testing.TB, br *browser, kind, value string) string {
	t.Helper()
	r := br.post("/api/v1/admin/lookup", map[string]string{"kind": kind, "value": value})
	if r.Status != http.StatusOK || len(r.Body["accounts"].([]any)) != 1 {
		t.Fatalf("lookup %s: %d %s", kind, r.Status, r.Raw)
	}
	return r.Body["accounts"].([]any)[0].(map[string]any)["ref"].(string)
}

// act posts the action with the reason ("": none) on the case ref.
func act(br *browser, ref, action, reason string) response {
	br.t.Helper()
	return br.post("/api/v1/admin/accounts/"+ref+"/"+action, map[string]string{"reason": reason})
}

// staffAudits counts the audit rows of an action: event admin_<event>,
// the outcome, the staff member as subject, the account, and a detail
// starting with staff, role kefu, the target (the masked ID) and the
// reason.
func (b *testBundle) staffAudits(t testing.TB, event, outcome, staff string, accountID int64, idHint, reason string) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_' || $1 AND outcome = $2 AND subject = $3 AND account_id = $4
		AND starts_with(detail, 'staff=' || $3 || '; role=kefu; target=' || $5 || '; reason=' || $6)`, event, outcome, staff, accountID, idHint, reason)
}

func (b *testBundle) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := b.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

// TestConsoleActionsUnlock: a citizen locked by 5 wrong passwords is
// unlocked by 客服 (with a reason, audited) and logs in with the right
// password; without a reason nothing changes; with nothing locked it is
// refused; two staff unlocking at once: one does it, the other is
// refused, one audit row ok. An account the operators locked returns to
// its status. The page's form goes back to the page with a notice.
func TestConsoleActionsUnlock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "韩洪阳", "13812340011", "K9#vTq2!mZ")
	kf := b.staffBrowser(t, "kf.unlock", "kefu")
	ref := caseOf(t, kf, "id_number", c.IDNumber)
	hint := b.column(t, `SELECT id_hint FROM account WHERE id = $1`, c.id)[0]
	citizen := b.browser(t)
	lock := func() {
		t.Helper()
		for range 5 {
			citizen.passwordLogin(c, "wrong-Pass1!")
		}
		if r := citizen.passwordLogin(c, "K9#vTq2!mZ"); r.Status == http.StatusOK {
			t.Fatalf("not locked after 5 wrong passwords: %s", r.Raw)
		}
	}
	lock()
	b.exec(t, `UPDATE account SET failed_attempts = 2 WHERE id = $1`, c.id)

	// No reason: refused, nothing changed, nothing audited.
	for _, reason := range []string{"", " ", "x"} {
		if r := act(kf, ref, "unlock", reason); r.Status != http.StatusBadRequest || r.str("error") != "reason_required" {
			t.Errorf("unlock with reason %q: %d %s", reason, r.Status, r.Raw)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND password_locked_until IS NOT NULL`, c.id); n != 1 {
		t.Error("an unlock without a reason unlocked")
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_unlock'`); n != 0 {
		t.Errorf("%d unlocks audited without a reason", n)
	}

	// The account's page shows the lock, and none after the unlock.
	locks := func() string {
		t.Helper()
		v := kf.get("/api/v1/admin/accounts/" + ref)
		l, _ := v.Body["locks"].([]any)
		return fmt.Sprint(l)
	}
	if l := locks(); !strings.Contains(l, "密码错误次数过多，锁定至") || strings.Contains(l, "验证码") {
		t.Errorf("locks shown: %s", l)
	}
	r := act(kf, ref, "unlock", "用户来电，核实身份后解锁")
	if r.Status != http.StatusOK || r.str("status") != "active" {
		t.Fatalf("unlock: %d %s", r.Status, r.Raw)
	}
	if l := locks(); l != "[]" {
		t.Errorf("locks after the unlock: %s", l)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND password_failures = 0 AND password_locks = 0 AND password_locked_until IS NULL
		AND failed_attempts = 0 AND locked_until IS NULL`, c.id); n != 1 {
		t.Error("unlock left a lock or a count")
	}
	if n := b.staffAudits(t, "unlock", "ok", "kf.unlock", c.id, hint, "用户来电，核实身份后解锁"); n != 1 {
		t.Errorf("%d unlock audit rows, want 1", n)
	}
	if r := citizen.passwordLogin(c, "K9#vTq2!mZ"); r.Status != http.StatusOK {
		t.Errorf("login after unlock: %d %s", r.Status, r.Raw)
	}
	// Nothing locked now.
	if r := act(kf, ref, "unlock", "再次解锁"); r.Status != http.StatusConflict || r.str("error") != "nothing_locked" {
		t.Errorf("unlock of an unlocked account: %d %s", r.Status, r.Raw)
	}
	if n := b.staffAudits(t, "unlock", "refused", "kf.unlock", c.id, hint, "再次解锁"); n != 1 {
		t.Errorf("%d refused unlocks audited, want 1", n)
	}

	// Two staff at once: one unlocks, the other finds nothing locked.
	lock()
	kf2 := b.staffBrowser(t, "kf.unlock2", "kefu")
	refs := []string{ref, caseOf(t, kf2, "id_number", c.IDNumber)}
	var wg sync.WaitGroup
	got := make([]response, 2)
	for i, br := range []*browser{kf, kf2} {
		wg.Go(func() { got[i] = act(br, refs[i], "unlock", "并发解锁") })
	}
	wg.Wait()
	if ok, conflict := got[0].Status+got[1].Status, got[0].Status*got[1].Status; ok != http.StatusOK+http.StatusConflict || conflict != http.StatusOK*http.StatusConflict {
		t.Errorf("parallel unlocks: %d %s / %d %s", got[0].Status, got[0].Raw, got[1].Status, got[1].Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_unlock' AND outcome = 'ok' AND detail LIKE '%reason=并发解锁%'`); n != 1 {
		t.Errorf("%d parallel unlocks audited ok, want 1", n)
	}

	// An account the operators locked returns to its status; a fused one
	// to pending completion. Through the page's form, with its notice.
	f := b.fused(t, "李四", "13812340012")
	b.exec(t, `UPDATE account SET status = 'locked' WHERE id = $1`, f.id)
	fref := caseOf(t, kf, "id_number", f.IDNumber)
	if r := kf.form("/admin/accounts/"+fref+"/unlock", url.Values{}); r.Status != http.StatusBadRequest || !strings.Contains(r.Raw, "请填写操作原因") {
		t.Errorf("unlock form without a reason: %d", r.Status)
	}
	r = kf.form("/admin/accounts/"+fref+"/unlock", url.Values{"reason": {"管理员误锁"}})
	if loc := r.Header.Get("Location"); r.Status != http.StatusSeeOther || loc != "/admin/accounts/"+fref+"?done=unlock" {
		t.Fatalf("unlock form: %d %s", r.Status, loc)
	}
	page := kf.get("/admin/accounts/" + fref + "?done=unlock")
	if !strings.Contains(page.Raw, "已解除账号锁定") || !strings.Contains(page.Raw, "待完善信息") || !strings.Contains(page.Raw, `id="action-reset-step"`) {
		t.Errorf("account page after the unlock: %d %s", page.Status, page.Raw)
	}
	if st := b.column(t, `SELECT status::text FROM account WHERE id = $1`, f.id)[0]; st != string(schemas.StatusPendingCompletion) {
		t.Errorf("a locked fused account unlocked to %s", st)
	}
	// 审核 sees the page but not the actions.
	sh := b.staffBrowser(t, "sh.unlock", "shenhe")
	shref := caseOf(t, sh, "id_number", f.IDNumber)
	if p := sh.get("/admin/accounts/" + shref); p.Status != http.StatusOK || strings.Contains(p.Raw, `id="actions"`) {
		t.Errorf("审核's account page: %d, actions shown %v", p.Status, strings.Contains(p.Raw, `id="actions"`))
	}
	// The actions are 客服's only.
	for _, a := range []string{"unlock", "end-sessions", "disable", "enable", "reset-step", "realname-recheck", "resend-notice"} {
		if r := act(sh, shref, a, "审核越权"); r.Status != http.StatusForbidden || r.str("error") != "staff_forbidden" {
			t.Errorf("%s by 审核: %d %s", a, r.Status, r.Raw)
		}
	}
}

// TestConsoleActionsDisable: end-sessions ends the citizen's live
// session; disable ends it too and blocks every login; enable lets the
// citizen in again; each audited with the sessions ended, refused
// without a reason and when there is nothing to do.
func TestConsoleActionsDisable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "韩洪阳", "13812340021", "K9#vTq2!mZ")
	kf := b.staffBrowser(t, "kf.disable", "kefu")
	ref := caseOf(t, kf, "id_number", c.IDNumber)
	hint := b.column(t, `SELECT id_hint FROM account WHERE id = $1`, c.id)[0]
	citizen := b.browser(t)
	login := func() {
		t.Helper()
		if r := citizen.passwordLogin(c, "K9#vTq2!mZ"); r.Status != http.StatusOK {
			t.Fatalf("login: %d %s", r.Status, r.Raw)
		}
		if r := citizen.get("/api/v1/me"); r.Status != http.StatusOK {
			t.Fatalf("me: %d %s", r.Status, r.Raw)
		}
	}
	login()
	// The session is signed in to a business system: its session there
	// ends too.
	if _, err := RegisterClient(context.Background(), b.pool, Client{ID: "biz.actions", Name: "示例业务系统", RedirectURIs: []string{"https://biz.example/cb"},
		Scopes: []string{"profile"}}); err != nil {
		t.Fatal(err)
	}
	b.exec(t, `INSERT INTO oidc_session_client (session_hash, client_id, account_id, subject, sid, created_at, account_bidx)
		SELECT id_hash, 'biz.actions', account_id, 'sub', 'sid', now(), $2 FROM auth_session WHERE account_id = $1 AND revoked_at IS NULL`,
		c.id, b.keys.BlindIndex(string(schemas.FieldIDNumber), c.IDNumber))
	if r := act(kf, ref, "end-sessions", ""); r.Status != http.StatusBadRequest {
		t.Errorf("end-sessions without a reason: %d %s", r.Status, r.Raw)
	}
	if r := citizen.get("/api/v1/me"); r.Status != http.StatusOK {
		t.Errorf("end-sessions without a reason ended the session: %d", r.Status)
	}
	r := act(kf, ref, "end-sessions", "用户手机丢失")
	if r.Status != http.StatusOK || r.Body["sessions_ended"] != 1.0 {
		t.Errorf("end-sessions: %d %s", r.Status, r.Raw)
	}
	if r := citizen.get("/api/v1/me"); r.Status == http.StatusOK {
		t.Error("the session lives on after end-sessions")
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_session_client WHERE client_id = 'biz.actions' AND ended_at IS NOT NULL`); n != 1 {
		t.Error("the business system's session lives on after end-sessions")
	}
	if n := b.staffAudits(t, "end_sessions", "ok", "kf.disable", c.id, hint, "用户手机丢失"); n != 1 {
		t.Errorf("%d end-sessions audit rows, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_end_sessions' AND detail LIKE '%; ended=1'`); n != 1 {
		t.Error("end-sessions audited without how many")
	}

	login()
	if r := act(kf, ref, "disable", ""); r.Status != http.StatusBadRequest {
		t.Errorf("disable without a reason: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND status = 'active'`, c.id); n != 1 {
		t.Error("disabled without a reason")
	}
	r = act(kf, ref, "disable", "公安机关要求停用")
	if r.Status != http.StatusOK || r.str("status") != "disabled" || r.Body["sessions_ended"] != 1.0 {
		t.Errorf("disable: %d %s", r.Status, r.Raw)
	}
	if r := citizen.get("/api/v1/me"); r.Status == http.StatusOK {
		t.Error("the session lives on after disable")
	}
	if r := citizen.passwordLogin(c, "K9#vTq2!mZ"); r.Status == http.StatusOK {
		t.Error("a disabled account logs in")
	}
	if r := act(kf, ref, "disable", "再次停用"); r.Status != http.StatusConflict || r.str("error") != "already_disabled" {
		t.Errorf("disable twice: %d %s", r.Status, r.Raw)
	}
	if n := b.staffAudits(t, "disable", "ok", "kf.disable", c.id, hint, "公安机关要求停用"); n != 1 {
		t.Errorf("%d disable audit rows, want 1", n)
	}
	if r := act(kf, ref, "enable", ""); r.Status != http.StatusBadRequest {
		t.Errorf("enable without a reason: %d %s", r.Status, r.Raw)
	}
	if r := act(kf, ref, "enable", "停用原因已消除"); r.Status != http.StatusOK || r.str("status") != "active" {
		t.Errorf("enable: %d %s", r.Status, r.Raw)
	}
	if n := b.staffAudits(t, "enable", "ok", "kf.disable", c.id, hint, "停用原因已消除"); n != 1 {
		t.Errorf("%d enable audit rows, want 1", n)
	}
	login()
	if r := act(kf, ref, "enable", "再次启用"); r.Status != http.StatusConflict || r.str("error") != "not_disabled" {
		t.Errorf("enable of an active account: %d %s", r.Status, r.Raw)
	}
	// A fused account goes back to pending completion.
	f := b.fused(t, "李四", "13812340022")
	fref := caseOf(t, kf, "id_number", f.IDNumber)
	for _, a := range []string{"disable", "enable"} {
		if r := act(kf, fref, a, "核实材料"); r.Status != http.StatusOK {
			t.Errorf("%s of a fused account: %d %s", a, r.Status, r.Raw)
		}
	}
	if st := b.column(t, `SELECT status::text FROM account WHERE id = $1`, f.id)[0]; st != string(schemas.StatusPendingCompletion) {
		t.Errorf("a fused account enabled to %s", st)
	}

	// Two staff disabling at once, both reading the account while a
	// transaction holds its row: the second sees the first's disable.
	kf2 := b.staffBrowser(t, "kf.disable2", "kefu")
	refs := []string{fref, caseOf(t, kf2, "id_number", f.IDNumber)}
	ctx := context.Background()
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM account WHERE id = $1 FOR UPDATE`, f.id); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]response, 2)
	for i, br := range []*browser{kf, kf2} {
		wg.Go(func() { got[i] = act(br, refs[i], "disable", "并发停用") })
	}
	for deadline := time.Now().Add(20 * time.Second); b.count(t, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock'`) < 2; {
		if time.Now().After(deadline) {
			t.Error("the parallel disables never waited for the held row")
			break
		}
		runtime.Gosched()
	}
	tx.Rollback(ctx)
	wg.Wait()
	if got[0].Status+got[1].Status != http.StatusOK+http.StatusConflict {
		t.Errorf("parallel disables: %d %s / %d %s", got[0].Status, got[0].Raw, got[1].Status, got[1].Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_disable' AND outcome = 'ok' AND detail LIKE '%reason=并发停用%'`); n != 1 {
		t.Errorf("%d parallel disables audited ok, want 1", n)
	}
}

// TestConsoleActionsResetStep: a citizen at ③ whose face was approved
// but not yet used, and one at ① with a code sent to a new phone: the
// reset voids the approval and the code, so each must redo that step
// (and only it: ① and ② done stay done); refused without a reason, on an
// account not pending completion, and with nothing in progress.
func TestConsoleActionsResetStep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.fused(t, "韩洪阳", "13812340031")
	kf := b.staffBrowser(t, "kf.reset", "kefu")
	ref := caseOf(t, kf, "id_number", f.IDNumber)
	hint := b.column(t, `SELECT id_hint FROM account WHERE id = $1`, f.id)[0]
	citizen := b.browser(t)
	if r := citizen.smsLogin(f); r.Status != http.StatusOK {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	citizen.completeTo(f, schemas.StepFace)
	r := citizen.post("/api/v1/completion/face", nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("face start: %d %s", r.Status, r.Raw)
	}
	ch := r.str("challenge")
	b.approveFace(t, ch, f.IDNumber)

	if r := act(kf, ref, "reset-step", ""); r.Status != http.StatusBadRequest {
		t.Errorf("reset-step without a reason: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM face_challenge WHERE id = $1 AND status = 'approved'`, ch); n != 1 {
		t.Error("reset without a reason voided the face")
	}
	if r := act(kf, ref, "reset-step", "人脸识别卡住，用户要求重新开始"); r.Status != http.StatusOK || r.str("status") != "pending_completion" {
		t.Fatalf("reset-step: %d %s", r.Status, r.Raw)
	}
	if n := b.staffAudits(t, "reset_step", "ok", "kf.reset", f.id, hint, "人脸识别卡住，用户要求重新开始"); n != 1 {
		t.Errorf("%d reset-step audit rows, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_reset_step' AND detail LIKE '%; faces=1; codes=0'`); n != 1 {
		t.Error("reset-step audited without what it cleared")
	}
	// The approval waiting to be spent activates nothing now.
	if r := citizen.get("/api/v1/completion/face/" + ch); r.Status == http.StatusOK && (r.str("status") == "approved" || r.str("next") != "") {
		t.Errorf("the approved face still completes after the reset: %s", r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND status = 'pending_completion'`, f.id); n != 1 {
		t.Fatal("the account was activated by the voided face")
	}
	// ③ again, with a new face check; ① and ② stay done.
	if r := citizen.faceThrough("/api/v1/completion/face", nil, f); r.Status != http.StatusOK || r.str("next") == "" {
		t.Fatalf("face again: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND status = 'active' AND password_hash IS NOT NULL`, f.id); n != 1 {
		t.Error("the completion did not end after the new face")
	}
	if r := act(kf, ref, "reset-step", "再次重置"); r.Status != http.StatusConflict || r.str("error") != "not_pending" {
		t.Errorf("reset-step of an active account: %d %s", r.Status, r.Raw)
	}

	// ①: a code to a new phone is spent.
	g := b.fused(t, "李四", "13812340032")
	gref := caseOf(t, kf, "id_number", g.IDNumber)
	other := b.browser(t)
	if r := other.smsLogin(g); r.Status != http.StatusOK {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	if r := other.postSolving("/api/v1/completion/info/sms", map[string]string{"phone": "13912340033"}); r.Status != http.StatusAccepted {
		t.Fatalf("info code: %d %s", r.Status, r.Raw)
	}
	code := b.lastCodeTo(t, "13912340033")
	if r := act(kf, gref, "reset-step", "用户更换手机号"); r.Status != http.StatusOK {
		t.Fatalf("reset-step at ①: %d %s", r.Status, r.Raw)
	}
	if r := other.post("/api/v1/completion/info", map[string]string{"phone": "13912340033", "code": code, "address": "海口市"}); r.Status == http.StatusOK {
		t.Errorf("the code sent before the reset still does ①: %s", r.Raw)
	}
	if r := act(kf, gref, "reset-step", "再次重置"); r.Status != http.StatusConflict || r.str("error") != "nothing_to_reset" {
		t.Errorf("reset-step with nothing in progress: %d %s", r.Status, r.Raw)
	}
}

// TestConsoleActionsRealname: realname-recheck asks the enterprise
// interface now for this account: 仍未认证 while it has no data (the next
// check postponed by the backoff), 已认证 once it has; audited with the
// result; refused for a verified or a natural account and without a
// reason.
func TestConsoleActionsRealname(t *testing.T) {
	t.Parallel()
	b, reg := legalSetup(t, 0)
	e := b.fusedLegal(t, "海南椰风科技有限公司", "13812340041")
	other := b.fusedLegal(t, "海南椰林贸易有限公司", "13812340042") // due too, left alone
	c := b.fused(t, "韩洪阳", "13812340043")
	kf := b.staffBrowser(t, "kf.realname", "kefu")
	ref := caseOf(t, kf, "credit_code", e.CreditCode)
	hint := b.column(t, `SELECT id_hint FROM account WHERE id = $1`, e.id)[0]

	if r := act(kf, ref, "realname-recheck", ""); r.Status != http.StatusBadRequest {
		t.Errorf("realname-recheck without a reason: %d %s", r.Status, r.Raw)
	}
	r := act(kf, ref, "realname-recheck", "企业来电要求重新认证")
	if r.Status != http.StatusOK || r.str("realname") != "unverified" || r.str("notice") != "实名认证结果：仍未认证" {
		t.Errorf("recheck without data: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND realname_status = 'unverified' AND realname_attempts = 1
		AND realname_next_check_at = $2`, e.id, b.clock.Now().Add(b.svc.realnameBackoff(1))); n != 1 {
		t.Error("a recheck without a verdict did not postpone the next check")
	}
	reg.Add(Enterprise{CreditCode: e.CreditCode, Name: e.Name, RepName: e.RepName, RepIDType: "resident", RepID: e.RepID})
	// Through the page: the result shown.
	f := kf.form("/admin/accounts/"+ref+"/realname-recheck", url.Values{"reason": {"企业补交材料后重新认证"}})
	if loc := f.Header.Get("Location"); f.Status != http.StatusSeeOther || !strings.HasSuffix(loc, "?done=realname-verified") {
		t.Fatalf("recheck form: %d %s", f.Status, loc)
	}
	if p := kf.get(f.Header.Get("Location")); !strings.Contains(p.Raw, "实名认证结果：已认证") {
		t.Errorf("the page does not show the result: %s", p.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND realname_status = 'verified' AND realname_source = 'scheduled'`, e.id); n != 1 {
		t.Error("the recheck with data did not verify")
	}
	if n := b.staffAudits(t, "realname_recheck", "ok", "kf.realname", e.id, hint, "企业来电要求重新认证"); n != 1 {
		t.Errorf("%d unverified recheck audit rows, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_realname_recheck' AND outcome = 'ok' AND detail LIKE '%reason=企业补交材料后重新认证; result=verified'`); n != 1 {
		t.Error("the verified recheck is not audited with its result")
	}
	// Each ask of the enterprise interface is on record before it is made.
	if n := b.staffAudits(t, "realname_recheck", "started", "kf.realname", e.id, hint, "企业补交材料后重新认证"); n != 1 {
		t.Errorf("%d started rechecks audited, want 1", n)
	}
	if r := act(kf, ref, "realname-recheck", "再次认证"); r.Status != http.StatusConflict || r.str("error") != "realname_verified" {
		t.Errorf("recheck of a verified account: %d %s", r.Status, r.Raw)
	}
	if r := act(kf, caseOf(t, kf, "id_number", c.IDNumber), "realname-recheck", "自然人认证"); r.Status != http.StatusConflict || r.str("error") != "not_legal" {
		t.Errorf("recheck of a natural account: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND realname_attempts = 0 AND realname_next_check_at IS NULL`, other.id); n != 1 {
		t.Error("the recheck checked another account")
	}
}
