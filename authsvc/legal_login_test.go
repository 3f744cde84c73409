package authsvc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The 法人登录: a legal account logs in with its credit code (typed
// full-width, in lower case, with spaces) or its login name, by password
// or by a code sent to its contact's phone, with the citizens' limits,
// lockout and audit. Neither form finds the other kind's accounts.

// legalLoginFailed is the one answer of a refused 法人登录.
var legalLoginFailed = reply{Status: http.StatusUnauthorized,
	Body: `{"error":"login_failed","message":"登录失败：统一社会信用代码（或用户名）或验证信息不正确，或账号暂时无法登录。密码连续输错多次后密码登录将暂时锁定，届时可使用手机验证码登录。"}` + "\n"}

// legalRefused checks that r is the one answer of a refused 法人登录.
func legalRefused(t testing.TB, what string, r response) {
	t.Helper()
	if got := replyOf(r); got != legalLoginFailed {
		t.Errorf("%s: %+v, want %+v", what, got, legalLoginFailed)
	}
}

func (br *browser) legalPasswordLogin(key, password string) response {
	br.t.Helper()
	return br.post("/api/v1/login/legal/password", map[string]string{"credit_code": key, "password": password})
}

// spaced writes a credit code in lower case with spaces between its
// groups, as a clerk may copy it from a licence.
func spaced(code string) string {
	return strings.ToLower(code[:2] + " " + code[2:8] + " " + code[8:17] + " " + code[17:])
}

func TestLegalPasswordLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南椰风科技有限公司", "13912349071", goodPassword)
	c := b.active(t, "王五", "13912340001", goodPassword)
	b.setUsername(t, e.id, "yefengkeji")
	b.setUsername(t, c.id, "wangwu01")
	for _, key := range []string{e.CreditCode, fullWidth(e.CreditCode), spaced(e.CreditCode), " " + strings.ToLower(e.CreditCode) + " ", "yefengkeji", "YeFengKeJi"} {
		br := b.browser(t)
		r := br.legalPasswordLogin(key, goodPassword)
		signedIn(t, "legal login by "+key, r)
		if r.str("next") != "/center" {
			t.Errorf("legal login by %s goes to %q", key, r.str("next"))
		}
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE account_id = $1 AND event = 'login_password' AND outcome = 'ok'`, e.id); got != 6 {
		t.Errorf("%d legal logins audited, want 6", got)
	}
	// The wrong tab finds nothing: the credit code and the legal username
	// on 个人登录, the citizen's ID number and username on 法人登录. Each
	// is refused with the one answer and counted against nobody.
	refused(t, "credit code on 个人登录", b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": e.CreditCode, "password": goodPassword}))
	refused(t, "legal username on 个人登录", b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": "yefengkeji", "password": goodPassword}))
	legalRefused(t, "ID number on 法人登录", b.browser(t).legalPasswordLogin(c.IDNumber, goodPassword))
	legalRefused(t, "citizen's username on 法人登录", b.browser(t).legalPasswordLogin("wangwu01", goodPassword))
	legalRefused(t, "no such credit code", b.browser(t).legalPasswordLogin(creditCode(), goodPassword))
	legalRefused(t, "not a credit code", b.browser(t).legalPasswordLogin("91460100MA5TI0000O", goodPassword))
	signedIn(t, "the citizen still on 个人登录", b.browser(t).passwordLogin(c, goodPassword))
}

// Wrong passwords on the 法人登录 lock its password logins as a citizen's
// (the same count, audited); the lock answers as a wrong password does.
func TestLegalPasswordLockout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南椰风科技有限公司", "13912349072", goodPassword)
	for range b.svc.lockout.MaxFailures {
		legalRefused(t, "wrong password", b.browser(t).legalPasswordLogin(spaced(e.CreditCode), "Wrong#Pass9"))
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE account_id = $1 AND event = 'login_password' AND detail = 'wrong password'`, e.id); got != b.svc.lockout.MaxFailures {
		t.Errorf("%d wrong passwords audited, want %d", got, b.svc.lockout.MaxFailures)
	}
	legalRefused(t, "right password while locked", b.browser(t).legalPasswordLogin(e.CreditCode, goodPassword))
	b.clock.Advance(b.svc.cfg.LockFor + time.Second)
	signedIn(t, "right password after the lock", b.browser(t).legalPasswordLogin(e.CreditCode, goodPassword))
}

