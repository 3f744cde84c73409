package authsvc

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/idfusion/idfusion/internal/account"
)

const centerPassword = "K9#vTq2!mZ"

// The center shows the identity masked as the seed does, the real-name
// level, and the links of the center's functions.
func TestCenterIdentityMasked(t *testing.T) {
	b := setup(t)
	c := b.active(t, "韩梅梅", "13912349071", centerPassword)
	br := b.browser(t)
	br.signIn(c, centerPassword)
	st, page := br.page("/center")
	if st != http.StatusOK {
		t.Fatalf("center: %d", st)
	}
	for _, want := range []string{`<dd id="name">韩****</dd>`, `<dd id="phone-hint">139****9071</dd>`,
		`<dd id="id-hint">` + c.IDNumber[:1] + `*****` + c.IDNumber[len(c.IDNumber)-1:] + `</dd>`,
		`<dd id="realname-level">LV3`, `href="/settings/phone"`, `id="logout">退出</button>`, "<title>用户中心 - 统一身份认证</title>"} {
		if !strings.Contains(page, want) {
			t.Errorf("center lacks %s", want)
		}
	}
	for _, never := range []string{"韩梅梅", c.IDNumber, c.Phone} {
		if strings.Contains(page, never) {
			t.Errorf("center shows %s in clear", never)
		}
	}
	if r := br.get("/api/v1/me"); r.str("name") != "韩****" || r.str("realname_level") == "" {
		t.Errorf("me: %s", r.Raw)
	}
}

// 修改密码: the old password is checked on the password's own count: a
// wrong one is counted and audited, the MaxFailures-th locks password
// logins, and then even the right old password is refused. A right one
// sets the new password and ends the other sessions.
func TestCenterChangePassword(t *testing.T) {
	b := setup(t)
	c := b.active(t, "王小明", "13912340001", centerPassword)
	br, other := b.browser(t), b.browser(t)
	br.signIn(c, centerPassword)
	other.signIn(c, centerPassword)
	const next = "Zq7$wLp4!x"
	change := func(old, pw, confirm string) response {
		return br.post("/api/v1/settings/password", map[string]string{"old_password": old, "password": pw, "confirm": confirm})
	}
	for _, tc := range []struct {
		name, old, pw, confirm, code string
	}{
		{"confirm differs", centerPassword, next, next + "x", "invalid_input"},
		{"rules", centerPassword, "12345678", "12345678", ""},
		{"same as old", centerPassword, centerPassword, centerPassword, "invalid_input"},
	} {
		r := change(tc.old, tc.pw, tc.confirm)
		if r.Status != http.StatusUnprocessableEntity || (tc.code != "" && r.str("error") != tc.code) {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.Raw)
		}
	}
	// Input refused before any password is compared: nothing counted.
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'settings_password'`); n != 0 {
		t.Fatalf("%d password checks audited for refused input", n)
	}
	r := change("wrong-Pass1!", next, next)
	if r.Status != http.StatusUnprocessableEntity || r.str("error") != "old_password_wrong" {
		t.Fatalf("wrong old: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT password_failures FROM account WHERE id = $1`, c.id); n != 1 {
		t.Fatalf("password_failures = %d after a wrong old password, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'settings_password' AND outcome = 'fail' AND account_id = $1`, c.id); n != 1 {
		t.Fatalf("%d failures audited, want 1", n)
	}
	r = change(centerPassword, next, next)
	if r.Status != http.StatusOK {
		t.Fatalf("change: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT password_failures FROM account WHERE id = $1`, c.id); n != 0 {
		t.Fatalf("password_failures = %d after the change", n)
	}
	if r := other.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("the other session after the change: %d", r.Status)
	}
	if r := br.get("/api/v1/me"); r.Status != http.StatusOK {
		t.Errorf("the changing session after the change: %d", r.Status)
	}
	if r := b.browser(t).passwordLogin(c, centerPassword); r.Status != http.StatusUnauthorized {
		t.Errorf("old password still logs in: %d", r.Status)
	}
	if r := b.browser(t).passwordLogin(c, next); r.Status != http.StatusOK {
		t.Errorf("new password: %d %s", r.Status, r.Raw)
	}
}

