package authsvc

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBodyLimit: every body is limited the same way; over the limit the
// answer is 413, with or without a Content-Length, for the pages, the API
// and the OpenID endpoints, and never "login failed" or "bad request".
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "李雷", "13800138102", "K9#vTq2!mZ")
	pad := strings.Repeat("a", maxRequestBody)
	loginForm := url.Values{"id_number": {c.IDNumber}, "password": {"K9#vTq2!mZ"}, "pad": {pad}}.Encode()
	loginJSON := `{"id_number":"` + c.IDNumber + `","password":"` + pad + `"}`

	// post sends body to path; chunked hides its length, so that it goes
	// without a Content-Length.
	post := func(br *browser, path, contentType, body string, chunked bool) response {
		t.Helper()
		var rd io.Reader = strings.NewReader(body)
		if chunked {
			rd = io.MultiReader(rd)
		}
		req, err := http.NewRequest(http.MethodPost, b.ts.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if chunked && req.ContentLength != 0 {
			t.Fatalf("a chunked request with Content-Length %d", req.ContentLength)
		}
		return br.send(req, "Content-Type", contentType)
	}
	const form, json = "application/x-www-form-urlencoded", "application/json"
	for _, tt := range []struct {
		name, path, contentType, body string
	}{
		{"login page", "/login/password", form, loginForm},
		{"login API", "/api/v1/login/password", json, loginJSON},
		// Under the page limit, over the API's.
		{"login API over 16 KiB", "/api/v1/login/password", json, loginJSON[:maxJSONBody+100]},
		{"OpenID token endpoint", oidcPrefix + "/oauth/token", form, url.Values{"grant_type": {"authorization_code"}, "code": {pad}}.Encode()},
	} {
		for _, chunked := range []bool{false, true} {
			name := tt.name
			if chunked {
				name += ", chunked"
			}
			r := post(b.browser(t), tt.path, tt.contentType, tt.body, chunked)
			if r.Status != http.StatusRequestEntityTooLarge {
				t.Errorf("%s: %d, want 413: %.300s", name, r.Status, r.Raw)
				continue
			}
			if strings.HasPrefix(tt.path, "/api/") {
				if r.str("error") != "request_too_large" || r.str("message") != "提交的内容过大" {
					t.Errorf("%s: body %s", name, r.Raw)
				}
			} else if !strings.Contains(r.Raw, "提交的内容过大") {
				t.Errorf("%s: not the error page: %.300s", name, r.Raw)
			}
		}
	}

	// A declared length over the limit is refused before any handler,
	// even one that would not read the body.
	if r := post(b.browser(t), "/api/v1/logout", json, loginJSON, false); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("logout with a declared body of %d bytes: %d, want 413: %s", len(loginJSON), r.Status, r.Raw)
	}

	// A malformed form is refused before the handler, not read as empty.
	if r := post(b.browser(t), "/login/password", form, "id_number=%zz&password=x", false); r.Status != http.StatusBadRequest {
		t.Errorf("malformed login form: %d, want 400: %.300s", r.Status, r.Raw)
	}

	// Within the limits, logins work, with a form and with JSON.
	small := url.Values{"id_number": {c.IDNumber}, "password": {"K9#vTq2!mZ"}, "pad": {pad[:maxRequestBody-200]}}.Encode()
	if r := post(b.browser(t), "/login/password", form, small, true); r.Status != http.StatusSeeOther || r.Header.Get("Location") == "/login" {
		t.Errorf("login form of %d bytes: %d %s, want a redirect into the service", len(small), r.Status, r.Header.Get("Location"))
	}
	if r := b.browser(t).passwordLogin(c, "K9#vTq2!mZ"); r.Status != http.StatusOK {
		t.Errorf("login API: %d %s", r.Status, r.Raw)
	}
}
