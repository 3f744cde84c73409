package authsvc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/upstreamdev"
	"github.com/idfusion/idfusion/schemas"
)

// TestAttackCAApprovalCrossBrowser: an attacker's browser starts a CA
// login and gets the victim (who holds a U-KEY) to open the certificate
// URL; the victim's certificate must not sign the attacker's session in.
func TestAttackCAApprovalCrossBrowser(t *testing.T) {
	t.Parallel()
	cb := setupCA(t, "serialNumber:credit-code")
	now := cb.clock.Now()
	victim := cb.activeLegal(t, "海南受害实业有限公司", "13512349911", goodPassword)
	cert := issue(t, cb.ca, OIDSerialNumber, victim.CreditCode, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0))
	attacker := cb.browser(t)
	r := attacker.post("/api/v1/login/ca/challenge", map[string]string{})
	if r.Status != http.StatusCreated {
		t.Fatalf("start: %d %s", r.Status, r.Raw)
	}
	id, to := r.str("challenge"), r.str("certificate_url")
	// The victim's browser (its own cookies, its own session) follows the link.
	vb := cb.browser(t)
	vb.get("/login")
	cb.withCert(vb, cert).send(mustReq(t, to))
	if r := attacker.get("/api/v1/login/ca/" + id); r.Status == http.StatusOK && r.str("status") == "used" {
		me := attacker.get("/api/v1/me")
		t.Errorf("BROKEN: the attacker's session is signed in as the victim by the victim's certificate: poll %s, me %d", r.Raw, me.Status)
	}
}

// TestAttackCATwoSerialNumbers: a certificate whose subject carries two
// serialNumber attributes names two accounts: it must not sign in either.
func TestAttackCATwoSerialNumbers(t *testing.T) {
	t.Parallel()
	cb := setupCA(t, "serialNumber:credit-code")
	now := cb.clock.Now()
	a := cb.activeLegal(t, "海南甲实业有限公司", "13512349912", goodPassword)
	b := cb.activeLegal(t, "海南乙实业有限公司", "13512349913", goodPassword)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: randomSerial(),
		Subject: pkix.Name{CommonName: "双重", ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: OIDSerialNumber, Value: a.CreditCode}, {Type: OIDSerialNumber, Value: b.CreditCode}}},
		NotBefore: now.AddDate(0, -1, 0), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, cb.ca.Cert, key.Public(), cb.ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	if r := cb.certPost(t, &DevCert{Cert: c, Key: key}); r.Status == http.StatusOK {
		t.Errorf("BROKEN: a certificate with two serialNumber attributes signed in (%s); accounts %d/%d", r.Raw, a.id, b.id)
	}
}

// TestAttackCAForeignCRL: a CRL of another CA (under the same name) is
// no CRL for the configured CA's certificates: fail closed.
func TestAttackCAForeignCRL(t *testing.T) {
	t.Parallel()
	cb := setupCA(t, "serialNumber:credit-code")
	now := cb.clock.Now()
	e := cb.activeLegal(t, "海南丙实业有限公司", "13512349914", goodPassword)
	cert := issue(t, cb.ca, OIDSerialNumber, e.CreditCode, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0))
	other, err := NewDevCA("test CA", now.AddDate(-1, 0, 0)) // same name, other key
	if err != nil {
		t.Fatal(err)
	}
	crl, err := other.CRL(nil, now.Add(time.Minute), now.AddDate(0, 0, 60))
	if err != nil {
		t.Fatal(err)
	}
	cb.writeFile(t, crl)
	if r := cb.certPost(t, cert); r.Status != http.StatusOK {
		t.Errorf("the foreign CRL replaced the CA's own: %d %s", r.Status, r.Raw)
	}
}