func TestCenterChangePasswordLocks(t *testing.T) {
	b := setup(t)
	c := b.active(t, "王小明", "13912340002", centerPassword)
	br := b.browser(t)
	br.signIn(c, centerPassword)
	const next = "Zq7$wLp4!x"
	for i := range b.svc.cfg.MaxFailures {
		if r := br.post("/api/v1/settings/password", map[string]string{"old_password": fmt.Sprintf("wrong-%d!Aa", i), "password": next, "confirm": next}); r.str("error") != "old_password_wrong" {
			t.Fatalf("try %d: %d %s", i, r.Status, r.Raw)
		}
	}
	if r := br.post("/api/v1/settings/password", map[string]string{"old_password": centerPassword, "password": next, "confirm": next}); r.str("error") != "old_password_wrong" {
		t.Fatalf("the right old password while locked: %d %s", r.Status, r.Raw)
	}
	if r := b.browser(t).passwordLogin(c, centerPassword); r.Status != http.StatusUnauthorized {
		t.Errorf("password login after the center's wrong passwords: %d", r.Status)
	}
}

func testAddress(i int) map[string]any {
	return map[string]any{"recipient": fmt.Sprintf("韩梅梅%d", i), "phone": "13912349071", "region": "海南省海口市龙华区", "detail": fmt.Sprintf("滨海大道%d号", i)}
}

