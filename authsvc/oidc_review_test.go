package authsvc

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Two exchanges of one code that both read it before either spends it:
// the loser is refused, and the tokens the winner got are revoked, as for
// a code presented again after its use (RFC 9700 §4.5, RFC 6749 §4.1.2).
// The storage calls are made in the order of the race, which an HTTP test
// would hit only by chance.
func TestOIDCCodeExchangeRaceRevokes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rp := b.rp(t, Client{ID: "portal", Scopes: []string{"offline_access"}})
	c := b.active(t, "周十二", "13912341201", "Xy7#pQ2!wL")
	br := b.browser(t)
	returnTo, _ := rp.start(br)
	br.smsLoginTo(c, returnTo)
	code := rp.code(br, returnTo)

	ctx := context.Background()
	st := oidcStorage{b.svc}
	first, err := st.AuthRequestByCode(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	second, err := st.AuthRequestByCode(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := st.issue(ctx, first, "", true); err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	if _, _, _, err := st.issue(ctx, second, "", true); err == nil {
		t.Fatal("second exchange of the code succeeded")
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_token WHERE auth_request_id = $1 AND revoked_at IS NULL`, first.GetID()); n != 0 {
		t.Errorf("%d tokens of the raced code still live, want 0", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_code_reuse' AND account_id = $1`, c.id); n != 1 {
		t.Errorf("%d code reuses audited, want 1", n)
	}
}

// A business system introspecting the token of another one learns
// nothing: the token was not issued for it (RFC 7662 §4), and the answer
// would tell it the citizen's name.
func TestOIDCIntrospectionOtherClient(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	portal := b.rp(t, Client{ID: "portal", Scopes: []string{"profile"}})
	other := b.rp(t, Client{ID: "other", RedirectURIs: []string{"https://other.example/callback"}})
	c := b.active(t, "吴十三", "13912341301", "Xy7#pQ2!wL")
	tok, _ := portal.signedIn(b.browser(t), c)

	ep := other.endpoints()
	for _, tc := range []struct {
		name   string
		rp     *relyingParty
		active bool
	}{
		{"its own client", portal, true},
		{"another client", other, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, raw := tc.rp.post(ep.Introspection, url.Values{"token": {tok.AccessToken}})
			if status != http.StatusOK {
				t.Fatalf("introspection: %d %s", status, raw)
			}
			if body["active"] != tc.active {
				t.Errorf("active = %v, want %v: %s", body["active"], tc.active, raw)
			}
			if !tc.active && strings.Contains(raw, c.Name) {
				t.Errorf("answer to another client carries the name: %s", raw)
			}
		})
	}
}

// Every release of the full ID number or the phone is audited: when the
// record cannot be written, nothing is released.
func TestOIDCReleaseWithoutAuditRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rp := b.rp(t, Client{ID: "portal", Scopes: []string{ScopeIDCard, "phone"}})
	c := b.active(t, "郑十四", "13912341401", "Xy7#pQ2!wL")
	tok, _ := rp.signedIn(b.browser(t), c)
	if _, err := b.pool.Exec(context.Background(), `ALTER TABLE auth_audit ADD CONSTRAINT review_no_release
		CHECK (event NOT IN ('oidc_release_id_number', 'oidc_release_phone'))`); err != nil {
		t.Fatal(err)
	}
	if claims, err := rp.userinfo(tok); err == nil {
		t.Errorf("userinfo released %v without an audit record", claims)
	}
}
