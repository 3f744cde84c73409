package authsvc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idfusion/idfusion/schemas"
)

// caBundle is a test service with the CA login: its dev CA, the CRL file
// and the certificate listener (a real TLS listener asking for client
// certificates).
type caBundle struct {
	*testBundle
	ca     *DevCA
	crl    string
	certTS *httptest.Server
}

func setupCA(t *testing.T, subject string, mod ...func(*Config)) *caBundle {
	t.Helper()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) // setup's clock
	ca, err := NewDevCA("test CA", now.AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	roots := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(roots, CertPEM(ca.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	cb := &caBundle{ca: ca, crl: filepath.Join(dir, "crl.pem")}
	cb.writeCRL(t, now.Add(-time.Minute), now.AddDate(0, 0, 30))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ParseCertSubject(subject)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := NewCertLogin(CertLoginConfig{Roots: roots, CRLs: []string{cb.crl}, Subject: cs, BaseURL: "https://" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	cb.testBundle = setup(t, append([]func(*Config){func(c *Config) { c.CA = cl }}, mod...)...)
	cb.certTS = httptest.NewUnstartedServer(cb.svc.CertHandler())
	cb.certTS.Listener.Close()
	cb.certTS.Listener = ln
	cb.certTS.TLS = CertListenerTLS(nil)
	cb.certTS.StartTLS()
	t.Cleanup(cb.certTS.Close)
	return cb
}

// writeCRL replaces the CRL file: the serials revoked, valid from this to
// next. Its time moves on, as a CA's new CRL's would.
func (cb *caBundle) writeCRL(t *testing.T, this, next time.Time, revoked ...*big.Int) {
	t.Helper()
	data, err := cb.ca.CRL(revoked, this, next)
	if err != nil {
		t.Fatal(err)
	}
	cb.writeFile(t, data)
}

func (cb *caBundle) writeFile(t *testing.T, data []byte) {
	t.Helper()
	if err := os.WriteFile(cb.crl, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// A new modification time even within the file system's resolution.
	if fi, err := os.Stat(cb.crl); err == nil {
		mt := fi.ModTime().Add(time.Duration(len(data)+int(time.Now().UnixNano()%1000)) * time.Millisecond)
		os.Chtimes(cb.crl, mt, mt)
	}
}

// issue makes a client certificate of ca with attr = value, valid from
// from to until.
func issue(t *testing.T, ca *DevCA, attr asn1.ObjectIdentifier, value string, from, until time.Time) *DevCert {
	t.Helper()
	c, err := ca.Issue(attr, value, "测试", from, until)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// withCert is br presenting cert (nil: none) to the certificate listener;
// it shares br's cookies (per host, not per port, as a browser's).
func (cb *caBundle) withCert(br *browser, cert *DevCert) *browser {
	tr := cb.certTS.Client().Transport.(*http.Transport).Clone()
	if cert != nil {
		c := tls.Certificate{Certificate: [][]byte{cert.Cert.Raw}, PrivateKey: cert.Key, Leaf: cert.Cert}
		for _, x := range cert.Chain {
			c.Certificate = append(c.Certificate, x.Raw)
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{c}
	}
	hc := &http.Client{Transport: tr, Jar: br.hc.Jar, CheckRedirect: br.hc.CheckRedirect}
	return &browser{t: br.t, b: br.b, hc: hc}
}

// certPost is a script's login at the certificate listener.
func (cb *caBundle) certPost(t *testing.T, cert *DevCert) response {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	br := cb.withCert(&browser{t: t, b: cb.testBundle, hc: &http.Client{Jar: jar}}, cert)
	req, _ := http.NewRequest(http.MethodPost, cb.certTS.URL+"/api/v1/login/ca", nil)
	return br.send(req)
}

// lastCA is the detail of the newest login_ca audit row of the outcome.
func (cb *caBundle) lastCA(t *testing.T, outcome string) string {
	t.Helper()
	var d string
	cb.pool.QueryRow(context.Background(), `SELECT coalesce(detail, '') FROM auth_audit WHERE event = 'login_ca' AND outcome = $1 ORDER BY id DESC LIMIT 1`, outcome).Scan(&d)
	return d
}

func (cb *caBundle) failures(t *testing.T, id int64) int {
	return cb.count(t, `SELECT failed_attempts FROM account WHERE id = $1`, id)
}

// TestCALoginCertificates: a script's certificate login at the
// certificate listener, for each way a certificate is refused; each
// refusal audited with why, counted on the account when the CA issued the
// certificate. The CRL file is read again when it changes, an expired CRL
// refuses, one that does not parse keeps the last.
func TestCALoginCertificates(t *testing.T) {
	t.Parallel()
	cb := setupCA(t, "serialNumber:credit-code")
	now := cb.clock.Now()
	e := cb.activeLegal(t, "海南椰风科技有限公司", "13512349901", "Secret#2026pw")
	valid := issue(t, cb.ca, OIDSerialNumber, e.CreditCode, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0))

	r := cb.certPost(t, valid)
	if r.Status != http.StatusOK || r.str("next") != "/center" {
		t.Fatalf("valid certificate: %d %s, want 200 to /center", r.Status, r.Raw)
	}
	if got := cb.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'login_ca' AND outcome = 'ok' AND account_id = $1 AND detail LIKE '%provider=CA'`, e.id); got != 1 {
		t.Errorf("login_ca ok rows naming the provider: %d, want 1", got)
	}
	if got := cb.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'ca_verified' AND account_id = $1 AND detail LIKE '%serial=' || $2 || '%'`, e.id, serialText(valid.Cert.SerialNumber)); got != 1 {
		t.Errorf("ca_verified rows with the serial: %d, want 1", got)
	}
	if recs, err := cb.svc.loginRecords(context.Background(), e.id); err != nil || len(recs) != 1 || recs[0].Method != "CA 认证登录" {
		t.Errorf("登录记录: %v %v, want one CA 认证登录", recs, err)
	}

	other, err := NewDevCA("other CA", now.AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	e2 := cb.activeLegal(t, "海南椰林贸易有限公司", "13512349902", "Secret#2026pw")
	refusals := []struct {
		name    string
		cert    *DevCert
		reason  string
		counted int64 // the account the failure counts on
	}{
		{"expired", issue(t, cb.ca, OIDSerialNumber, e2.CreditCode, now.AddDate(-1, 0, 0), now.Add(-time.Hour)), "reason=expired", e2.id},
		{"not yet valid", issue(t, cb.ca, OIDSerialNumber, e2.CreditCode, now.Add(time.Hour), now.AddDate(1, 0, 0)), "reason=not yet valid", e2.id},
		{"wrong CA", issue(t, other, OIDSerialNumber, e2.CreditCode, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0)), "reason=unknown CA", 0},
		{"no client certificate", nil, "reason=no client certificate", 0},
		{"server certificate", serverCert(t, cb.ca, now), "reason=not for client authentication", 0},
		{"no attribute", issue(t, cb.ca, nil, "", now.AddDate(0, -1, 0), now.AddDate(1, 0, 0)), "reason=unmapped subject", 0},
		{"no account", issue(t, cb.ca, OIDSerialNumber, creditCode(), now.AddDate(0, -1, 0), now.AddDate(1, 0, 0)), "reason=unmapped subject: no account", 0},
		{"an ID number", issue(t, cb.ca, OIDSerialNumber, e2.RepID, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0)), "reason=unmapped subject", 0},
	}
	for _, tc := range refusals {
		before := cb.failures(t, e2.id)
		r := cb.certPost(t, tc.cert)
		if r.Status != http.StatusUnauthorized || r.str("error") != "ca_login_failed" {
			t.Errorf("%s: %d %s, want 401 ca_login_failed", tc.name, r.Status, r.Raw)
		}
		if d := cb.lastCA(t, "fail"); !strings.Contains(d, tc.reason) {
			t.Errorf("%s: audit detail %q, want %q", tc.name, d, tc.reason)
		}
		want := before
		if tc.counted == e2.id {
			want++
		}
		if got := cb.failures(t, e2.id); got != want {
			t.Errorf("%s: failures %d, want %d", tc.name, got, want)
		}
	}

	// Locked: refused, not counted.
	if _, err := cb.pool.Exec(context.Background(), `UPDATE account SET locked_until = $2 WHERE id = $1`, e2.id, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ok2 := issue(t, cb.ca, OIDSerialNumber, e2.CreditCode, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0))
	if r := cb.certPost(t, ok2); r.Status != http.StatusUnauthorized || !strings.Contains(cb.lastCA(t, "fail"), "reason=locked") {
		t.Errorf("locked account: %d %s (%s), want 401, audited locked", r.Status, r.Raw, cb.lastCA(t, "fail"))
	}

	// Revoked: the CRL replaced on disk is read on the next request.
	cb.writeCRL(t, now, now.AddDate(0, 0, 30), valid.Cert.SerialNumber)
	if r := cb.certPost(t, valid); r.Status != http.StatusUnauthorized || !strings.Contains(cb.lastCA(t, "fail"), "reason=revoked") {
		t.Errorf("revoked: %d %s (%s), want 401, audited revoked", r.Status, r.Raw, cb.lastCA(t, "fail"))
	}
	// A new CRL that does not parse keeps the last: still revoked.
	cb.writeFile(t, []byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"))
	if r := cb.certPost(t, valid); r.Status != http.StatusUnauthorized || !strings.Contains(cb.lastCA(t, "fail"), "reason=revoked") {
		t.Errorf("bad new CRL: %d %s (%s), want 401, still revoked", r.Status, r.Raw, cb.lastCA(t, "fail"))
	}
	// A CRL of another key under the CA's name is not the CA's: the last
	// stays (still revoked, not "no CRL").
	impostor, err := NewDevCA("test CA", now.AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := impostor.CRL(nil, now.Add(time.Minute), now.AddDate(0, 0, 30))
	if err != nil {
		t.Fatal(err)
	}
	cb.writeFile(t, forged)
	if r := cb.certPost(t, valid); r.Status != http.StatusUnauthorized || !strings.Contains(cb.lastCA(t, "fail"), "reason=revoked") {
		t.Errorf("forged CRL: %d %s (%s), want 401, still revoked", r.Status, r.Raw, cb.lastCA(t, "fail"))
	}
	// A CRL past its NextUpdate refuses (fail closed), revoked or not:
	// the CA's outage, audited but not counted on the account.
	fresh := issue(t, cb.ca, OIDSerialNumber, e.CreditCode, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0))
	before := cb.failures(t, e.id)
	cb.writeCRL(t, now.AddDate(0, 0, -40), now.AddDate(0, 0, -10))
	if r := cb.certPost(t, fresh); r.Status != http.StatusUnauthorized || !strings.Contains(cb.lastCA(t, "fail"), "reason=CRL expired") {
		t.Errorf("expired CRL: %d %s (%s), want 401, audited CRL expired", r.Status, r.Raw, cb.lastCA(t, "fail"))
	}
	// A CRL not yet in force (thisUpdate an hour ahead) is none: refused.
	cb.writeCRL(t, now.Add(time.Hour), now.AddDate(0, 0, 30))
	if r := cb.certPost(t, fresh); r.Status != http.StatusUnauthorized || !strings.Contains(cb.lastCA(t, "fail"), "no valid CRL") {
		t.Errorf("a CRL not yet in force: %d %s (%s), want 401, audited no valid CRL", r.Status, r.Raw, cb.lastCA(t, "fail"))
	}
	if got := cb.failures(t, e.id); got != before {
		t.Errorf("refusals for the CA's CRL counted on the account: %d failures, were %d", got, before)
	}
	// Control: a current CRL without it lets it in.
	// Its thisUpdate 2 minutes ahead of our clock, as a CA's clock may be.
	cb.writeCRL(t, now.Add(2*time.Minute), now.AddDate(0, 0, 30))
	if r := cb.certPost(t, fresh); r.Status != http.StatusOK {
		t.Errorf("current CRL: %d %s (%s), want 200", r.Status, r.Raw, cb.lastCA(t, "fail"))
	}
}

// TestCALoginNatural: a CA whose certificates carry ID numbers in CN
// signs citizens in; a fused one is sent to its completion.
func TestCALoginNatural(t *testing.T) {
	t.Parallel()
	cb := setupCA(t, "CN:id-number", func(c *Config) { c.RequestsPerMinute = 3 })
	now := cb.clock.Now()
	c := cb.fused(t, "林小海", "13512349903")
	r := cb.certPost(t, issue(t, cb.ca, OIDCommonName, c.IDNumber, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0)))
	if r.Status != http.StatusOK || r.str("next_step") != string(schemas.StepInfo) {
		t.Fatalf("fused citizen: %d %s, want 200 to step info", r.Status, r.Raw)
	}
	// Rate-limited per client address (3 a minute here).
	for i := range 3 {
		r := cb.certPost(t, nil)
		if want := map[bool]int{true: http.StatusTooManyRequests, false: http.StatusUnauthorized}[i == 2]; r.Status != want {
			t.Errorf("try %d: %d %s, want %d", i+2, r.Status, r.Raw, want)
		}
	}
}

// serverCert is a certificate of ca for servers only.
func serverCert(t *testing.T, ca *DevCA, now time.Time) *DevCert {
	t.Helper()
	c, err := ca.issueServer(now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCALoginBrowser: the 法人登录 tab's CA login. The main site binds a
// challenge to the browser and sends it to the certificate listener,
// which approves it and sends it back; only the browser's session spends
// it, once.
func TestCALoginBrowser(t *testing.T) {
	t.Parallel()
	cb := setupCA(t, "serialNumber:credit-code")
	now := cb.clock.Now()
	e := cb.fusedLegal(t, "海南椰岛实业有限公司", "13512349904")
	cert := issue(t, cb.ca, OIDSerialNumber, e.CreditCode, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0))
	br := cb.browser(t)
	if r := br.get("/login?tab=legal"); !strings.Contains(r.Raw, `href="/login/ca"`) {
		t.Errorf("法人登录 tab without CA 认证登录")
	}
	r := br.get("/login/ca")
	to := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(to, cb.certTS.URL+"/ca/login?c=") {
		t.Fatalf("start: %d %s, want 303 to the certificate listener", r.Status, to)
	}
	id := strings.TrimPrefix(to, cb.certTS.URL+"/ca/login?c=")
	req, _ := http.NewRequest(http.MethodGet, to, nil)
	r = cb.withCert(br, cert).send(req)
	back := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || back != cb.ts.URL+"/login/ca/"+id {
		t.Fatalf("certificate listener: %d %s %s, want 303 back", r.Status, back, r.Raw)
	}
	// Answered once.
	if r := cb.withCert(br, cert).send(mustReq(t, to)); r.Status != http.StatusNotFound {
		t.Errorf("second answer: %d %s, want 404", r.Status, r.Raw)
	}
	// Another browser cannot spend it.
	other := cb.browser(t)
	other.get("/login/ca") // a session of its own
	if r := other.get("/login/ca/" + id); r.Status != http.StatusNotFound {
		t.Errorf("another session spent the challenge: %d %s", r.Status, r.Header.Get("Location"))
	}
	r = br.get("/login/ca/" + id)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/complete") {
		t.Fatalf("return: %d %s %s, want 303 to the completion", r.Status, r.Header.Get("Location"), r.Raw)
	}
	if got := cb.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'login_ca' AND outcome = 'ok' AND account_id = $1`, e.id); got != 1 {
		t.Errorf("login_ca ok rows: %d, want 1", got)
	}
	// Used once.
	if r := br.get("/login/ca/" + id); r.Status != http.StatusNotFound {
		t.Errorf("used twice: %d %s", r.Status, r.Header.Get("Location"))
	}
	if r := br.get("/api/v1/login/ca/" + id); r.Status != http.StatusNotFound || r.str("error") != "ca_unknown" {
		t.Errorf("used twice (JSON): %d %s", r.Status, r.Raw)
	}
}

// TestCALoginChallenges: the certificate listener answers CA challenges
// only, pending and unexpired; an account locked after the answer is not
// signed in.
func TestCALoginChallenges(t *testing.T) {
	t.Parallel()
	cb := setupCA(t, "serialNumber:credit-code")
	now := cb.clock.Now()
	e := cb.activeLegal(t, "海南椰城物流有限公司", "13512349905", "Secret#2026pw")
	cert := issue(t, cb.ca, OIDSerialNumber, e.CreditCode, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0))
	br := cb.browser(t)
	// A face login's challenge.
	r := br.post("/api/v1/login/face", map[string]string{"id_number": e.RepID})
	if r.Status != http.StatusCreated {
		t.Fatalf("face start: %d %s", r.Status, r.Raw)
	}
	if r := cb.withCert(br, cert).send(mustReq(t, cb.certTS.URL+"/ca/login?c="+r.str("challenge"))); r.Status != http.StatusNotFound {
		t.Errorf("a face challenge answered: %d %s, want 404", r.Status, r.Raw)
	}
	// No certificate: the challenge is rejected, the browser told why.
	r = br.post("/api/v1/login/ca/challenge", map[string]string{})
	if r.Status != http.StatusCreated {
		t.Fatalf("start: %d %s", r.Status, r.Raw)
	}
	noCert := r.str("challenge")
	if r := cb.withCert(br, nil).send(mustReq(t, r.str("certificate_url"))); r.Status != http.StatusSeeOther {
		t.Fatalf("no certificate: %d %s, want 303 back", r.Status, r.Raw)
	}
	if r := br.get("/login/ca/" + noCert); r.Status != http.StatusUnauthorized || !strings.Contains(r.Raw, "CA 认证登录失败") {
		t.Errorf("back without a certificate: %d, want 401 with the CA message", r.Status)
	}
	if r := br.get("/api/v1/login/ca/" + noCert); r.Status != http.StatusUnauthorized || r.str("error") != "ca_login_failed" {
		t.Errorf("JSON, back without a certificate: %d %s, want 401", r.Status, r.Raw)
	}
	// Expired.
	r = br.post("/api/v1/login/ca/challenge", map[string]string{})
	if r.Status != http.StatusCreated {
		t.Fatalf("start: %d %s", r.Status, r.Raw)
	}
	to := r.str("certificate_url")
	cb.clock.Advance(cb.svc.cfg.FaceTTL + time.Second)
	if r := cb.withCert(br, cert).send(mustReq(t, to)); r.Status != http.StatusNotFound {
		t.Errorf("an expired challenge answered: %d %s, want 404", r.Status, r.Raw)
	}
	// Locked between the answer and the return.
	r = br.post("/api/v1/login/ca/challenge", map[string]string{})
	id, to := r.str("challenge"), r.str("certificate_url")
	if r := cb.withCert(br, cert).send(mustReq(t, to)); r.Status != http.StatusSeeOther {
		t.Fatalf("answer: %d %s", r.Status, r.Raw)
	}
	if _, err := cb.pool.Exec(context.Background(), `UPDATE account SET locked_until = $2 WHERE id = $1`, e.id, cb.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r := br.get("/api/v1/login/ca/" + id); r.Status == http.StatusOK {
		t.Errorf("locked account signed in: %d %s", r.Status, r.Raw)
	}
	if got := cb.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'login_ca' AND outcome = 'ok'`); got != 0 {
		t.Errorf("login_ca ok rows: %d, want 0", got)
	}
}

// TestCALoginIntermediate: a certificate of an intermediate CA, which the
// client sends in the handshake, is checked against the intermediate's
// CRL, and a CRL under the intermediate's name signed by another key is
// none (fail closed).
func TestCALoginIntermediate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	root, err := NewDevCA("test root", now.AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.Intermediate("test issuing CA", now.AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	crl := func(ca *DevCA, this time.Time) []byte {
		d, err := ca.CRL(nil, this, now.AddDate(0, 0, 30))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	roots := write("root.pem", CertPEM(root.Cert))
	rootCRL := write("root.crl", crl(root, now.Add(-time.Minute)))
	interCRL := write("inter.crl", crl(inter, now.Add(-time.Minute)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := ParseCertSubject("serialNumber:credit-code")
	cl, err := NewCertLogin(CertLoginConfig{Roots: roots, CRLs: []string{rootCRL, interCRL}, Subject: cs, BaseURL: "https://" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	cb := &caBundle{ca: inter, crl: interCRL, testBundle: setup(t, func(c *Config) { c.CA = cl })}
	cb.certTS = httptest.NewUnstartedServer(cb.svc.CertHandler())
	cb.certTS.Listener.Close()
	cb.certTS.Listener = ln
	cb.certTS.TLS = CertListenerTLS(nil)
	cb.certTS.StartTLS()
	t.Cleanup(cb.certTS.Close)

	e := cb.activeLegal(t, "海南椰海科技有限公司", "13512349906", "Secret#2026pw")
	leaf := issue(t, inter, OIDSerialNumber, e.CreditCode, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0))
	withChain := &DevCert{Cert: leaf.Cert, Key: leaf.Key, Chain: []*x509.Certificate{inter.Cert}}
	if r := cb.certPost(t, withChain); r.Status != http.StatusOK {
		t.Fatalf("intermediate's certificate with its chain: %d %s", r.Status, r.Raw)
	}
	if r := cb.certPost(t, leaf); r.Status != http.StatusUnauthorized || !strings.Contains(cb.lastCA(t, "fail"), "reason=unknown CA") {
		t.Errorf("without the intermediate: %d %s (%s), want 401 unknown CA", r.Status, r.Raw, cb.lastCA(t, "fail"))
	}
	impostor, err := root.Intermediate("test issuing CA", now.AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cb.writeFile(t, crl(impostor, now))
	if r := cb.certPost(t, withChain); r.Status != http.StatusUnauthorized || !strings.Contains(cb.lastCA(t, "fail"), "reason=no valid CRL") {
		t.Errorf("forged intermediate CRL: %d %s (%s), want 401 no valid CRL", r.Status, r.Raw, cb.lastCA(t, "fail"))
	}
}

func mustReq(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestParseCertSubject: serialNumber, CN or a dotted OID, then the key.
func TestParseCertSubject(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"serialNumber:credit-code": "2.5.4.5 legal",
		"CN:id-number":             "2.5.4.3 natural",
		"2.5.4.97:credit-code":     "2.5.4.97 legal",
		"serialNumber":             "",
		"serialNumber:passport":    "",
		"2.5.x:credit-code":        "",
		"5:credit-code":            "",
		"organization:credit-code": "",
	} {
		cs, err := ParseCertSubject(in)
		got := ""
		if err == nil {
			got = cs.Attribute.String() + " " + string(cs.Kind)
		}
		if got != want {
			t.Errorf("%q: %q (%v), want %q", in, got, err, want)
		}
	}
}
