package authsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/schemas"
)

// The defects found by the security review, one test each; every test
// has a positive control next to its refusal.

// TestSafeReturn: a return address is a path of this service, also as a
// browser reads it: browsers drop tabs and line breaks anywhere in a URL
// (WHATWG URL parsing), so /<TAB>/evil.example is //evil.example.
func TestSafeReturn(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/center", "/center"},
		{"/a/b?c=d&e=%2F%2F#f", "/a/b?c=d&e=%2F%2F#f"},
		{"", ""},
		{"center", ""},
		{"https://evil.example/", ""},
		{"//evil.example", ""},
		{"/\\evil.example", ""},
		{"/\t/evil.example", ""},
		{"/\t\\evil.example", ""},
		{"/\n/evil.example", ""},
		{"/\r/evil.example", ""},
		{"/\x00/evil.example", ""},
		{"/\x7f", ""},
	}
	for _, tt := range tests {
		if got := safeReturn(tt.in); got != tt.want {
			t.Errorf("safeReturn(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// postForm posts a page's form with the browser's cookies and returns the
// answer as sent: not followed, its Location not parsed (Go's client
// refuses one with a control character, browsers do not).
func (br *browser) postForm(path string, form url.Values) *http.Response {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodPost, br.b.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		br.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range br.hc.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, err := br.hc.Transport.RoundTrip(req)
	if err != nil {
		br.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestReturnToNoOpenRedirect: a login's return_to never sends the browser
// to another site, neither by the page's redirect nor by the API's next.
func TestReturnToNoOpenRedirect(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "朱一", "13912340401", goodPassword)
	tests := []struct{ returnTo, want string }{
		{"/center?tab=1", "/center?tab=1"}, // control
		{"/\t/evil.example", "/center"},
		{"/\t\\evil.example", "/center"},
	}
	for _, tt := range tests {
		resp := b.browser(t).postForm("/login/password", url.Values{"id_number": {c.IDNumber}, "password": {goodPassword}, "return_to": {tt.returnTo}})
		if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != tt.want {
			t.Errorf("page login, return_to %q: %d Location %q, want 303 %q", tt.returnTo, resp.StatusCode, got, tt.want)
		}
		r := b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": c.IDNumber, "password": goodPassword, "return_to": tt.returnTo})
		if r.Status != http.StatusOK || r.str("next") != tt.want {
			t.Errorf("API login, return_to %q: %d next %q, want 200 %q", tt.returnTo, r.Status, r.str("next"), tt.want)
		}
	}
}

// from sends a request as a client at addr (ip:port), straight to the
// handler: the tests' own connections all come from 127.0.0.1.
func (b *testBundle) from(t *testing.T, addr, path string, body any) response {
	t.Helper()
	j, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(j))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	b.svc.Handler().ServeHTTP(rec, req)
	out := response{Status: rec.Code, Raw: rec.Body.String(), Header: rec.Header()}
	json.Unmarshal(rec.Body.Bytes(), &out.Body)
	return out
}

// TestLimitsPerIPv6Network: an IPv6 client holds a whole /64 (at least),
// so the per-address limits count the /64: a new address in it is no new
// allowance. Another /64 and IPv4 addresses stay apart.
func TestLimitsPerIPv6Network(t *testing.T) {
	t.Parallel()

	t.Run("requests", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *Config) { c.RequestsPerMinute = 3 })
		body := map[string]string{"id_number": residentID("19700101"), "password": goodPassword}
		for i := 1; i <= 3; i++ {
			if r := b.from(t, fmt.Sprintf("[2001:db8:1:2::%x]:40000", i), "/api/v1/login/password", body); r.Status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d %s, want 401", i, r.Status, r.Raw)
			}
		}
		for _, addr := range []string{"[2001:db8:1:2::4]:40000", "[2001:db8:1:2:ffff:ffff:ffff:ffff]:1"} {
			if r := b.from(t, addr, "/api/v1/login/password", body); r.Status != http.StatusTooManyRequests {
				t.Errorf("%s, same /64: %d %s, want 429", addr, r.Status, r.Raw)
			}
		}
		for _, addr := range []string{"[2001:db8:1:3::1]:40000", "192.0.2.1:40000", "192.0.2.2:40000"} {
			if r := b.from(t, addr, "/api/v1/login/password", body); r.Status != http.StatusUnauthorized {
				t.Errorf("control, %s: %d %s, want 401", addr, r.Status, r.Raw)
			}
		}
	})

	t.Run("sms codes", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *Config) { c.CodesPerIPHour = 2 })
		send := func(addr string, i int) response {
			c := b.active(t, "朱二", fmt.Sprintf("139123404%02d", i), goodPassword)
			return solving(func(body map[string]string) response { return b.from(t, addr, "/api/v1/login/sms/send", body) },
				map[string]string{"id_number": c.IDNumber, "phone": c.Phone})
		}
		for i := 1; i <= 2; i++ {
			if r := send(fmt.Sprintf("[2001:db8:1:2::%x]:40000", i), i); r.Status != http.StatusAccepted {
				t.Fatalf("send %d: %d %s, want 202", i, r.Status, r.Raw)
			}
		}
		if r := send("[2001:db8:1:2::3]:40000", 3); r.Status != http.StatusTooManyRequests || r.str("error") != "rate_limited" {
			t.Errorf("send 3, same /64: %d %s, want 429 rate_limited", r.Status, r.Raw)
		}
		if r := send("[2001:db8:1:3::3]:40000", 4); r.Status != http.StatusAccepted {
			t.Errorf("control, another /64: %d %s, want 202", r.Status, r.Raw)
		}
	})
}

