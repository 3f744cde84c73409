package authsvc

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

// idClaims are the ID token's claims on how the citizen authenticated.
type idClaims struct {
	AMR      []string `json:"amr"`
	ACR      string   `json:"acr"`
	AuthTime int64    `json:"auth_time"`
}

// idClaims verifies tok's ID token (a refreshed one has no nonce) and
// returns its claims on the authentication.
func (rp *relyingParty) idClaims(tok *oauth2.Token) idClaims {
	rp.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	id, err := rp.provider.Verifier(&gooidc.Config{ClientID: rp.conf.ClientID}).Verify(rp.ctx, raw)
	if err != nil {
		rp.t.Fatalf("verify ID token: %v", err)
	}
	var c idClaims
	if err := id.Claims(&c); err != nil {
		rp.t.Fatal(err)
	}
	return c
}

// loginBy logs c in with method (password, sms, face) on the way to
// returnTo.
func (br *browser) loginBy(c citizen, method, returnTo string) {
	br.t.Helper()
	var r response
	switch method {
	case "password":
		r = br.post("/api/v1/login/password", map[string]string{"id_number": c.IDNumber, "password": "Xy7#pQ2!wL", "return_to": returnTo})
	case "sms":
		r = br.smsLoginTo(c, returnTo)
	case "face":
		r = br.faceThrough("/api/v1/login/face", map[string]string{"id_number": c.IDNumber, "return_to": returnTo}, c)
	}
	if r.Status != http.StatusOK {
		br.t.Fatalf("%s login: %d %s", method, r.Status, r.Raw)
	}
}

// The ID token says how the citizen authenticated: amr (RFC 8176) and acr,
// with auth_time the login's time, also after a refresh.
func TestOIDCAMRACR(t *testing.T) {
	t.Parallel()
	b, rp := oidcSetup(t, Client{ID: "portal", Scopes: []string{"offline_access"}})
	for i, tc := range []struct {
		method string
		amr    []string
		acr    string
	}{
		{"password", []string{"pwd"}, ACRBasic},
		{"sms", []string{"sms"}, ACRBasic},
		{"face", []string{"face"}, ACRFace},
		{"completion", []string{"face", "sms", "mfa"}, ACRFace},
	} {
		t.Run(tc.method, func(t *testing.T) {
			rp := *rp
			rp.t = t
			br := b.browser(t)
			returnTo, verifier := rp.start(br)
			loginAt := b.clock.Now()
			if tc.method == "completion" {
				c := b.fused(t, "陈二一", "1381234210"+strconv.Itoa(i))
				br.smsLoginTo(c, returnTo)
				br.completeTo(c, "")
			} else {
				br.loginBy(b.active(t, "陈二一", "1391234210"+strconv.Itoa(i), "Xy7#pQ2!wL"), tc.method, returnTo)
			}
			b.clock.Advance(5 * time.Second) // auth_time is the login's, not the code's
			tok, err := rp.exchange(rp.code(br, returnTo), verifier)
			if err != nil {
				t.Fatal(err)
			}
			want := idClaims{AMR: tc.amr, ACR: tc.acr, AuthTime: loginAt.Unix()}
			if diff := cmp.Diff(want, rp.idClaims(tok)); diff != "" {
				t.Errorf("ID token mismatch (-want +got):\n%s", diff)
			}
			fresh, err := rp.refresh(tok)
			if err != nil {
				t.Fatal(err)
			}
			want.ACR = "" // the refresh is no authentication request
			if diff := cmp.Diff(want, rp.idClaims(fresh)); diff != "" {
				t.Errorf("refreshed ID token mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// prompt=login and max_age make a session too old log in again before the
// code; a session young enough goes straight on.
func TestOIDCFreshLogin(t *testing.T) {
	t.Parallel()
	b, rp := oidcSetup(t, Client{ID: "portal"})
	for i, tc := range []struct {
		name  string
		opts  []oauth2.AuthCodeOption
		age   time.Duration
		relog bool
	}{
		{"prompt=login", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login")}, time.Second, true},
		{"max_age=0", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "0")}, time.Second, true},
		{"older than max_age", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "300")}, 10 * time.Minute, true},
		{"within max_age", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "3600")}, 10 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := *rp
			rp.t = t
			c := b.active(t, "楚二二", "1391234220"+strconv.Itoa(i), "Xy7#pQ2!wL")
			br := b.browser(t)
			br.signIn(c, "Xy7#pQ2!wL")
			firstLogin := b.clock.Now()
			b.clock.Advance(tc.age)
			verifier := oauth2.GenerateVerifier()
			authURL := rp.conf.AuthCodeURL("st4te", append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n0nce")}, tc.opts...)...)
			var code string
			want := firstLogin
			if tc.relog {
				u, status := br.follow(authURL)
				if u.Path != "/login" || status != http.StatusOK {
					t.Fatalf("led to %s (%d), want the login", u, status)
				}
				if n := b.count(t, `SELECT count(*) FROM auth_session WHERE account_id = $1 AND revoked_at IS NULL`, c.id); n != 0 {
					t.Errorf("%d live sessions before the new login, want the old one ended", n)
				}
				b.clock.Advance(time.Second)
				want = b.clock.Now()
				returnTo := u.Query().Get("return_to")
				br.loginBy(c, "password", returnTo)
				code = rp.code(br, returnTo)
			} else {
				code = rp.code(br, authURL)
			}
			tok, err := rp.exchange(code, verifier)
			if err != nil {
				t.Fatal(err)
			}
			if got := rp.idClaims(tok).AuthTime; got != want.Unix() {
				t.Errorf("auth_time %d, want %d (the login's)", got, want.Unix())
			}
			if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_reauthenticate' AND account_id = $1`, c.id); (n == 1) != tc.relog {
				t.Errorf("%d reauthentications audited", n)
			}
		})
	}
}