// A login code goes to the contact's phone on record of the credit code's
// account only, with the same answer for every credit code and phone; it
// signs in on the 法人登录 only.
func TestLegalSMSLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南椰风科技有限公司", "13912349073", goodPassword)
	br := b.browser(t)
	sent := br.postSolving("/api/v1/login/legal/sms/send", map[string]string{"credit_code": fullWidth(e.CreditCode), "phone": e.Phone})
	if sent.Status != http.StatusAccepted || sent.str("message") != legalCodeSentNotice {
		t.Fatalf("send: %d %s", sent.Status, sent.Raw)
	}
	code := b.lastCodeTo(t, e.Phone)
	// Another credit code, the personal tab: the same answer, nothing sent.
	b.clock.Advance(61 * time.Second)
	other := b.browser(t).postSolving("/api/v1/login/legal/sms/send", map[string]string{"credit_code": creditCode(), "phone": "13912349074"})
	if other.Status != sent.Status || other.Raw != sent.Raw {
		t.Errorf("send for no account: %d %s, want %s", other.Status, other.Raw, sent.Raw)
	}
	refused(t, "legal code on 个人登录", b.browser(t).post("/api/v1/login/sms", map[string]string{"id_number": e.CreditCode, "phone": e.Phone, "code": code}))
	r := br.post("/api/v1/login/legal/sms", map[string]string{"credit_code": spaced(e.CreditCode), "phone": e.Phone, "code": code})
	signedIn(t, "legal code login", r)
}

// The 法人登录 page forms post to the legal routes and come back on the
// legal tab.
func TestLegalLoginForm(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南椰风科技有限公司", "13912349075", goodPassword)
	br := b.browser(t)
	r := br.form("/login/legal/password", url.Values{"credit_code": {e.CreditCode}, "password": {"Wrong#Pass9"}})
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Raw, `id="legal-password-form"`) || !strings.Contains(r.Raw, "<title>法人登录") ||
		!strings.Contains(r.Raw, `value="`+e.CreditCode+`"`) {
		t.Errorf("wrong password form: %d %s", r.Status, r.Raw)
	}
	r = br.form("/login/legal/password", url.Values{"credit_code": {spaced(e.CreditCode)}, "password": {goodPassword}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/center" {
		t.Errorf("legal form login: %d %s", r.Status, r.Header.Get("Location"))
	}
}

