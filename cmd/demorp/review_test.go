package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Userinfo about another subject than the ID token's is not shown (OpenID
// Connect Core §5.3.2: the sub of the UserInfo response MUST match the ID
// token's, else its values MUST NOT be used).
func TestCallbackUserinfoOfAnotherSubject(t *testing.T) {
	t.Parallel()
	p := newFakeProvider(t)
	h := newTestApp(t, p)
	q, cookie := login(t, h)
	p.challenge, p.nonce, p.uiSub = q.Get("code_challenge"), q.Get("nonce"), "someone-else"
	rec := get(h, "/callback?code=c0de&state="+url.QueryEscape(q.Get("state")), cookie)
	if rec.Code != http.StatusBadGateway || strings.Contains(rec.Body.String(), "李四") {
		t.Errorf("callback: %d, want 502 without the userinfo's name:\n%s", rec.Code, rec.Body)
	}
}
