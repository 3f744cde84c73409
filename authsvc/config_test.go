package authsvc

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/pii"
)

// TestConfigProviders: outside development the providers are required,
// and the face simulator is refused.
func TestConfigProviders(t *testing.T) {
	t.Parallel()
	keys, _, err := pii.LoadOrCreateDevKeyring(filepath.Join(t.TempDir(), "dev.key"))
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewFaceApp("https://face.example.gov.cn/{challenge}", newKey(t).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := NewFaceSimulator("https://login.example.gov.cn", newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := NewHTTPSMSGateway("https://sms.example.gov.cn/send", "authsvc-1", testSMSSecret, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	licenceSim, err := NewLicenceSimulator("https://login.example.gov.cn", newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	licenceApp, err := NewLicenceApp("https://licence.example.gov.cn/scan?c={challenge}", newKey(t).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // in the error; "" for none
	}{
		{"production", func(*Config) {}, ""},
		{"no face provider", func(c *Config) { c.Face = nil }, "Config.Face is required"},
		{"simulator outside development", func(c *Config) { c.Face = sim }, "simulator is only for Config.Dev"},
		{"no SMS gateway", func(c *Config) { c.SMS = nil }, "Config.SMS is required"},
		{"development with the simulator", func(c *Config) { c.Dev, c.Face = true, sim }, ""},
		{"licence simulator outside development", func(c *Config) { c.Licence = licenceSim }, "licence simulator is only for Config.Dev"},
		{"licence app", func(c *Config) { c.Licence = licenceApp }, ""},
		{"development with the licence simulator", func(c *Config) { c.Dev, c.Licence = true, licenceSim }, ""},
		// The password's lock doubles LockFor: a non-positive one never grows.
		{"negative lock", func(c *Config) { c.LockFor = -time.Minute }, "LockFor must be positive"},
		{"refresh grace of a minute", func(c *Config) { c.OIDCRefreshGrace = time.Minute }, ""},
		{"refresh grace beyond a minute", func(c *Config) { c.OIDCRefreshGrace = time.Minute + time.Second }, "OIDCRefreshGrace must be at most 1m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Config{Keyring: keys, BaseURL: "https://login.example.gov.cn", Face: app, SMS: gw}
			tt.mod(&c)
			err := c.WithDefaults().validate()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestProductionProviders: the service without Dev sends its codes through
// the HTTP gateway, its QR codes lead to the face app, it takes the app's
// signed callbacks (and not the simulator's), and has no development
// routes.
func TestProductionProviders(t *testing.T) {
	t.Parallel()
	g := newFakeGateway(t, answerOK)
	appKey := newKey(t)
	app, err := NewFaceApp("https://face.example.gov.cn/verify?challenge={challenge}", appKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, func(c *Config) { c.Dev, c.Face, c.SMS = false, app, g.gateway(t, nil) })
	simKey := b.faceKey
	b.faceKey = appKey
	c := b.active(t, "韩梅梅", "13800138000", "K9#vTq2!mZ")

	// SMS: through the gateway, nothing in the outbox.
	br := b.browser(t)
	if r := br.post("/api/v1/login/sms/send", map[string]string{"id_number": c.IDNumber, "phone": c.Phone}); r.Status != http.StatusAccepted {
		t.Fatalf("send code: %d %s", r.Status, r.Raw)
	}
	sent := g.requests()
	if len(sent) != 1 {
		t.Fatalf("the gateway got %d requests, want 1", len(sent))
	}
	var msg smsRequest
	if err := json.Unmarshal(sent[0].Body, &msg); err != nil || msg.Phone != c.Phone {
		t.Fatalf("gateway request %s: %v, want one to %s", sent[0].Body, err, c.Phone)
	}
	if sig := SMSSignature(testSMSSecret, sent[0].Timestamp, sent[0].Body); sent[0].Signature != sig {
		t.Errorf("signature %s, want %s", sent[0].Signature, sig)
	}
	m := codeRE.FindStringSubmatch(msg.Text)
	if m == nil {
		t.Fatalf("no code in %q", msg.Text)
	}
	if r := br.post("/api/v1/login/sms", map[string]string{"id_number": c.IDNumber, "phone": c.Phone, "code": m[1]}); r.Status != http.StatusOK {
		t.Fatalf("SMS login: %d %s", r.Status, r.Raw)
	}
	var outbox int
	if err := b.pool.QueryRow(context.Background(), `SELECT count(*) FROM sms_outbox`).Scan(&outbox); err != nil || outbox != 0 {
		t.Errorf("outbox holds %d messages (%v), want none", outbox, err)
	}

	// Face: the QR code is the app's URL, exactly.
	fb := b.browser(t)
	ch := fb.startFace(c.IDNumber)
	qr := fb.get("/face/" + ch + "/qr.png")
	want, err := QRCodePNG("https://face.example.gov.cn/verify?challenge="+ch, 256)
	if err != nil {
		t.Fatal(err)
	}
	if qr.Status != http.StatusOK || qr.Raw != string(want) {
		t.Errorf("QR code: %d, %d bytes; want the app URL's %d bytes", qr.Status, len(qr.Raw), len(want))
	}
	if r := fb.get("/api/v1/login/face/" + ch); r.Status != http.StatusOK || r.Body["simulator"] != nil {
		t.Errorf("face status: %d %s, want no simulator link", r.Status, r.Raw)
	}
	if r := fb.get("/login/face/" + ch); strings.Contains(r.Raw, "/dev/face") {
		t.Errorf("the face page links the simulator:\n%s", r.Raw)
	}
	if st, err := b.svc.SimulateFace(context.Background(), ch, c.IDNumber, FacePass); err == nil {
		t.Errorf("SimulateFace without the simulator: HTTP %d, want an error", st)
	}

	// Without Config.Licence: no 电子营业执照 sub-tab, no licence routes.
	if _, page := fb.page("/login?tab=legal-licence"); strings.Contains(page, "tab-legal-licence") || strings.Contains(page, "start-licence") {
		t.Errorf("the login page offers the licence scan without Config.Licence:\n%s", page)
	}

	// The development routes do not exist.
	for _, p := range []struct{ method, path string }{
		{http.MethodGet, "/dev/sms"}, {http.MethodGet, "/dev/face/" + ch}, {http.MethodPost, "/dev/face/" + ch},
		{http.MethodPost, "/api/v1/login/licence"}, {http.MethodPost, "/api/v1/licence/callback"}, {http.MethodGet, "/dev/licence/" + ch},
	} {
		if r := b.browser(t).do(p.method, p.path, nil); r.Status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", p.method, p.path, r.Status)
		}
	}

	// Only the app's signature counts.
	if r := b.callback(t, faceBody(t, simKey, ch, c.IDNumber, FacePass, b.clock.Now())); r.Status == http.StatusOK {
		t.Errorf("a callback signed by the simulator's key: %d %s, want a refusal", r.Status, r.Raw)
	}
	if r := b.callback(t, faceBody(t, appKey, ch, c.IDNumber, FacePass, b.clock.Now())); r.Status != http.StatusOK {
		t.Fatalf("the app's callback: %d %s", r.Status, r.Raw)
	}
	if r := fb.get("/api/v1/login/face/" + ch); r.Status != http.StatusOK || r.str("status") != "used" {
		t.Errorf("face login after the app's callback: %d %s, want used (logged in)", r.Status, r.Raw)
	}
}

// TestProductionLicence: with a LicenceApp the licence QR code is the
// app's URL, only the app's signature counts, and no simulator exists.
func TestProductionLicence(t *testing.T) {
	t.Parallel()
	appKey := newKey(t)
	app, err := NewLicenceApp("https://licence.example.gov.cn/scan?c={challenge}", appKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	faceApp, err := NewFaceApp("https://face.example.gov.cn/verify?challenge={challenge}", newKey(t).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	g := newFakeGateway(t, answerOK)
	b := setup(t, func(c *Config) { c.Dev, c.Face, c.SMS, c.Licence = false, faceApp, g.gateway(t, nil), app })
	e := b.activeLegal(t, "海南椰风科技有限公司", "13912349541", goodPassword)
	br := b.browser(t)
	if _, page := br.page("/login?tab=legal-licence"); !strings.Contains(page, "tab-legal-licence") {
		t.Errorf("no licence sub-tab with Config.Licence:\n%s", page)
	}
	ch := br.startLicence()
	want, err := QRCodePNG("https://licence.example.gov.cn/scan?c="+ch, 256)
	if err != nil {
		t.Fatal(err)
	}
	if qr := br.get("/licence/" + ch + "/qr.png"); qr.Status != http.StatusOK || qr.Raw != string(want) {
		t.Errorf("QR code: %d, %d bytes; want the app URL's %d bytes", qr.Status, len(qr.Raw), len(want))
	}
	if r := br.get("/api/v1/login/licence/" + ch); r.Body["simulator"] != nil {
		t.Errorf("status: %s, want no simulator link", r.Raw)
	}
	if r := b.browser(t).get("/dev/licence/" + ch); r.Status != http.StatusNotFound {
		t.Errorf("GET /dev/licence: %d, want 404", r.Status)
	}
	if r := b.licenceCallback(t, b.licenceBody(t, newKey(t), ch, e.CreditCode, e.RepID, LicencePass, b.clock.Now())); r.Status != http.StatusUnauthorized {
		t.Errorf("a callback signed by another key: %d %s, want 401", r.Status, r.Raw)
	}
	if r := b.licenceCallback(t, b.licenceBody(t, appKey, ch, e.CreditCode, e.RepID, LicencePass, b.clock.Now())); r.Status != http.StatusOK {
		t.Fatalf("the app's callback: %d %s", r.Status, r.Raw)
	}
	if r := br.get("/api/v1/login/licence/" + ch); r.str("status") != "used" {
		t.Errorf("poll: %d %s, want used", r.Status, r.Raw)
	}
}