// The 企业中心: a legal session sees the legal person's identity masked
// as the seed shows it and the center's functions, never a citizen's
// 用户中心; a citizen's session never the 企业中心.
func TestEnterpriseCenterMasked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南椰风科技有限公司", "13912349071", goodPassword)
	br := b.browser(t)
	signedIn(t, "legal login", br.legalPasswordLogin(e.CreditCode, goodPassword))
	st, page := br.page("/center")
	if st != http.StatusOK {
		t.Fatalf("center: %d", st)
	}
	for _, want := range []string{"<title>企业中心 - 统一身份认证</title>", `<h1 id="center">企业中心</h1>`,
		`<dd id="legal-name">海南椰风科技有限公司</dd>`, `<dd id="credit-code-hint">` + e.CreditCode[:4] + `**********` + e.CreditCode[14:] + `</dd>`,
		`<dd id="legal-type">企业</dd>`, `<dd id="rep-name">吴****</dd>`, `<dd id="rep-id-hint">` + e.RepID[:3] + `****` + e.RepID[14:] + `</dd>`,
		`<dd id="contact-name">韩****</dd>`, `<dd id="phone-hint">139****9071</dd>`, `<dd id="realname-status">实名用户</dd>`,
		`href="/settings/legal/realname" id="realname-upgrade">实名等级升级</a>`, `id="change-password">修改密码</button>`,
		`id="change-phone">修改手机号</a>`, `id="address-form"`, `id="agents-tab">我的经办人</a>`, `id="create-agent"`} {
		if !strings.Contains(page, want) {
			t.Errorf("企业中心 lacks %s", want)
		}
	}
	for _, never := range []string{"用户中心", e.CreditCode, e.RepID, e.RepName, e.Contact, e.Phone, `id="id-hint"`} {
		if strings.Contains(page, never) {
			t.Errorf("企业中心 shows %s", never)
		}
	}
	me := br.get("/api/v1/me")
	if me.str("kind") != "legal" || !strings.Contains(me.Raw, `"rep_id_hint":"`+e.RepID[:3]+`****`) || strings.Contains(me.Raw, e.RepID) || strings.Contains(me.Raw, e.CreditCode) {
		t.Errorf("me: %s", me.Raw)
	}
	c := b.active(t, "王五", "13912340001", goodPassword)
	cb := b.browser(t)
	cb.signIn(c, goodPassword)
	if _, page := cb.page("/center"); !strings.Contains(page, `<h1 id="center">用户中心</h1>`) || strings.Contains(page, "企业中心") || strings.Contains(page, "我的经办人") {
		t.Errorf("a citizen's center: %s", page)
	}
}

// legalCodeLogin signs a legal account in with a code sent to its
// contact's phone.
func (br *browser) legalCodeLogin(e enterprise) response {
	br.t.Helper()
	if r := br.postSolving("/api/v1/login/legal/sms/send", map[string]string{"credit_code": e.CreditCode, "phone": e.Phone}); r.Status != http.StatusAccepted {
		br.t.Fatalf("send code: %d %s", r.Status, r.Raw)
	}
	return br.post("/api/v1/login/legal/sms", map[string]string{"credit_code": e.CreditCode, "phone": e.Phone, "code": br.b.lastCodeTo(br.t, e.Phone)})
}

