package authsvc

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBrowserConsoleUnlock walks issue 20's case in a real browser: a
// citizen fused by the real import locks themself out with five wrong
// login codes and calls the help desk; a 客服 signs in to the console
// (password and the authenticator's code), goes from the console's home to
// 查询账号, finds the citizen by the whole ID number, sees the lock and the
// department files and rows the account was fused from (and nothing in
// clear), unlocks it with a reason; the citizen then logs in.
func TestBrowserConsoleUnlock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.importSample(t)
	u := b.addStaff(t, "kf.browser", "客服甲", "kefu")

	// Five wrong codes: locked, the right code refused.
	api := b.browser(t)
	if r := api.postSolving("/api/v1/login/sms/send", map[string]string{"id_number": c.IDNumber, "phone": c.Phone}); r.Status != http.StatusAccepted {
		t.Fatalf("send code: %d %s", r.Status, r.Raw)
	}
	code := b.lastCodeTo(t, c.Phone)
	for range 5 {
		api.post("/api/v1/login/sms", map[string]string{"id_number": c.IDNumber, "phone": c.Phone, "code": wrongCode(code)})
	}
	if r := api.post("/api/v1/login/sms", map[string]string{"id_number": c.IDNumber, "phone": c.Phone, "code": code}); r.Status == http.StatusOK {
		t.Fatalf("not locked after five wrong codes: %s", r.Raw)
	}

	// What the page must show of the lineage: each file and row.
	rows, err := b.pool.Query(context.Background(), `SELECT f.name, l.row_num FROM account_lineage l
		JOIN import_file f ON f.run_id = l.run_id AND f.file_id = l.file_id
		JOIN account a ON a.id_bidx = l.account_bidx
		WHERE a.id_bidx = $1`, b.keys.BlindIndex("id_number", c.IDNumber))
	if err != nil {
		t.Fatal(err)
	}
	var lineage []string
	for rows.Next() {
		var name string
		var row int64
		if err := rows.Scan(&name, &row); err != nil {
			t.Fatal(err)
		}
		lineage = append(lineage, fmt.Sprintf("%s\t第%d行", name, row))
	}
	if rows.Err() != nil || len(lineage) == 0 {
		t.Fatalf("no lineage for the citizen: %v", rows.Err())
	}

	p := newTab(t, b)
	p.open("/admin/login", http.StatusOK, "")
	p.fill("#username", u.username)
	p.fill("#password", u.password)
	p.fill("#code", b.code(u))
	// Made by someone else: the password is changed first.
	p.submit("#submit", http.StatusOK, "/admin/password")
	if got := p.text("#must-change"); !strings.Contains(got, "请先修改密码") {
		t.Errorf("the password page's notice: %q", got)
	}
	p.fill("#current", u.password)
	p.fill("#password", staffNewPassword)
	p.fill("#confirm", staffNewPassword)
	p.submit("#submit", http.StatusOK, "/admin")
	if got := p.text("#staff-roles"); got != "客服" {
		t.Errorf("console's roles: %q", got)
	}
	p.submit("#link-lookup", http.StatusOK, "/admin/lookup")
	p.fill("#value", c.IDNumber)
	p.submit("#lookup", http.StatusOK, "")
	if path := eval[string](p, `location.pathname`); !strings.HasPrefix(path, "/admin/accounts/") {
		t.Fatalf("the lookup went to %s", path)
	}
	if got := p.text("#account-locks"); !strings.Contains(got, "验证码或人脸核验失败次数过多") {
		t.Errorf("the lock shown: %q", got)
	}
	table := p.text("#account-lineage")
	for _, l := range lineage {
		if !strings.Contains(table, l) {
			t.Errorf("the lineage %q lacks %q", table, l)
		}
	}
	p.noClearPII(c)

	p.fill("#reason-unlock", "市民来电，核实身份后解锁")
	p.submit("#action-unlock button", http.StatusOK, "")
	if got := p.text("#account-locks"); got != "无" {
		t.Errorf("after 解除锁定 the locks are %q", got)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_unlock' AND outcome = 'ok' AND subject = $1
		AND detail LIKE '%reason=市民来电，核实身份后解锁%'`, u.username); n != 1 {
		t.Errorf("%d unlocks audited", n)
	}

	// The citizen logs in with a new code (a second send to the phone
	// asks for the image captcha).
	b.clock.Advance(time.Minute)
	cz := p.newTab("citizen")
	cz.open("/login", http.StatusOK, "")
	cz.submit("#tab-sms", http.StatusOK, "/login")
	cz.fill("#id_number", c.IDNumber)
	cz.fill("#phone", c.Phone)
	cz.submit("#send-code", http.StatusPreconditionRequired, "")
	cz.fill("#captcha", testCaptcha)
	cz.submit("#send-code", http.StatusOK, "")
	cz.fill("#code", b.lastCodeTo(t, c.Phone))
	cz.submit("#login", http.StatusOK, "/complete/info")
}
