package authsvc

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idfusion/idfusion/internal/pii"
)

// TestBrowserLegalFirstLogin: a fused legal account's contact logs in on
// the 法人登录 tab with a code to the contact's phone, confirms the contact
// person at ①, sets a password at ②, has the legal representative
// approve the face at ③ (the simulator, in a second tab), and reaches the
// 企业中心 with the identity masked.
func TestBrowserLegalFirstLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.fusedLegal(t, "海南椰风科技有限公司", "13912349071")
	p := newTab(t, b)
	p.open("/login", http.StatusOK, "")
	p.submit("#tab-legal", http.StatusOK, "/login")
	p.submit("#tab-legal-sms", http.StatusOK, "/login")
	p.fill("#credit_code", spaced(e.CreditCode))
	p.fill("#phone", e.Phone)
	p.submit("#send-code", http.StatusOK, "/login/legal/sms/send")
	if got := p.text("#notice"); got != legalCodeSentNotice {
		t.Fatalf("after 获取验证码: notice %q", got)
	}
	outbox := p.newTab("outbox")
	outbox.open("/dev/sms", http.StatusOK, "")
	if got := outbox.text("#outbox tr:nth-child(2) td:nth-child(2)"); got != pii.MaskPhone(e.Phone) {
		t.Fatalf("newest outbox message to %s", got)
	}
	m := codeRE.FindStringSubmatch(outbox.text("#outbox td.body"))
	if m == nil {
		t.Fatal("no code in the newest outbox message")
	}
	p.fill("#code", m[1])
	p.submit("#login", http.StatusOK, "/complete/info")

	// ① 确认联系人信息.
	if got := p.text("h1"); got != "确认联系人信息" {
		t.Errorf("① heading %q", got)
	}
	p.fill("#contact_name", "李四")
	p.fill("#address", "海口市龙华区滨海大道1号")
	p.submit("#next", http.StatusOK, "/complete/password")
	// ②.
	p.fill("#password", goodPassword)
	p.fill("#confirm", goodPassword)
	p.submit("#next", http.StatusOK, "/complete/face")
	// ③ the representative's face.
	if got := p.text("#rep-face"); !strings.Contains(got, "法定代表人") || !strings.Contains(got, "吴****") {
		t.Errorf("③ says %q", got)
	}
	sim := p.newTab("simulator")
	sim.open(p.waitForString("the simulator link", `document.querySelector('#simulator')?.getAttribute('href') || ''`), http.StatusOK, "")
	sim.fill("#id_number", e.RepID)
	sim.submit("#approve", http.StatusOK, "")
	if got := sim.text("#notice"); got != "已回调：HTTP 200" {
		t.Fatalf("simulator: notice %q", got)
	}
	p.waitFor("the face page refreshed to 完成", `location.pathname === '/complete/done' && document.querySelector('#done') !== null`)
	p.submit("#continue", http.StatusOK, "/center")
	if got := p.text("#center"); got != "企业中心" {
		t.Errorf("center heading %q", got)
	}
	if got := p.text("#contact-name"); got != "李****" {
		t.Errorf("contact shown as %q", got)
	}
	if got := p.text("#realname-status"); got != "未实名用户" {
		t.Errorf("实名状态 %q", got)
	}
	p.noClearPII(citizen{IDNumber: e.RepID, Name: e.RepName, Phone: e.Phone})
	if page := p.text("body"); strings.Contains(page, e.CreditCode) || strings.Contains(page, "用户中心") {
		t.Errorf("企业中心 shows the credit code or 用户中心: %s", page)
	}
}