// The first login of a fused legal account: ① confirm the contact person
// and the contact's phone (proved by the login code), ② a password, ③ the
// face of the legal REPRESENTATIVE, in this order only; a face of anyone
// else is refused. The contact person reaches the account at ③ only.
func TestLegalFirstLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.fusedLegal(t, "海南椰风科技有限公司", "13912349081")
	br := b.browser(t)
	r := br.legalCodeLogin(e)
	if r.Status != http.StatusOK || r.str("next_step") != "info" {
		t.Fatalf("legal code login: %d %s", r.Status, r.Raw)
	}
	if _, page := br.page("/complete/info"); !strings.Contains(page, "确认联系人信息") || !strings.Contains(page, `name="contact_name" value="韩洪阳"`) ||
		!strings.Contains(page, `<dd id="rep-name">吴****</dd>`) || strings.Contains(page, e.RepID) {
		t.Errorf("legal ① page: %s", page)
	}
	outOfOrder := func(what string, r response) {
		t.Helper()
		if r.Status != http.StatusConflict || r.str("error") != "step_out_of_order" {
			t.Errorf("%s: %d %s, want 409 step_out_of_order", what, r.Status, r.Raw)
		}
	}
	outOfOrder("② before ①", br.post("/api/v1/completion/password", map[string]string{"password": goodPassword, "confirm": goodPassword}))
	outOfOrder("③ before ①", br.post("/api/v1/completion/face", nil))
	if r := br.post("/api/v1/completion/info", map[string]string{"address": "海口市龙华区滨海大道1号", "contact_name": " "}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Raw, "请填写联系人") {
		t.Errorf("① without a contact: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/completion/info", map[string]string{"address": "海口市龙华区滨海大道1号", "contact_name": " 李四 "}); r.Status != http.StatusOK {
		t.Fatalf("①: %d %s", r.Status, r.Raw)
	}
	outOfOrder("① twice", br.post("/api/v1/completion/info", map[string]string{"address": "海口市龙华区滨海大道2号", "contact_name": "王五"}))
	if got := b.column(t, `SELECT contact_name FROM account WHERE id = $1`, e.id); got[0] != "韩洪阳" {
		t.Errorf("the contact changed before ③: %v", got)
	}
	if r := br.post("/api/v1/completion/password", map[string]string{"password": goodPassword, "confirm": goodPassword}); r.Status != http.StatusOK {
		t.Fatalf("②: %d %s", r.Status, r.Raw)
	}
	// ③: the face of the credit code's contact, of a citizen, is not the
	// representative's.
	start := br.post("/api/v1/completion/face", nil)
	if start.Status != http.StatusCreated {
		t.Fatalf("③ start: %d %s", start.Status, start.Raw)
	}
	if st, _ := b.svc.SimulateFace(context.Background(), start.str("challenge"), residentID("19800101"), FacePass); st == http.StatusOK {
		t.Error("another person's face approved the representative's challenge")
	}
	if r := br.get("/api/v1/completion/face/" + start.str("challenge")); r.str("status") != "rejected" {
		t.Errorf("after another face: %s", r.Raw)
	}
	if got := b.column(t, `SELECT status FROM account WHERE id = $1`, e.id); got[0] != "pending_completion" {
		t.Errorf("another face activated the account: %v", got)
	}
	r = br.faceThrough("/api/v1/completion/face", nil, citizen{IDNumber: e.RepID})
	if r.Status != http.StatusOK || r.str("status") != "used" {
		t.Fatalf("③ with the representative's face: %d %s", r.Status, r.Raw)
	}
	if got := b.column(t, `SELECT status || ' ' || contact_name || ' ' || coalesce(contact_source::text, 'none') || ' ' || realname_status FROM account WHERE id = $1`, e.id); got[0] != "active 李四 none unverified" {
		t.Errorf("after ③: %v", got)
	}
	signedIn(t, "password login after the first login", b.browser(t).legalPasswordLogin(e.CreditCode, goodPassword))
}

