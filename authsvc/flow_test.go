package authsvc

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/idfusion/idfusion/schemas"
)

// TestFirstLogin: a fused account's whole first login over the API: SMS
// code, the three steps in order, then a full session that reaches the
// personal center, and a password that now works.
func TestFirstLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "张三", "13912349071")
	br := b.browser(t)
	r := br.smsLogin(c)
	if r.Status != http.StatusOK || r.str("next_step") != "info" {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	restricted := br.cookie()
	br.completeTo(c, "")
	if br.cookie() == restricted || br.cookie() == "" {
		t.Fatal("the session was not rotated when the account became active")
	}
	me := br.get("/api/v1/me")
	if me.Status != http.StatusOK || me.str("status") != "active" || me.str("id_hint") != c.IDNumber[:1]+"*****"+c.IDNumber[17:] {
		t.Fatalf("me: %d %s", me.Status, me.Raw)
	}
	// The restricted session died with the rotation.
	old := b.browser(t)
	old.hc.Jar.SetCookies(mustURL(b.ts.URL), []*http.Cookie{{Name: cookieName, Value: restricted, Path: "/", Secure: true}})
	if r := old.get("/api/v1/completion"); r.Status != http.StatusUnauthorized {
		t.Errorf("old restricted cookie after completion: %d %s", r.Status, r.Raw)
	}
	// And the password set in step ② logs in.
	pw := b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": c.IDNumber, "password": "K9#vTq2!mZ"})
	if pw.Status != http.StatusOK || pw.str("next") != "/center" {
		t.Fatalf("password login: %d %s", pw.Status, pw.Raw)
	}
}

// TestStepOrder: at every point of the completion, every step but the
// next one is refused with 409 and the next step named, and a restricted
// session reaches nothing outside the completion.
func TestStepOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requests := map[schemas.Step]func(br *browser) response{
		schemas.StepInfo: func(br *browser) response {
			return br.post("/api/v1/completion/info", map[string]string{"address": "海口市"})
		},
		schemas.StepPassword: func(br *browser) response {
			return br.post("/api/v1/completion/password", map[string]string{"password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ"})
		},
		schemas.StepFace: func(br *browser) response { return br.post("/api/v1/completion/face", nil) },
	}
	for i, at := range schemas.FusedAccountSteps {
		t.Run(string(at), func(t *testing.T) {
			t.Parallel()
			c := b.fused(t, "李四", fmt.Sprintf("1380000111%d", i))
			br := b.browser(t)
			if r := br.smsLogin(c); r.Status != http.StatusOK {
				t.Fatalf("login: %d %s", r.Status, r.Raw)
			}
			br.completeTo(c, at)
			for step, req := range requests {
				if step == at {
					continue
				}
				r := req(br)
				if r.Status != http.StatusConflict || r.str("next_step") != string(at) {
					t.Errorf("%s while at %s: %d %s, want 409 next_step %s", step, at, r.Status, r.Raw, at)
				}
			}
			for _, path := range []string{"/api/v1/me"} {
				if r := br.get(path); r.Status != http.StatusForbidden || r.str("next_step") != string(at) {
					t.Errorf("GET %s while restricted: %d %s", path, r.Status, r.Raw)
				}
			}
			if r := br.get("/api/v1/completion"); r.Status != http.StatusOK || r.str("next_step") != string(at) {
				t.Errorf("completion status: %d %s", r.Status, r.Raw)
			}
		})
	}
}