// prompt=none never shows a page: the code when nothing is needed, else
// the error at the business system.
func TestOIDCPromptNone(t *testing.T) {
	t.Parallel()
	b, plain := oidcSetup(t, Client{ID: "portal"})
	idcard := b.rp(t, Client{ID: "tax", Scopes: []string{ScopeIDCard}, RedirectURIs: []string{"https://tax.example/callback"}})
	none := oauth2.SetAuthURLParam("prompt", "none")
	for i, tc := range []struct {
		name  string
		rp    *relyingParty
		login string // "", full, restricted
		opts  []oauth2.AuthCodeOption
		want  string // the error; "" a code
	}{
		{"no session", plain, "", nil, "login_required"},
		{"full session", plain, "full", nil, ""},
		{"restricted session", plain, "restricted", nil, "login_required"},
		{"consent needed", idcard, "full", nil, "consent_required"},
		{"older than max_age", plain, "full", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "0")}, "login_required"},
		{"face needed", plain, "full", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("acr_values", ACRFace)}, "login_required"},
		{"basic asked", plain, "full", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("acr_values", ACRBasic)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := b.browser(t)
			switch tc.login {
			case "full":
				br.signIn(b.active(t, "卫二三", "1391234230"+strconv.Itoa(i), "Xy7#pQ2!wL"), "Xy7#pQ2!wL")
			case "restricted":
				br.smsLoginTo(b.fused(t, "卫二三", "1381234230"+strconv.Itoa(i)), "")
			}
			b.clock.Advance(time.Second)
			opts := append([]oauth2.AuthCodeOption{none, oauth2.S256ChallengeOption(oauth2.GenerateVerifier())}, tc.opts...)
			u, status := br.follow(tc.rp.conf.AuthCodeURL("st4te", opts...))
			if u.Host == mustURL(b.ts.URL).Host {
				t.Fatalf("prompt=none showed %s (%d)", u, status)
			}
			q := u.Query()
			if q.Get("error") != tc.want || (tc.want == "") != (q.Get("code") != "") || q.Get("state") != "st4te" {
				t.Errorf("led to %s, want error %q", u, tc.want)
			}
		})
	}
}