// TestAttackUpstreamInterleaved: two browsers; the callback of one's
// login in the other, the same callback in parallel, an open redirect in
// return_to, and the registration endpoint without a callback.
func TestAttackUpstreamInterleaved(t *testing.T) {
	t.Parallel()
	idA, idB := residentID("19800101"), residentID("19810202")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "甲", IDNumber: idA, Phone: "13900003331"}, {Name: "乙", IDNumber: idB, Phone: "13900003332"}})
	c := citizen{IDNumber: idA, Name: "甲", Phone: "13900003331"}
	c.id = u.insert(t, c, schemas.StatusActive, []string{}, nil)

	// A victim's browser gets the attacker's callback (login CSRF): refused.
	att, vic := u.browser(t), u.browser(t)
	loc := u.upstreamAuthorize(att, idA, "")
	vic.get("/login/upstream/gov") // a session of its own
	if r := vic.callback(loc); r.Status == http.StatusSeeOther && !strings.Contains(r.Header.Get("Location"), "/login") {
		t.Errorf("another browser's callback accepted: %d %s", r.Status, r.Header.Get("Location"))
	}
	// The same callback in parallel: one login at most.
	br := u.browser(t)
	loc = u.upstreamAuthorize(br, idA, "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, loc, nil)
			resp, err := br.hc.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusSeeOther {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("parallel callbacks of one state: %d logins, want 1", ok)
	}
	// Open redirect through return_to.
	for _, bad := range []string{"//evil.example/x", "/\\evil.example", "https://evil.example/", "/%5Cevil.example", "\\\\evil.example"} {
		b2 := u.browser(t)
		r := b2.callback(u.upstreamAuthorize(b2, idA, bad))
		if l := r.Header.Get("Location"); strings.Contains(l, "evil") && !strings.HasPrefix(l, "/%5C") {
			t.Errorf("return_to %q: redirected to %q", bad, l)
		}
	}
	// The registration endpoint without a callback; and B's registration
	// page not accepted by A's session.
	nb := u.browser(t)
	nb.get("/login/upstream/gov")
	if r := nb.post("/api/v1/login/upstream/register", map[string]any{"agree": true, "agreement_version": AgreementVersion}); r.Status == http.StatusOK {
		t.Errorf("registered without a callback: %s", r.Raw)
	}
	rb := u.browser(t)
	if r := rb.callback(u.upstreamAuthorize(rb, idB, "")); r.Header.Get("Location") != "/login/upstream/register" {
		t.Fatalf("callback B: %d %s", r.Status, r.Header.Get("Location"))
	}
	if r := nb.post("/api/v1/login/upstream/register", map[string]any{"agree": true, "agreement_version": AgreementVersion}); r.Status == http.StatusOK {
		t.Errorf("another session accepted B's registration: %s", r.Raw)
	}
	// CSRF: a cross-site form post of the registration.
	req, _ := http.NewRequest(http.MethodPost, u.ts.URL+"/login/upstream/register", strings.NewReader(url.Values{"agree": {"1"}, "agreement_version": {AgreementVersion}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := rb.send(req); r.Status < 400 {
		t.Errorf("cross-site registration form accepted: %d %s", r.Status, r.Header.Get("Location"))
	}
}

// TestAttackUpstreamLowercaseX: an ID number ending in a lowercase x at
// the provider finds the account of the same number (no second account).
func TestAttackUpstreamLowercaseX(t *testing.T) {
	t.Parallel()
	const id = "46010019900307004X" // a valid resident ID whose check character is X
	low := strings.TrimSuffix(id, "X") + "x"
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "丁", IDNumber: low, Phone: "13900003334"}})
	c := citizen{IDNumber: id, Name: "丁", Phone: "13900003334"}
	c.id = u.insert(t, c, schemas.StatusActive, []string{}, nil)
	br := u.browser(t)
	r := br.callback(u.upstreamAuthorize(br, low, ""))
	if l := r.Header.Get("Location"); r.Status != http.StatusSeeOther || l != "/center" {
		t.Fatalf("lowercase x: %d to %q, want the account's own sign-in to /center", r.Status, l)
	}
	if o, _, acc := u.lastAudit(t, "login_upstream"); o != "ok" || acc == nil || *acc != c.id {
		t.Errorf("lowercase x signed in %v (%s), want the account %d", acc, o, c.id)
	}
}

// TestAttackLicenceReplayParallel: one signed licence answer posted in
// parallel approves once; another browser polling the challenge gets
// nothing.
func TestAttackLicenceReplayParallel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南戊实业有限公司", "13912349515", goodPassword)
	br := b.browser(t)
	ch := br.startLicence()
	body := b.licenceBody(t, nil, ch, e.CreditCode, e.RepID, LicencePass, b.clock.Now())
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := b.licenceCallback(t, body); r.Status == http.StatusOK {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("parallel replays: %d accepted, want 1", ok)
	}
	other := b.browser(t)
	other.startLicence()
	if r := other.get("/api/v1/login/licence/" + ch); r.Status == http.StatusOK {
		t.Errorf("another session polled the approved challenge: %s", r.Raw)
	}
	if r := br.get("/api/v1/login/licence/" + ch); r.str("status") != "used" {
		t.Errorf("owner poll: %d %s", r.Status, r.Raw)
	}
}

// TestAttackUpstreamFaceVerifiedSkip: a face-verified provider's approved
// ③ challenge polled directly before ①② activates nothing, and the
// restricted session reaches no protected page.
func TestAttackUpstreamFaceVerifiedSkip(t *testing.T) {
	t.Parallel()
	id := residentID("19900308")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "张四", IDNumber: id}}, func(p *UpstreamProvider) { p.FaceVerified = true })
	c := citizen{IDNumber: id, Name: "张四", Phone: "13900004445"}
	c.id = u.insert(t, c, schemas.StatusPendingCompletion, []string{"info", "password", "face"}, nil)
	br := u.browser(t)
	br.callback(u.upstreamAuthorize(br, id, ""))
	var ch string
	if err := u.pool.QueryRow(t.Context(), `SELECT id FROM face_challenge WHERE account_id = $1 AND purpose = 'complete'`, c.id).Scan(&ch); err != nil {
		t.Fatal(err)
	}
	if r := br.get("/api/v1/completion/face/" + ch); r.str("status") == "used" {
		t.Errorf("③ polled before ①②: %d %s", r.Status, r.Raw)
	}
	if n := u.count(t, `SELECT count(*) FROM account WHERE id = $1 AND status = 'active'`, c.id); n != 0 {
		t.Errorf("account activated before ①②")
	}
	for _, p := range []string{"/api/v1/me", "/center", "/settings/upstream", "/api/v1/settings/upstream"} {
		if r := br.get(p); r.Status == http.StatusOK {
			t.Errorf("restricted session reached %s", p)
		}
	}
}