// TestCompletionCodeCheckLimited: the completion's SMS code check (step
// ①) is a credential check like the logins', under the same per-address
// limit, page and API.
func TestCompletionCodeCheckLimited(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.RequestsPerMinute = 5; c.MaxFailures = 100 })
	c := b.fused(t, "朱三", "13912340411")
	br := b.browser(t)
	if r := br.smsLogin(c); r.Status != http.StatusOK { // 2 requests
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	wrong := map[string]string{"phone": "13912340412", "code": "000000", "address": "海口市"}
	for i := 1; i <= 3; i++ {
		if r := br.post("/api/v1/completion/info", wrong); r.Status != http.StatusUnprocessableEntity || r.str("error") != "code_wrong" {
			t.Fatalf("wrong code %d: %d %s, want 422 code_wrong", i, r.Status, r.Raw)
		}
	}
	if r := br.post("/api/v1/completion/info", wrong); r.Status != http.StatusTooManyRequests {
		t.Errorf("API, wrong code beyond the limit: %d %s, want 429", r.Status, r.Raw)
	}
	if resp := br.postForm("/complete/info", url.Values{"phone": {wrong["phone"]}, "code": {"000000"}, "address": {"海口市"}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("page, wrong code beyond the limit: %d, want 429", resp.StatusCode)
	}
	b.clock.Advance(time.Minute)
	if r := br.post("/api/v1/completion/info", wrong); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("control, a minute later: %d %s, want 422", r.Status, r.Raw)
	}
}

