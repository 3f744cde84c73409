package authsvc

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idfusion/idfusion/internal/pii"
)

// TestBrowserRecoveryThenLogin: a citizen who forgot the password walks
// 找回密码 in Chromium (account type, ID type, ID number, image captcha;
// the code to the masked phone on file; the new password twice), then
// logs in with the new password and reaches the personal center.
func TestBrowserRecoveryThenLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "韩梅梅", "13907559071", "Old#pass123x")
	p := newTab(t, b)
	p.open("/recovery", http.StatusOK, "")
	p.fill("#id_number", c.IDNumber)
	p.fill("#captcha", testCaptcha)
	p.submit("#next", http.StatusOK, "/recovery/code")
	if got, want := p.text("#phone-hint"), pii.MaskPhone(c.Phone); got != want {
		t.Fatalf("phone shown as %q, want %q", got, want)
	}
	p.noClearPII(c)
	p.fill("#code", b.lastCodeTo(t, c.Phone))
	p.submit("#next", http.StatusOK, "/recovery/password")
	p.fill("#password", recoveredPassword)
	p.fill("#confirm", "Mismatch#77x")
	p.submit("#next", http.StatusUnprocessableEntity, "/recovery/password")
	p.fill("#password", recoveredPassword)
	p.fill("#confirm", recoveredPassword)
	p.submit("#next", http.StatusOK, "/recovery/password")
	if p.text("#recovery-done") == "" {
		t.Fatal("no done message")
	}
	p.submit("#to-login", http.StatusOK, "/login")
	p.fill("#password-form #id_number", c.IDNumber)
	p.fill("#password-form #password", recoveredPassword)
	p.submit("#password-form #login", http.StatusOK, "")
	p.waitFor("the personal center", `location.pathname === '/center'`)
}

// TestBrowserPhoneChange: a signed-in citizen opens 修改手机号, passes the
// face verification in the simulator (a second tab) while the page
// refreshes itself, enters the new phone and its code, and is back in the
// personal center with the new phone shown masked.
func TestBrowserPhoneChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "韩梅梅", "13907559071", "Old#pass123x")
	const newPhone = "13800138000"
	p := newTab(t, b)
	p.open("/login", http.StatusOK, "")
	p.fill("#password-form #id_number", c.IDNumber)
	p.fill("#password-form #password", "Old#pass123x")
	p.submit("#password-form #login", http.StatusOK, "")
	p.waitFor("the personal center", `location.pathname === '/center'`)

	p.open("/settings/phone", http.StatusOK, "/settings/phone")
	p.waitFor("the QR code loaded", `(() => { const q = document.querySelector('#qr'); return q !== null && q.complete && q.naturalWidth > 0 })()`)
	sim := p.newTab("simulator")
	sim.open(p.waitForString("the simulator link", `document.querySelector('#simulator')?.getAttribute('href') || ''`), http.StatusOK, "")
	sim.fill("#id_number", c.IDNumber)
	sim.submit("#approve", http.StatusOK, "")
	p.waitFor("the new phone form", `document.querySelector('#phone-form') !== null`)
	p.fill("#phone", newPhone)
	if eval[bool](p, `document.querySelector('#captcha') !== null`) {
		p.fill("#captcha", testCaptcha)
	}
	p.submit("#send-code", http.StatusOK, "/settings/phone/sms")
	p.fill("#code", b.lastCodeTo(t, newPhone))
	p.submit("#next", http.StatusOK, "/center")
	p.noClearPII(citizen{IDNumber: c.IDNumber, Name: c.Name, Phone: newPhone})
	if got := eval[string](p, "document.body.innerText"); !containsStr(got, pii.MaskPhone(newPhone)) {
		t.Fatalf("center does not show the new phone: %s", got)
	}
}

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }
