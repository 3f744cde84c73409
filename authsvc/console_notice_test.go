package authsvc

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/pii"
)

// TestConsoleResendNotice: 客服 sends a fused citizen the account's notice
// (how to get in, ①②③ on the first login) on the bound phone, audited
// with the reason and the masked phone; a legal person's says 法人登录 and
// an active account's how to sign in; at most one per 10 minutes and 3 a
// day per phone, whichever of its accounts, however many staff press it
// at once; audited as started, then ok; refused for a disabled
// account, an account without a phone and without a reason; a gateway
// that is down is reported and audited as failed, and counts.
func TestConsoleResendNotice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sent := func(phone, text string) int {
		t.Helper()
		return b.count(t, `SELECT count(*) FROM sms_outbox WHERE phone_hint = $1 AND strpos(body, $2) > 0`, pii.MaskPhone(phone), text)
	}
	kf := b.staffBrowser(t, "kf.notice", "kefu")
	f := b.fused(t, "李四", "13812340031")
	hint := b.column(t, `SELECT id_hint FROM account WHERE id = $1`, f.id)[0]
	ref := caseOf(t, kf, "id_number", f.IDNumber)

	if r := act(kf, ref, "resend-notice", ""); r.Status != http.StatusBadRequest || r.str("error") != "reason_required" {
		t.Errorf("without a reason: %d %s", r.Status, r.Raw)
	}
	if n := sent(f.Phone, "统一身份认证"); n != 0 {
		t.Fatalf("%d notices sent without a reason", n)
	}
	// Two staff at once: one notice.
	kf2 := b.staffBrowser(t, "kf.notice2", "kefu")
	refs := []string{ref, caseOf(t, kf2, "id_number", f.IDNumber)}
	got := make([]response, 2)
	var wg sync.WaitGroup
	for i, br := range []*browser{kf, kf2} {
		wg.Go(func() { got[i] = act(br, refs[i], "resend-notice", "用户来电称不知如何登录") })
	}
	wg.Wait()
	if got[0].Status+got[1].Status != http.StatusOK+http.StatusConflict {
		t.Fatalf("parallel notices: %d %s / %d %s", got[0].Status, got[0].Raw, got[1].Status, got[1].Raw)
	}
	if n := sent(f.Phone, "首次登录请在登录页使用手机验证码或刷脸登录，并按提示依次完善信息、设置密码、完成刷脸认证"); n != 1 {
		t.Errorf("%d first-login notices sent, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_resend_notice' AND outcome = 'ok' AND account_id = $1
		AND detail LIKE '%target=' || $2 || '; reason=用户来电称不知如何登录; phone=' || $3`, f.id, hint, pii.MaskPhone(f.Phone)); n != 1 {
		t.Errorf("%d notices audited ok, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_resend_notice' AND outcome = 'refused' AND detail LIKE '%refused=notice_limit'`); n != 1 {
		t.Errorf("%d notices refused for the limit audited, want 1", n)
	}
	// The gap, then the daily limit.
	b.clock.Advance(9 * time.Minute)
	if r := act(kf, ref, "resend-notice", "再次发送"); r.Status != http.StatusConflict || r.str("error") != "notice_limit" {
		t.Errorf("9 minutes later: %d %s", r.Status, r.Raw)
	}
	for i := range 2 {
		b.clock.Advance(2 * time.Minute)
		ref = caseOf(t, kf, "id_number", f.IDNumber)
		if r := act(kf, ref, "resend-notice", "再次发送"); r.Status != http.StatusOK || r.str("notice") != "已向账号绑定的手机号重新发送账号通知" {
			t.Errorf("notice %d after the gap: %d %s", i+2, r.Status, r.Raw)
		}
		b.clock.Advance(9 * time.Minute)
	}
	b.clock.Advance(2 * time.Minute)
	if r := act(kf, caseOf(t, kf, "id_number", f.IDNumber), "resend-notice", "第四次"); r.Status != http.StatusConflict || r.str("error") != "notice_limit" {
		t.Errorf("a fourth notice the same day: %d %s", r.Status, r.Raw)
	}
	if n := sent(f.Phone, "首次登录"); n != 3 {
		t.Errorf("%d notices sent in the day, want 3", n)
	}
	// The next day, again (another member: the session has ended).
	b.clock.Advance(24 * time.Hour)
	kf3 := b.staffBrowser(t, "kf.notice3", "kefu")
	if r := act(kf3, caseOf(t, kf3, "id_number", f.IDNumber), "resend-notice", "次日再次来电"); r.Status != http.StatusOK {
		t.Errorf("the next day: %d %s", r.Status, r.Raw)
	}

	// A legal person's, an active citizen's, through the page's form.
	kf = kf3
	e := b.fusedLegal(t, "海南示例科技有限公司", "13812340032")
	eref := caseOf(t, kf, "credit_code", e.CreditCode)
	if p := kf.get("/admin/accounts/" + eref); !strings.Contains(p.Raw, `id="action-resend-notice"`) || !strings.Contains(p.Raw, pii.MaskPhone(e.Phone)) {
		t.Errorf("the legal account's page has no resend form: %s", p.Raw)
	}
	r := kf.form("/admin/accounts/"+eref+"/resend-notice", map[string][]string{"reason": {"企业来电"}})
	if loc := r.Header.Get("Location"); r.Status != http.StatusSeeOther || loc != "/admin/accounts/"+eref+"?done=resend-notice" {
		t.Errorf("resend form: %d %s", r.Status, loc)
	}
	if n := sent(e.Phone, "首次登录请在登录页选择“法人登录”，使用手机验证码登录"); n != 1 {
		t.Errorf("%d legal first-login notices, want 1", n)
	}
	c := b.active(t, "韩洪阳", "13812340033", "K9#vTq2!mZ")
	if r := act(kf, caseOf(t, kf, "id_number", c.IDNumber), "resend-notice", "用户忘记登录方式"); r.Status != http.StatusOK {
		t.Errorf("active: %d %s", r.Status, r.Raw)
	}
	if n := sent(c.Phone, "账号可正常使用，可在登录页使用账号密码、手机验证码或刷脸登录"); n != 1 {
		t.Errorf("%d active notices, want 1", n)
	}

	// Two accounts on one phone (family members in the departments'
	// data): the limit is the phone's.
	s1, s2 := b.fused(t, "钱一", "13812340036"), b.fused(t, "钱二", "13812340036")
	if r := act(kf, caseOf(t, kf, "id_number", s2.IDNumber), "resend-notice", "家人来电"); r.Status != http.StatusOK {
		t.Errorf("one account of a shared phone: %d %s", r.Status, r.Raw)
	}
	if r := act(kf, caseOf(t, kf, "id_number", s1.IDNumber), "resend-notice", "家人来电"); r.Status != http.StatusConflict || r.str("error") != "notice_limit" {
		t.Errorf("the other account of the phone right after: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_resend_notice' AND account_id = $1 AND outcome IN ('started', 'ok')`, s2.id); n != 2 {
		t.Errorf("%d started and ok rows of a notice sent, want 2", n)
	}

	// Two staff at once, each on another account of one phone: one
	// notice. The test holds the audit chain's head, which each request
	// takes last, until both wait (one for the head, the other for the
	// phone's lock; without that lock both would have counted nothing
	// yet and wait for the head), so they overlap.
	s3, s4 := b.fused(t, "孙一", "13812340037"), b.fused(t, "孙二", "13812340037")
	kf4 := b.staffBrowser(t, "kf.notice4", "kefu")
	refs = []string{caseOf(t, kf, "id_number", s3.IDNumber), caseOf(t, kf4, "id_number", s4.IDNumber)}
	ctx := context.Background()
	hold, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(ctx, `UPDATE auth_audit_head SET hash = hash`); err != nil {
		t.Fatal(err)
	}
	wait := b.overlap(t, func() { got[0] = act(kf, refs[0], "resend-notice", "家人同时来电") },
		func() { got[1] = act(kf4, refs[1], "resend-notice", "家人同时来电") })
	hold.Rollback(ctx)
	wait()
	if got[0].Status+got[1].Status != http.StatusOK+http.StatusConflict {
		t.Errorf("parallel notices to one phone: %d %s / %d %s", got[0].Status, got[0].Raw, got[1].Status, got[1].Raw)
	}

	// Disabled, or no phone: refused, nothing sent, audited.
	d := b.active(t, "王五", "13812340034", "K9#vTq2!mZ")
	b.exec(t, `UPDATE account SET status = 'disabled' WHERE id = $1`, d.id)
	dref := caseOf(t, kf, "id_number", d.IDNumber)
	if p := kf.get("/admin/accounts/" + dref); strings.Contains(p.Raw, `id="action-resend-notice"`) {
		t.Error("a disabled account's page offers the notice")
	}
	if r := act(kf, dref, "resend-notice", "停用账号"); r.Status != http.StatusConflict || r.str("error") != "account_unusable" {
		t.Errorf("disabled: %d %s", r.Status, r.Raw)
	}
	n := b.fused(t, "赵六", "13812340035")
	b.exec(t, `UPDATE account SET phone_sealed = NULL, phone_bidx = NULL, phone_hint = '' WHERE id = $1`, n.id)
	nref := caseOf(t, kf, "id_number", n.IDNumber)
	if p := kf.get("/admin/accounts/" + nref); p.Status != http.StatusOK || strings.Contains(p.Raw, `id="action-resend-notice"`) {
		t.Errorf("the page of an account without a phone: %d, offers the notice %v", p.Status, strings.Contains(p.Raw, `id="action-resend-notice"`))
	}
	if r := act(kf, nref, "resend-notice", "无手机号"); r.Status != http.StatusConflict || r.str("error") != "no_phone" {
		t.Errorf("no phone: %d %s", r.Status, r.Raw)
	}
	if sent(d.Phone, "统一身份认证")+sent(n.Phone, "统一身份认证") != 0 {
		t.Error("a refused notice was sent")
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_resend_notice' AND outcome = 'refused'
		AND (detail LIKE '%refused=account_unusable' OR detail LIKE '%refused=no_phone')`); n != 2 {
		t.Errorf("%d refusals audited, want 2", n)
	}
}

// TestConsoleResendNoticeGatewayDown: a notice the gateway refuses is
// reported (502), audited as failed, and counts towards the limit.
func TestConsoleResendNoticeGatewayDown(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.SMS = failingSMS{} })
	kf := b.staffBrowser(t, "kf.down", "kefu")
	f := b.fused(t, "李四", "13812340041")
	ref := caseOf(t, kf, "id_number", f.IDNumber)
	if r := act(kf, ref, "resend-notice", "用户来电"); r.Status != http.StatusBadGateway || r.str("error") != "notice_failed" {
		t.Errorf("gateway down: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_resend_notice' AND outcome = 'failed' AND account_id = $1`, f.id); n != 1 {
		t.Errorf("%d failed notices audited, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_resend_notice' AND outcome = 'ok'`); n != 0 {
		t.Errorf("a notice the gateway refused is audited ok %d times", n)
	}
	if r := act(kf, ref, "resend-notice", "再试"); r.Status != http.StatusConflict || r.str("error") != "notice_limit" {
		t.Errorf("right after a failed notice: %d %s", r.Status, r.Raw)
	}
}