// TestPasswordGuessesInParallel: password guesses sent all at once get no
// more comparisons than MaxFailures, as if sent one by one: the account
// locks on the fifth whatever is still in flight.
func TestPasswordGuessesInParallel(t *testing.T) {
	t.Parallel()
	const n = 20
	b := setup(t, func(c *Config) { c.HashConcurrency = n })
	c := b.active(t, "朱四", "13912340421", goodPassword)
	var phc string
	if err := b.pool.QueryRow(context.Background(), `SELECT password_hash FROM account WHERE id = $1`, c.id).Scan(&phc); err != nil {
		t.Fatal(err)
	}
	_, salt, _, err := parsePHC(phc)
	if err != nil {
		t.Fatal(err)
	}
	// Comparisons with the account's hash wait until all n are in (or a
	// second has passed): every guess that passed the lock check is then
	// in flight at once.
	var mu sync.Mutex
	compared := 0
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	idKey := b.svc.hasher.idKey
	b.svc.hasher.idKey = func(password, s []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		if bytes.Equal(s, salt) {
			mu.Lock()
			compared++
			mu.Unlock()
			arrived <- struct{}{}
			<-release
		}
		return idKey(password, s, time, memory, threads, keyLen)
	}
	go func() {
		defer close(release)
		timeout := time.After(time.Second)
		for range n {
			select {
			case <-arrived:
			case <-timeout:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	replies := make([]reply, n)
	for i := range n {
		wg.Go(func() { replies[i] = replyOf(b.browser(t).passwordLogin(c, fmt.Sprintf("Wrong#Pass%d", i))) })
	}
	wg.Wait()
	for i, r := range replies {
		if diff := cmp.Diff(loginFailed, r); diff != "" {
			t.Errorf("guess %d: mismatch (-want +got):\n%s", i, diff)
		}
	}
	if compared != b.svc.cfg.MaxFailures {
		t.Errorf("%d parallel guesses were compared with the password %d times, want %d", n, compared, b.svc.cfg.MaxFailures)
	}
	if diff := cmp.Diff(loginFailed, replyOf(b.browser(t).passwordLogin(c, goodPassword))); diff != "" {
		t.Errorf("right password after the guesses (locked): mismatch (-want +got):\n%s", diff)
	}
	b.clock.Advance(b.svc.cfg.LockFor)
	if r := b.browser(t).passwordLogin(c, goodPassword); r.Status != http.StatusOK {
		t.Errorf("control, right password after the lock: %d %s, want 200", r.Status, r.Raw)
	}
}

// TestOperatorLockEndsSessions: an account the operators lock or disable
// loses its sessions at once, not up to 12 hours later.
func TestOperatorLockEndsSessions(t *testing.T) {
	t.Parallel()
	for _, status := range []schemas.AccountStatus{schemas.StatusLocked, schemas.StatusDisabled} {
		t.Run(string(status), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.active(t, "朱五", "13912340431", goodPassword)
			br := b.browser(t)
			if r := br.passwordLogin(c, goodPassword); r.Status != http.StatusOK {
				t.Fatalf("password login: %d %s", r.Status, r.Raw)
			}
			token := br.cookie()
			if r := br.get("/api/v1/me"); r.Status != http.StatusOK {
				t.Fatalf("control, before the lock: %d %s, want 200", r.Status, r.Raw)
			}
			if _, err := b.pool.Exec(context.Background(), `UPDATE account SET status = $2 WHERE id = $1`, c.id, string(status)); err != nil {
				t.Fatal(err)
			}
			if r := br.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
				t.Errorf("API after the lock: %d %s, want 401", r.Status, r.Raw)
			}
			r := b.withCookie(t, token).get("/center")
			if loc := r.Header.Get("Location"); r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
				t.Errorf("page after the lock: %d Location %q, want 303 to /login", r.Status, loc)
			}
		})
	}
}

// TestRestrictedSessionAfterCompletionElsewhere: a restricted session
// whose account another browser completed has nothing left to do: it
// ends (log in again), rather than sending the page to /center, which
// sent it to /center, and so on.
func TestRestrictedSessionAfterCompletionElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "朱六", "13912340441")
	first, second := b.browser(t), b.browser(t)
	if r := first.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	token := first.cookie()
	b.clock.Advance(61 * time.Second)
	if r := second.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("sms login, second browser: %d %s", r.Status, r.Raw)
	}
	// follow returns the redirects a page makes, up to five.
	follow := func(path string) []string {
		br := b.withCookie(t, token)
		var chain []string
		for range 5 {
			r := br.get(path)
			if r.Status != http.StatusSeeOther {
				break
			}
			path = r.Header.Get("Location")
			chain = append(chain, path)
		}
		return chain
	}
	if diff := cmp.Diff([]string{"/complete/info"}, follow("/center")); diff != "" {
		t.Fatalf("control, pending: redirects of /center: mismatch (-want +got):\n%s", diff)
	}
	second.completeTo(c, "")
	if r := second.get("/center"); r.Status != http.StatusOK {
		t.Fatalf("control, the browser that completed: %d, want 200", r.Status)
	}
	// Its flow ended with the completion elsewhere, and the session with it.
	if diff := cmp.Diff([]string{"/login?return_to=%2Fcomplete"}, follow("/complete")); diff != "" {
		t.Errorf("redirects of /complete: mismatch (-want +got):\n%s", diff)
	}
	if r := b.withCookie(t, token).get("/api/v1/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("API: %d %s, want 401 (log in again)", r.Status, r.Raw)
	}
}
