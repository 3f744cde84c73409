package authsvc

import (
	"net/http"
	"testing"

	"github.com/idfusion/idfusion/internal/browsertest"
)

// TestBrowserSSOActiveCitizen: an active citizen sent by a business system
// logs in with each login form and lands back at the business system,
// signed in. A form POST whose redirects lead off this origin is aborted by
// the pages' CSP form-action 'self' in Chromium; the citizen must not be
// left on the login page while the business system's code was issued.
func TestBrowserSSOActiveCitizen(t *testing.T) {
	t.Parallel()
	for _, form := range []string{"password", "sms"} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.syncClock()
			bs := b.businessSystem(t)
			c := b.active(t, "王五", "13900139000", "K9#vTq2!mZ")

			p := newTab(t, b)
			p.ssoFrom(bs)
			switch form {
			case "password":
				p.fill("#id_number", c.IDNumber)
				p.fill("#password", "K9#vTq2!mZ")
				p.submit("#login", http.StatusOK, "")
			case "sms":
				p.smsLoginTo(c, "")
			}
			p.waitFor("back at the business system", `location.pathname === '/callback' && document.querySelector('#signed-in') !== null`)
			if got := p.text("#name"); got != "王五" {
				t.Errorf("business system shows name %q, want 王五", got)
			}
			if n, errs, _ := bs.seen(); n != 1 || len(errs) > 0 {
				t.Errorf("business system callbacks = %d, errors %q; want one, clean", n, errs)
			}
			if errs := browsertest.ConsoleErrors(p.ctx); len(errs) > 0 {
				t.Errorf("console errors: %q", errs)
			}
		})
	}
}