// A business system asking for a face check (acr_values, or registered
// with RequireFace) gets the code of a password session only after a face
// step-up of the same account: the session is rotated with face added.
func TestOIDCStepUpFace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	bank := b.rp(t, Client{ID: "bank"})
	notary := b.rp(t, Client{ID: "notary", RequireFace: true})
	c := b.active(t, "蒋二四", "13912342401", "Xy7#pQ2!wL")
	other := b.active(t, "沈二五", "13912342501", "Xy7#pQ2!wL")
	br := b.browser(t)
	returnTo, verifier := bank.start(br, oauth2.SetAuthURLParam("acr_values", ACRFace))
	br.loginBy(c, "password", returnTo)
	before := br.cookie()

	u, status := br.follow(returnTo)
	if u.Path != "/oidc/stepup" || status != http.StatusOK {
		t.Fatalf("resume led to %s (%d), want the face step-up", u, status)
	}
	challenge := func() string {
		t.Helper()
		var id string
		if err := b.pool.QueryRow(context.Background(), `SELECT id FROM face_challenge WHERE account_id = $1 AND purpose = 'stepup' AND status = 'pending'`, c.id).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Someone else's face: refused, no code.
	if st, _ := b.svc.SimulateFace(context.Background(), challenge(), other.IDNumber, FacePass); st != http.StatusForbidden {
		t.Errorf("another person's face: callback %d, want 403", st)
	}
	if u, _ := br.follow(u.String()); u.Path != "/oidc/stepup" {
		t.Fatalf("after a refused face: %s, want the step-up again", u)
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_auth_request WHERE done`); n != 0 {
		t.Fatal("request done before the face step-up")
	}
	b.approveFace(t, challenge(), c.IDNumber)
	tok, err := bank.exchange(bank.code(br, u.String()), verifier)
	if err != nil {
		t.Fatal(err)
	}
	got := bank.idClaims(tok)
	if diff := cmp.Diff(idClaims{AMR: []string{"face", "pwd", "mfa"}, ACR: ACRFace, AuthTime: b.clock.Now().Unix()}, got); diff != "" {
		t.Errorf("ID token mismatch (-want +got):\n%s", diff)
	}
	if br.cookie() == before {
		t.Error("the session was not rotated by the step-up")
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'face_stepup' AND account_id = $1`, c.id); n != 1 {
		t.Errorf("%d step-ups audited, want 1", n)
	}

	// A client registered RequireFace: this session has face, goes on; an
	// SMS session is stepped up.
	code, _ := notary.again(br)
	if code == "" {
		t.Error("no code for a session with face")
	}
	sms := b.browser(t)
	returnTo, _ = notary.start(sms)
	sms.loginBy(other, "sms", returnTo)
	if u, _ := sms.follow(returnTo); u.Path != "/oidc/stepup" {
		t.Errorf("RequireFace with an SMS session led to %s, want the step-up", u)
	}
	// The step-up page is the bound browser's only.
	thief := b.browser(t)
	thief.signIn(other, "Xy7#pQ2!wL")
	if r := thief.get("/oidc/stepup?id=" + mustURL(returnTo).Query().Get("id")); r.Status != http.StatusBadRequest {
		t.Errorf("another browser's step-up: %d, want 400", r.Status)
	}
}

// The lock of failed SMS codes and faces stops the face step-up too: a
// session signed in with the password (its own lock) cannot get around
// the face lock by trying faces at the step-up, nor spend there a face
// the provider approved during the lock.
func TestOIDCStepUpRefusedWhileLocked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	bank := b.rp(t, Client{ID: "bank"})
	c := b.active(t, "蒋二六", "13912342601", "Xy7#pQ2!wL")
	br := b.browser(t)
	returnTo, _ := bank.start(br, oauth2.SetAuthURLParam("acr_values", ACRFace))
	br.loginBy(c, "password", returnTo)
	stepUp, status := br.follow(returnTo)
	if stepUp.Path != "/oidc/stepup" || status != http.StatusOK {
		t.Fatalf("resume led to %s (%d), want the face step-up", stepUp, status)
	}
	var pending string
	if err := b.pool.QueryRow(context.Background(), `SELECT id FROM face_challenge WHERE account_id = $1 AND purpose = 'stepup'`, c.id).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	for range b.svc.cfg.MaxFailures {
		wrongFace(t, b, b.browser(t), c)
	}
	b.approveFace(t, pending, c.IDNumber)
	if r := br.get(stepUp.RequestURI()); r.Status != http.StatusLocked {
		t.Errorf("step-up while locked: %d, want 423", r.Status)
	}
	if n := b.count(t, `SELECT count(*) FROM face_challenge WHERE account_id = $1 AND purpose = 'stepup'`, c.id); n != 1 {
		t.Errorf("%d step-up challenges, want no new one while locked", n)
	}
	audited := b.column(t, `SELECT outcome FROM auth_audit WHERE event = 'face_stepup' AND account_id = $1 ORDER BY id`, c.id)
	if diff := cmp.Diff([]string{"locked"}, audited); diff != "" {
		t.Errorf("step-ups audited (-want +got):\n%s", diff)
	}
	// Control: after the lock, a new challenge, and the step-up goes on.
	b.clock.Advance(b.svc.cfg.LockFor)
	if r := br.get(stepUp.RequestURI()); r.Status != http.StatusOK {
		t.Fatalf("step-up after the lock: %d, want its page", r.Status)
	}
	var fresh string
	if err := b.pool.QueryRow(context.Background(), `SELECT id FROM face_challenge WHERE account_id = $1 AND purpose = 'stepup' AND status = 'pending'`, c.id).Scan(&fresh); err != nil {
		t.Fatal(err)
	}
	b.approveFace(t, fresh, c.IDNumber)
	if u, _ := br.follow(stepUp.RequestURI()); u.Host != "rp.example" {
		t.Errorf("step-up after the lock led to %s, want the business system", u)
	}
}