// A legal account without a representative on record cannot do ③: the
// page says how to reach the service staff, and the refusal is audited.
func TestLegalFirstLoginWithoutRepresentative(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.fusedLegal(t, "海南椰风科技有限公司", "13912349082")
	if _, err := b.pool.Exec(context.Background(), `UPDATE account SET rep_id_bidx = NULL, rep_id_sealed = NULL WHERE id = $1`, e.id); err != nil {
		t.Fatal(err)
	}
	br := b.browser(t)
	signedIn(t, "legal code login", br.legalCodeLogin(e))
	if r := br.post("/api/v1/completion/info", map[string]string{"address": "海口市龙华区滨海大道1号", "contact_name": "韩洪阳"}); r.Status != http.StatusOK {
		t.Fatalf("①: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/completion/password", map[string]string{"password": goodPassword, "confirm": goodPassword}); r.Status != http.StatusOK {
		t.Fatalf("②: %d %s", r.Status, r.Raw)
	}
	r := br.post("/api/v1/completion/face", nil)
	if r.Status != http.StatusConflict || r.str("error") != "no_representative" || !strings.Contains(r.Raw, "客服人员核实后") {
		t.Errorf("③ without a representative: %d %s", r.Status, r.Raw)
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE account_id = $1 AND event = 'face_complete_start' AND outcome = 'refused' AND detail = 'no representative on record'`, e.id); got != 1 {
		t.Errorf("%d refusals audited, want 1", got)
	}
}

// 找回密码 of account type 法人 (2.2.3): the credit code and the captcha,
// a code to the contact's phone, a new password. A credit code without an
// account gets the same answer (a stand-in phone, nothing sent).
func TestLegalRecovery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南椰风科技有限公司", "13912349091", goodPassword)
	br := b.browser(t)
	r := br.postSolving("/api/v1/recovery", map[string]string{"account_type": "legal", "credit_code": spaced(e.CreditCode)})
	if r.Status != http.StatusAccepted || r.str("phone_hint") != "139****9091" || r.str("next_step") != recoveryCode {
		t.Fatalf("legal recovery start: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/recovery/code", map[string]string{"code": b.lastCodeTo(t, e.Phone)}); r.Status != http.StatusOK {
		t.Fatalf("recovery code: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/recovery/password", map[string]string{"password": recoveredPassword, "confirm": recoveredPassword}); r.Status != http.StatusOK {
		t.Fatalf("recovery password: %d %s", r.Status, r.Raw)
	}
	signedIn(t, "the recovered password", b.browser(t).legalPasswordLogin(e.CreditCode, recoveredPassword))
	legalRefused(t, "the old password", b.browser(t).legalPasswordLogin(e.CreditCode, goodPassword))

	// No enumeration: a credit code without an account answers alike.
	sent := b.count(t, `SELECT count(*) FROM sms_outbox`)
	none := b.browser(t).postSolving("/api/v1/recovery", map[string]string{"account_type": "legal", "credit_code": creditCode()})
	if none.Status != http.StatusAccepted || none.str("next_step") != recoveryCode || !strings.HasPrefix(none.str("phone_hint"), "1") {
		t.Errorf("no account: %d %s", none.Status, none.Raw)
	}
	if got := b.count(t, `SELECT count(*) FROM sms_outbox`); got != sent {
		t.Errorf("%d messages sent for a credit code without an account", got-sent)
	}
	// The citizen's ID number under 法人, the credit code under 个人: no
	// account either.
	if r := b.browser(t).postSolving("/api/v1/recovery", map[string]string{"account_type": "personal", "id_type": "resident", "id_number": e.CreditCode}); r.Status != http.StatusAccepted || r.str("phone_hint") == "139****9091" {
		t.Errorf("credit code as a personal recovery: %d %s", r.Status, r.Raw)
	}
	if r := b.browser(t).postSolving("/api/v1/recovery", map[string]string{"account_type": "legal", "credit_code": "not a code"}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Raw, "credit_code") {
		t.Errorf("a malformed credit code: %d %s", r.Status, r.Raw)
	}
	if _, page := b.browser(t).page("/recovery?type=legal"); !strings.Contains(page, `<option value="legal" selected>法人</option>`) || !strings.Contains(page, `name="credit_code"`) {
		t.Errorf("legal recovery page: %s", page)
	}
}

// 修改手机号 of a legal account (2.2.4): the face of ① is the legal
// representative's, fresh; anyone else's face is refused, and an account
// without a representative on record cannot start it.
func TestLegalPhoneChangeNeedsRepresentativeFace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南椰风科技有限公司", "13912349101", goodPassword)
	br := b.browser(t)
	signedIn(t, "legal login", br.legalPasswordLogin(e.CreditCode, goodPassword))
	const newPhone = "13800138101"
	if _, page := br.page("/settings/phone"); !strings.Contains(page, `<p id="rep-face">请法定代表人 <span id="rep-name">吴****</span> 本人进行人脸识别</p>`) {
		t.Errorf("修改手机号 face page: %s", page)
	}
	if r := br.postSolving("/api/v1/settings/phone/sms", map[string]string{"phone": newPhone}); r.str("error") != "face_required" {
		t.Fatalf("send without face: %d %s", r.Status, r.Raw)
	}
	r := br.post("/api/v1/settings/phone/face", nil)
	if st, _ := b.svc.SimulateFace(context.Background(), r.str("challenge"), residentID("19800101"), FacePass); st == http.StatusOK {
		t.Fatal("another person's face approved the representative's challenge")
	}
	if r := br.faceThrough("/api/v1/settings/phone/face", nil, citizen{IDNumber: e.RepID}); r.Status != http.StatusOK || r.str("status") != "used" {
		t.Fatalf("the representative's face: %d %s", r.Status, r.Raw)
	}
	if r := br.postSolving("/api/v1/settings/phone/sms", map[string]string{"phone": newPhone}); r.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/settings/phone", map[string]string{"phone": newPhone, "code": b.lastCodeTo(t, newPhone)}); r.Status != http.StatusOK {
		t.Fatalf("change: %d %s", r.Status, r.Raw)
	}
	if got := br.get("/api/v1/me"); !strings.Contains(got.Raw, `"phone_hint":"138****8101"`) {
		t.Errorf("me after the change: %s", got.Raw)
	}

	// Without a representative on record: refused and audited.
	n := b.activeLegal(t, "海南无代表有限公司", "13912349102", goodPassword)
	if _, err := b.pool.Exec(context.Background(), `UPDATE account SET rep_id_bidx = NULL, rep_id_sealed = NULL WHERE id = $1`, n.id); err != nil {
		t.Fatal(err)
	}
	nb := b.browser(t)
	signedIn(t, "legal login", nb.legalPasswordLogin(n.CreditCode, goodPassword))
	if r := nb.post("/api/v1/settings/phone/face", nil); r.str("error") != "no_representative" {
		t.Errorf("phone change face without a representative: %d %s", r.Status, r.Raw)
	}
}

// authsvc admin set-phone (SetPhoneByOperator): the operator binds the
// new phone after checking the mailed documents; the change is audited
// with the evidence and the operator, every session of the account ends,
// the old and the new phone get a notice, and the new phone logs in.
func TestAdminSetPhone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南椰风科技有限公司", "13912349111", goodPassword)
	c := b.active(t, "王五", "13912349112", goodPassword)
	br := b.browser(t)
	signedIn(t, "legal login", br.legalPasswordLogin(e.CreditCode, goodPassword))
	// The account is signed in to a business system too.
	b.syncClock()
	rp := b.rp(t, Client{ID: "etax", Scopes: []string{"profile"}})
	tok := rp.legalSignedIn(b.browser(t), e, goodPassword)
	ctx := context.Background()
	outbox := DevOutbox(b.pool, b.clock.Now)
	const newPhone = "13800138111"
	for _, bad := range []OperatorPhoneChange{
		{CreditCode: e.CreditCode, Phone: newPhone, Operator: "张三"},                                     // no evidence
		{CreditCode: e.CreditCode, Phone: newPhone, Evidence: "EMS1234"},                                // no operator
		{CreditCode: e.CreditCode, IDNumber: c.IDNumber, Phone: newPhone, Evidence: "E", Operator: "O"}, // two accounts
		{CreditCode: e.CreditCode, Phone: "12345", Evidence: "E", Operator: "O"},
		{CreditCode: creditCode(), Phone: newPhone, Evidence: "E", Operator: "O"},
		{IDNumber: e.RepID, Phone: newPhone, Evidence: "E", Operator: "O"}, // the representative has no account
	} {
		if _, err := SetPhoneByOperator(ctx, b.pool, b.keys, outbox, bad, b.clock.Now()); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := b.pool.Exec(ctx, `UPDATE account SET phone_verified = true WHERE id = $1`, c.id); err != nil {
		t.Fatal(err)
	}
	if _, err := SetPhoneByOperator(ctx, b.pool, b.keys, outbox, OperatorPhoneChange{CreditCode: e.CreditCode, Phone: c.Phone, Evidence: "E", Operator: "O"}, b.clock.Now()); !errors.Is(err, ErrPhoneBound) {
		t.Errorf("another account's verified phone: %v", err)
	}
	id, err := SetPhoneByOperator(ctx, b.pool, b.keys, outbox, OperatorPhoneChange{CreditCode: fullWidth(e.CreditCode), Phone: newPhone, Evidence: "EMS1234567", Operator: "客服张三"}, b.clock.Now())
	if err != nil || id != e.id {
		t.Fatalf("set phone: %d %v", id, err)
	}
	if r := br.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("the account's session after the change: %d %s", r.Status, r.Raw)
	}
	if _, err := rp.userinfo(tok); err == nil {
		t.Error("the business system's token works after the change")
	}
	if got := b.column(t, `SELECT client_id FROM oidc_session_client WHERE account_id = $1 AND ended_at IS NULL`, e.id); len(got) != 0 {
		t.Errorf("business systems still signed in: %v", got)
	}
	if got := b.column(t, `SELECT detail FROM auth_audit WHERE account_id = $1 AND event = 'admin_set_phone' AND outcome = 'ok'`, e.id); len(got) != 1 ||
		!strings.Contains(got[0], "客服张三") || !strings.Contains(got[0], "EMS1234567") || strings.Contains(got[0], newPhone) {
		t.Errorf("audited: %v", got)
	}
	if got := b.column(t, `SELECT phone_hint FROM sms_outbox WHERE body LIKE '%客服人员%' ORDER BY id`); strings.Join(got, " ") != "139****9111 138****8111" {
		t.Errorf("notices to %v", got)
	}
	if got := b.column(t, `SELECT phone_hint || ' ' || phone_verified FROM account WHERE id = $1`, e.id); got[0] != "138****8111 true" {
		t.Errorf("account after: %v", got)
	}
	b.clock.Advance(61 * time.Second)
	signedIn(t, "code login at the new phone", b.browser(t).legalCodeLogin(enterprise{CreditCode: e.CreditCode, Phone: newPhone}))
}

// Raced ① of a legal first login: of two at once, one passes and the
// other is refused as out of order; the flow holds the one contact.
func TestLegalFirstLoginRacedInfo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.fusedLegal(t, "海南椰风科技有限公司", "13912349121")
	br := b.browser(t)
	signedIn(t, "legal code login", br.legalCodeLogin(e))
	var wg sync.WaitGroup
	results := make([]response, 2)
	for i, contact := range []string{"李四", "王五"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = br.post("/api/v1/completion/info", map[string]string{"address": "海口市龙华区滨海大道1号", "contact_name": contact})
		}()
	}
	wg.Wait()
	ok, conflict := 0, 0
	for _, r := range results {
		switch r.Status {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
			conflict++
		}
	}
	if ok != 1 || conflict != 1 {
		t.Errorf("raced ①: %d passed, %d refused, want 1 and 1 (%v)", ok, conflict, results)
	}
	if got := b.column(t, `SELECT contact_name FROM completion_flow WHERE account_id = $1`, e.id); len(got) != 1 || (got[0] != "李四" && got[0] != "王五") {
		t.Errorf("flow contact %v", got)
	}
}

// Wrong codes on the 法人登录 count on the account like a citizen's: the
// MaxFailures-th locks code logins, each is audited, and the lock ends.
func TestLegalSMSLockout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南椰风科技有限公司", "13912349131", goodPassword)
	send := func() string {
		t.Helper()
		b.clock.Advance(61 * time.Second)
		if r := b.browser(t).postSolving("/api/v1/login/legal/sms/send", map[string]string{"credit_code": e.CreditCode, "phone": e.Phone}); r.Status != http.StatusAccepted {
			t.Fatalf("send: %d %s", r.Status, r.Raw)
		}
		return b.lastCodeTo(t, e.Phone)
	}
	login := func(code string) response {
		return b.browser(t).post("/api/v1/login/legal/sms", map[string]string{"credit_code": e.CreditCode, "phone": e.Phone, "code": code})
	}
	for range b.svc.lockout.MaxFailures {
		legalRefused(t, "wrong code", login(wrongCode(send())))
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE account_id = $1 AND event = 'login_sms' AND outcome = 'fail' AND detail = 'wrong code'`, e.id); got != b.svc.lockout.MaxFailures {
		t.Errorf("%d wrong codes audited, want %d", got, b.svc.lockout.MaxFailures)
	}
	legalRefused(t, "right code while locked", login(send()))
	b.clock.Advance(b.svc.cfg.LockFor)
	signedIn(t, "right code after the lock", login(send()))
}
