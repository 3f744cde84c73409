package upstreamdev

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// stand is a provider on a real listener and a relying party's view of it,
// as coreos/go-oidc and x/oauth2 (what a department would use) see it.
type stand struct {
	p        *Provider
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
	browser  *http.Client
}

func newStand(t *testing.T) *stand {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	redirect := srv.URL + "/cb"
	p, err := New(Config{Issuer: srv.URL + "/up", Title: "国家政务服务平台",
		Citizens: []Citizen{{Name: "韩梅梅", IDNumber: "110101199003077774", Phone: "13900001111"}},
		Clients:  []Client{{ID: "idfusion", Secret: "s3cret", RedirectURIs: []string{redirect}}}})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/up/", p)
	mux.HandleFunc("/cb", func(w http.ResponseWriter, r *http.Request) {}) // the redirect's end
	provider, err := oidc.NewProvider(context.Background(), srv.URL+"/up")
	if err != nil {
		t.Fatal(err)
	}
	return &stand{p: p,
		conf:     oauth2.Config{ClientID: "idfusion", ClientSecret: "s3cret", RedirectURL: redirect, Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID}},
		verifier: provider.Verifier(&oidc.Config{ClientID: "idfusion"}),
		browser:  &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// pick plays the developer choosing the citizen on the authorization page;
// it returns the query of the redirect back to the client.
func (s *stand) pick(t *testing.T, authURL string) url.Values {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	form := u.Query()
	form.Set("sub", s.p.cfg.Citizens[0].Subject)
	resp, err := s.browser.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

func TestCodeFlowWithPKCE(t *testing.T) {
	s := newStand(t)
	ctx := context.Background()
	verifier := oauth2.GenerateVerifier()
	back := s.pick(t, s.conf.AuthCodeURL("st4te", oidc.Nonce("n0nce"), oauth2.S256ChallengeOption(verifier)))
	if back.Get("state") != "st4te" || back.Get("code") == "" {
		t.Fatalf("redirect back: %v", back)
	}
	if _, err := s.conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption("wrong-"+verifier)); err == nil {
		t.Fatal("a wrong code verifier was accepted")
	}
	// The failed exchange spent the code.
	if _, err := s.conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code was exchanged twice")
	}
	back = s.pick(t, s.conf.AuthCodeURL("st4te", oidc.Nonce("n0nce"), oauth2.S256ChallengeOption(verifier)))
	tok, err := s.conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := s.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	idt.Claims(&claims)
	if idt.Nonce != "n0nce" || claims[ClaimIDNumber] != "110101199003077774" || claims[ClaimName] != "韩梅梅" || claims[ClaimPhone] != "13900001111" {
		t.Fatalf("claims: %v", claims)
	}
}

func TestPKCERequired(t *testing.T) {
	s := newStand(t)
	u, _ := url.Parse(s.conf.AuthCodeURL("st4te"))
	resp, err := s.browser.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error=invalid_request") {
		t.Fatalf("without PKCE: %d %q", resp.StatusCode, loc)
	}
}

func TestForeignKeyAndTamper(t *testing.T) {
	s := newStand(t)
	ctx := context.Background()
	exchange := func() string {
		verifier := oauth2.GenerateVerifier()
		back := s.pick(t, s.conf.AuthCodeURL("x", oauth2.S256ChallengeOption(verifier)))
		tok, err := s.conf.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		return raw
	}
	s.p.Tamper(func(c map[string]any) { c["aud"] = "someone-else" })
	if _, err := s.verifier.Verify(ctx, exchange()); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("tampered audience: %v", err)
	}
	s.p.Tamper(nil)
	if err := s.p.SignWithForeignKey(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.verifier.Verify(ctx, exchange()); err == nil {
		t.Fatal("a token signed by a foreign key verified")
	}
}