// 邮寄地址管理: validated, one default, up to 10 even when added at once,
// CRUD through the JSON twins, and only the account's own.
func TestCenterAddresses(t *testing.T) {
	b := setup(t)
	c := b.active(t, "韩梅梅", "13912349071", centerPassword)
	br := b.browser(t)
	br.signIn(c, centerPassword)
	for _, tc := range []struct {
		name  string
		edit  func(map[string]any)
		field string
	}{
		{"no recipient", func(m map[string]any) { m["recipient"] = "  " }, "recipient"},
		{"bad phone", func(m map[string]any) { m["phone"] = "1234" }, "phone"},
		{"no region", func(m map[string]any) { m["region"] = "" }, "region"},
		{"long detail", func(m map[string]any) { m["detail"] = strings.Repeat("路", 121) }, "detail"},
		{"control character", func(m map[string]any) { m["detail"] = "滨海\n大道" }, "detail"},
	} {
		in := testAddress(0)
		tc.edit(in)
		r := br.post("/api/v1/settings/addresses", in)
		f, _ := r.Body["fields"].(map[string]any)
		if r.Status != http.StatusUnprocessableEntity || f[tc.field] == nil {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.Raw)
		}
	}
	// Twenty at once: ten stored, ten refused.
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Go(func() { statuses[i] = br.post("/api/v1/settings/addresses", testAddress(i)).Status })
	}
	wg.Wait()
	created, refused := 0, 0
	for _, st := range statuses {
		switch st {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			refused++
		default:
			t.Errorf("status %d", st)
		}
	}
	if created != account.MaxAddresses || refused != 10 {
		t.Fatalf("created %d, refused %d; want 10, 10", created, refused)
	}
	list := func() []map[string]any {
		r := br.get("/api/v1/settings/addresses")
		var out []map[string]any
		for _, a := range r.Body["addresses"].([]any) {
			out = append(out, a.(map[string]any))
		}
		return out
	}
	defaults := func(l []map[string]any) (n int, id float64) {
		for _, a := range l {
			if a["is_default"] == true {
				n, id = n+1, a["id"].(float64)
			}
		}
		return
	}
	l := list()
	if n, _ := defaults(l); len(l) != 10 || n != 1 {
		t.Fatalf("%d addresses, %d defaults", len(l), n)
	}
	if l[0]["phone_hint"] != "139****9071" || strings.Contains(fmt.Sprint(l), "13912349071") {
		t.Errorf("phone not masked: %v", l[0])
	}
	// Another address becomes the default; the old one is not.
	last := l[len(l)-1]["id"].(float64)
	if r := br.post(fmt.Sprintf("/api/v1/settings/addresses/%.0f/default", last), nil); r.Status != http.StatusOK {
		t.Fatalf("default: %d %s", r.Status, r.Raw)
	}
	if n, id := defaults(list()); n != 1 || id != last {
		t.Fatalf("after set default: %d defaults, default %v want %v", n, id, last)
	}
	// Update, with a new default through the update.
	first := l[1]["id"].(float64)
	upd := testAddress(99)
	upd["is_default"] = true
	if r := br.do(http.MethodPut, fmt.Sprintf("/api/v1/settings/addresses/%.0f", first), upd); r.Status != http.StatusOK {
		t.Fatalf("update: %d %s", r.Status, r.Raw)
	}
	if n, id := defaults(list()); n != 1 || id != first {
		t.Fatalf("after update: %d defaults, default %v want %v", n, id, first)
	}
	// Deleting the default makes another one the default.
	if r := br.do(http.MethodDelete, fmt.Sprintf("/api/v1/settings/addresses/%.0f", first), nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	if l := list(); len(l) != 9 {
		t.Fatalf("%d after delete", len(l))
	} else if n, _ := defaults(l); n != 1 {
		t.Fatalf("%d defaults after deleting the default", n)
	}
	// Another citizen cannot see or touch them.
	d := b.active(t, "李雷", "13912340003", centerPassword)
	stranger := b.browser(t)
	stranger.signIn(d, centerPassword)
	id := fmt.Sprintf("%.0f", last)
	for _, r := range []response{
		stranger.do(http.MethodPut, "/api/v1/settings/addresses/"+id, testAddress(5)),
		stranger.do(http.MethodDelete, "/api/v1/settings/addresses/"+id, nil),
		stranger.post("/api/v1/settings/addresses/"+id+"/default", nil),
	} {
		if r.Status != http.StatusNotFound {
			t.Errorf("stranger: %d %s", r.Status, r.Raw)
		}
	}
	if r := stranger.get("/api/v1/settings/addresses"); len(r.Body["addresses"].([]any)) != 0 {
		t.Errorf("stranger sees %s", r.Raw)
	}
	if len(list()) != 9 {
		t.Error("the stranger changed the list")
	}
	// Without a session: nothing.
	if r := b.browser(t).get("/api/v1/settings/addresses"); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", r.Status)
	}
	// The page: the form adds, the list shows.
	br2 := b.browser(t)
	br2.signIn(d, centerPassword)
	r := br2.form("/settings/addresses", url.Values{"recipient": {"李雷"}, "phone": {"13912340003"}, "region": {"海南省三亚市"}, "detail": {"解放路8号"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("form add: %d %s", r.Status, r.Raw)
	}
	if _, page := br2.page("/center"); !strings.Contains(page, "解放路8号") || !strings.Contains(page, `class="default">默认`) {
		t.Errorf("center after add lacks the address")
	}
}

// 登录记录: the last 20 logins, newest first, client address masked; no
// other account's, no failures.
func TestCenterLoginRecords(t *testing.T) {
	b := setup(t)
	c := b.active(t, "韩梅梅", "13912349071", centerPassword)
	d := b.active(t, "李雷", "13912340003", centerPassword)
	// Only the account's own logins that passed.
	b.browser(t).signIn(c, centerPassword)
	b.browser(t).passwordLogin(c, "wrong-Pass1!")
	b.browser(t).signIn(d, centerPassword)
	if r := b.browser(t).smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	own := b.browser(t)
	own.signIn(c, centerPassword)
	r := own.get("/api/v1/settings/logins")
	if logins, _ := r.Body["logins"].([]any); len(logins) != 3 || logins[1].(map[string]any)["method"] != "手机验证码登录" {
		t.Fatalf("own logins: %s", r.Raw)
	}
	for range 22 {
		b.browser(t).signIn(c, centerPassword)
		b.clock.Advance(60_000_000_000)
	}
	br := b.browser(t)
	br.signIn(c, centerPassword)
	r = br.get("/api/v1/settings/logins")
	logins, _ := r.Body["logins"].([]any)
	if len(logins) != 20 {
		t.Fatalf("%d logins: %s", len(logins), r.Raw)
	}
	newest := logins[0].(map[string]any)
	if newest["method"] != "密码登录" || newest["ip"] != "127.0.*.*" {
		t.Errorf("newest: %v", newest)
	}
	if a, b := logins[0].(map[string]any)["at"].(string), logins[1].(map[string]any)["at"].(string); a < b {
		t.Errorf("not newest first: %s before %s", a, b)
	}
	if _, page := br.page("/center"); strings.Count(page, `class="login-record"`) != 20 || strings.Contains(page, "127.0.0.1") {
		t.Errorf("center's login records")
	}
}

func TestMaskIP(t *testing.T) {
	for in, want := range map[string]string{"203.0.113.7": "203.0.*.*", "::ffff:10.1.2.3": "10.1.*.*", "2001:db8:1::5": "2001:db8:*", "": "*", "junk": "*"} {
		if got := maskIP(in); got != want {
			t.Errorf("maskIP(%q) = %q, want %q", in, got, want)
		}
	}
}

// The username and the ID number are not editable anywhere: every way of
// asking is refused (and audited), the account unchanged.
func TestCenterImmutableIdentity(t *testing.T) {
	b := setup(t)
	c := b.active(t, "韩梅梅", "13912349071", centerPassword)
	br := b.browser(t)
	br.signIn(c, centerPassword)
	before := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND id_bidx = $2`, c.id, b.keys.BlindIndex("id_number", c.IDNumber))
	other := residentID("19900101")
	for _, tc := range []struct{ method, path string }{
		{http.MethodPut, "/api/v1/me"}, {http.MethodPatch, "/api/v1/me"},
		{http.MethodPost, "/api/v1/settings/username"}, {http.MethodPut, "/api/v1/settings/username"},
		{http.MethodPost, "/api/v1/settings/id_number"}, {http.MethodPatch, "/api/v1/settings/id_number"},
	} {
		r := br.do(tc.method, tc.path, map[string]string{"username": "hacker1", "id_number": other})
		if r.Status != http.StatusForbidden || r.str("error") != "immutable" {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, r.Status, r.Raw)
		}
	}
	if r := br.form("/settings/id_number", url.Values{"id_number": {other}}); r.Status != http.StatusForbidden {
		t.Errorf("form: %d", r.Status)
	}
	// The address API takes no identity either.
	in := testAddress(1)
	in["id_number"] = other
	if r := br.post("/api/v1/settings/addresses", in); r.Status != http.StatusBadRequest {
		t.Errorf("address with an id_number: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'settings_immutable' AND account_id = $1`, c.id); n != 7 {
		t.Errorf("%d refusals audited, want 7", n)
	}
	if after := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND id_bidx = $2`, c.id, b.keys.BlindIndex("id_number", c.IDNumber)); after != before || after != 1 {
		t.Error("the ID number changed")
	}
}

// The page twin of 修改密码: a wrong old password re-renders the center
// with the field's message; a right one goes back to it with the notice.
func TestCenterChangePasswordForm(t *testing.T) {
	b := setup(t)
	c := b.active(t, "王小明", "13912340004", centerPassword)
	br := b.browser(t)
	br.signIn(c, centerPassword)
	const next = "Zq7$wLp4!x"
	r := br.form("/settings/password", url.Values{"old_password": {"wrong-Pass1!"}, "password": {next}, "confirm": {next}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Raw, `<div class="field-error">原密码不正确</div>`) || !strings.Contains(r.Raw, `id="center"`) {
		t.Fatalf("wrong old: %d %s", r.Status, r.Raw)
	}
	r = br.form("/settings/password", url.Values{"old_password": {centerPassword}, "password": {next}, "confirm": {next}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/center?done=password#password" {
		t.Fatalf("change: %d %s", r.Status, r.Header.Get("Location"))
	}
	if _, page := br.page("/center?done=password"); !strings.Contains(page, "密码已修改") {
		t.Error("no notice after the change")
	}
	// Cross-origin posts are refused like every other form.
	if r := br.form("/settings/password", url.Values{"old_password": {next}, "password": {centerPassword + "x"}, "confirm": {centerPassword + "x"}},
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); r.Status != http.StatusForbidden {
		t.Errorf("cross-origin: %d", r.Status)
	}
}

// TestPasswordChangeEndsBusinessSystems: the sessions a password change
// ends lose their business systems too: the tokens issued through them
// stop working.
func TestPasswordChangeEndsBusinessSystems(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rp := b.rp(t, Client{ID: "portal", Scopes: []string{"profile"}})
	c := b.active(t, "王小红", "13912340002", centerPassword)
	other := b.browser(t)
	tok, _ := rp.signedIn(other, c)
	if _, err := rp.userinfo(tok); err != nil {
		t.Fatalf("control, userinfo before the change: %v", err)
	}
	br := b.browser(t)
	br.signIn(c, centerPassword)
	if r := br.post("/api/v1/settings/password", map[string]string{"old_password": centerPassword, "password": "Zq7$wLp4!x", "confirm": "Zq7$wLp4!x"}); r.Status != http.StatusOK {
		t.Fatalf("change: %d %s", r.Status, r.Raw)
	}
	if _, err := rp.userinfo(tok); err == nil {
		t.Error("the business system's token of an ended session still works after the password change")
	}
}
