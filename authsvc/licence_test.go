package authsvc

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idfusion/idfusion/schemas"
)

// startLicence starts a licence login in br and returns the challenge.
func (br *browser) startLicence() string {
	br.t.Helper()
	r := br.post("/api/v1/login/licence", map[string]string{})
	if r.Status != http.StatusCreated || !ValidChallengeID(r.str("challenge")) {
		br.t.Fatalf("licence start: %d %s", r.Status, r.Raw)
	}
	return r.str("challenge")
}

// licenceBody is a licence callback body signed with key (nil: the
// simulator's).
func (b *testBundle) licenceBody(t testing.TB, key ed25519.PrivateKey, ch, code, rep, result string, issued time.Time) json.RawMessage {
	t.Helper()
	if key == nil {
		key = b.svc.licenceSimulator().key
	}
	body, err := SignLicenceResult(key, LicenceResult{Challenge: ch, CreditCode: code, RepIDNumber: rep, Result: result, IssuedAt: issued.Unix(), Nonce: NewFaceNonce()})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// licenceCallback delivers a licence app's callback (server to server).
func (b *testBundle) licenceCallback(t testing.TB, body json.RawMessage) response {
	t.Helper()
	return b.browser(t).post("/api/v1/licence/callback", body)
}

// audits counts the audit rows of an event and outcome, of the account
// (0: of none), whose detail names the licence provider.
func (b *testBundle) licenceAudits(t testing.TB, event, outcome string, accountID int64) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM auth_audit WHERE event = $1 AND outcome = $2 AND account_id IS NOT DISTINCT FROM nullif($3, 0)
		AND detail LIKE '%provider=电子营业执照%'`, event, outcome, accountID)
}

func (b *testBundle) failures(t testing.TB, id int64) int {
	t.Helper()
	return b.count(t, `SELECT failed_attempts FROM account WHERE id = $1`, id)
}

// TestLicenceLogin: a legal person signs in by a scan of the electronic
// business licence confirmed by the representative on record; a fused
// legal account is sent to its completion; the challenge is the browser's
// own and spent once.
func TestLicenceLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := b.clock.Now

	t.Run("active", func(t *testing.T) {
		e := b.activeLegal(t, "海南椰风科技有限公司", "13912349501", goodPassword)
		br := b.browser(t)
		ch := br.startLicence()
		if r := br.get("/api/v1/login/licence/" + ch); r.Status != http.StatusOK || r.str("status") != "pending" {
			t.Fatalf("poll before the scan: %d %s", r.Status, r.Raw)
		}
		body := b.licenceBody(t, nil, ch, e.CreditCode, e.RepID, LicencePass, now())
		if r := b.licenceCallback(t, body); r.Status != http.StatusOK {
			t.Fatalf("callback: %d %s", r.Status, r.Raw)
		}
		// Replayed: the second answer is refused, and audited.
		if r := b.licenceCallback(t, body); r.Status != http.StatusConflict {
			t.Errorf("replayed callback: %d %s, want 409", r.Status, r.Raw)
		}
		r := br.get("/api/v1/login/licence/" + ch)
		if r.Status != http.StatusOK || r.str("status") != "used" || r.str("next") != "/center" {
			t.Fatalf("poll after the scan: %d %s", r.Status, r.Raw)
		}
		if me := br.get("/api/v1/me"); me.Status != http.StatusOK {
			t.Errorf("me after the licence login: %d %s", me.Status, me.Raw)
		}
		// Used twice: nobody is signed in again.
		signed := br.cookie()
		if r := br.get("/api/v1/login/licence/" + ch); r.Status == http.StatusOK || br.cookie() != signed {
			t.Errorf("second poll: %d %s", r.Status, r.Raw)
		}
		if n := b.count(t, `SELECT count(*) FROM auth_session WHERE account_id = $1`, e.id); n != 1 {
			t.Errorf("%d sessions of the account, want 1", n)
		}
		if n := b.licenceAudits(t, "login_licence", "ok", e.id); n != 1 {
			t.Errorf("%d login_licence audit rows naming the provider, want 1", n)
		}
		if n := b.licenceAudits(t, "licence_callback", "ok", e.id); n != 1 {
			t.Errorf("%d accepted callbacks audited, want 1", n)
		}
		if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'licence_callback' AND outcome = 'refused' AND detail LIKE '%provider=电子营业执照%already answered%'`); n != 1 {
			t.Errorf("%d replays audited, want 1", n)
		}
	})

	t.Run("fused pending", func(t *testing.T) {
		e := b.fusedLegal(t, "海南椰岛贸易有限公司", "13912349502")
		br := b.browser(t)
		ch := br.startLicence()
		if st, err := b.svc.SimulateLicence(context.Background(), ch, e.CreditCode, e.RepID, LicencePass); err != nil || st != http.StatusOK {
			t.Fatalf("simulate: %d %v", st, err)
		}
		if r := br.get("/api/v1/login/licence/" + ch); r.str("status") != "used" || r.str("next_step") != "info" {
			t.Errorf("poll: %d %s, want the completion's ①", r.Status, r.Raw)
		}
	})

	// Refused answers: each stored as the challenge's (rejected), counted
	// against the account it names, audited; nobody signed in.
	refusals := []struct {
		name  string
		code  func(e enterprise) string
		rep   func(e enterprise) string
		res   string
		count bool // a failure counted against e
	}{
		{"wrong representative", func(e enterprise) string { return e.CreditCode }, func(enterprise) string { return residentID("19800101") }, LicencePass, true},
		{"fail result", func(e enterprise) string { return e.CreditCode }, func(e enterprise) string { return e.RepID }, LicenceFail, true},
		{"unknown credit code", func(enterprise) string { return creditCode() }, func(e enterprise) string { return e.RepID }, LicencePass, false},
		{"the representative's ID as the code", func(e enterprise) string { return e.RepID }, func(e enterprise) string { return e.RepID }, LicencePass, false},
	}
	for i, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			e := b.activeLegal(t, "海南南海实业有限公司", "1391234951"+string(rune('0'+i)), goodPassword)
			br := b.browser(t)
			ch := br.startLicence()
			if r := b.licenceCallback(t, b.licenceBody(t, nil, ch, tt.code(e), tt.rep(e), tt.res, now())); r.Status != http.StatusForbidden {
				t.Errorf("callback: %d %s, want 403", r.Status, r.Raw)
			}
			if r := br.get("/api/v1/login/licence/" + ch); r.str("status") != "rejected" {
				t.Errorf("poll: %d %s, want rejected", r.Status, r.Raw)
			}
			if r := br.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
				t.Errorf("me: %d %s, want 401", r.Status, r.Raw)
			}
			want, acc := 0, int64(0)
			if tt.count {
				want, acc = 1, e.id
			}
			if n := b.failures(t, e.id); n != want {
				t.Errorf("%d failures counted, want %d", n, want)
			}
			if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'licence_callback' AND outcome = 'refused'
				AND account_id IS NOT DISTINCT FROM nullif($1::bigint, 0) AND detail LIKE '%provider=电子营业执照%' AND at = $2`, acc, now()); n < 1 {
				t.Errorf("refusal not audited")
			}
			// The real answer after: the challenge was answered.
			if r := b.licenceCallback(t, b.licenceBody(t, nil, ch, e.CreditCode, e.RepID, LicencePass, now())); r.Status != http.StatusConflict {
				t.Errorf("real answer after the refusal: %d %s, want 409", r.Status, r.Raw)
			}
		})
	}

	t.Run("a citizen's account", func(t *testing.T) {
		// Only a legal account is a licence's, even should a citizen's
		// row hold the credit code's index.
		c := b.active(t, "蒋六", "13912349520", goodPassword)
		code := creditCode()
		if _, err := b.pool.Exec(context.Background(), `UPDATE account SET id_bidx = $2 WHERE id = $1`, c.id, b.keys.BlindIndex(string(schemas.FieldCreditCode), code)); err != nil {
			t.Fatal(err)
		}
		br := b.browser(t)
		ch := br.startLicence()
		if r := b.licenceCallback(t, b.licenceBody(t, nil, ch, code, c.IDNumber, LicencePass, now())); r.Status != http.StatusForbidden {
			t.Errorf("callback: %d %s, want 403", r.Status, r.Raw)
		}
		if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'licence_callback' AND account_id = $1`, c.id); n != 0 || b.failures(t, c.id) != 0 {
			t.Errorf("the citizen's account was named (%d audit rows, %d failures)", n, b.failures(t, c.id))
		}
	})

	t.Run("another session", func(t *testing.T) {
		e := b.activeLegal(t, "海南椰风科技有限公司", "13912349521", goodPassword)
		a, other := b.browser(t), b.browser(t)
		ch := a.startLicence()
		other.startLicence()
		if r := b.licenceCallback(t, b.licenceBody(t, nil, ch, e.CreditCode, e.RepID, LicencePass, now())); r.Status != http.StatusOK {
			t.Fatalf("callback: %d %s", r.Status, r.Raw)
		}
		if r := other.get("/api/v1/login/licence/" + ch); r.Status != http.StatusNotFound {
			t.Errorf("B polls A's approved challenge: %d %s, want 404", r.Status, r.Raw)
		}
		if r := other.get("/licence/" + ch + "/qr.png"); r.Status != http.StatusNotFound {
			t.Errorf("B gets A's QR code: %d, want 404", r.Status)
		}
		if r := other.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
			t.Errorf("B: %d %s, want 401", r.Status, r.Raw)
		}
		if r := a.get("/api/v1/login/licence/" + ch); r.str("status") != "used" {
			t.Errorf("A polls: %d %s, want used", r.Status, r.Raw)
		}
	})

	t.Run("locked account", func(t *testing.T) {
		e := b.activeLegal(t, "海南椰风科技有限公司", "13912349522", goodPassword)
		if _, err := b.pool.Exec(context.Background(), `UPDATE account SET locked_until = $2 WHERE id = $1`, e.id, now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		br := b.browser(t)
		ch := br.startLicence()
		if r := b.licenceCallback(t, b.licenceBody(t, nil, ch, e.CreditCode, e.RepID, LicencePass, now())); r.Status != http.StatusOK {
			t.Fatalf("callback: %d %s", r.Status, r.Raw)
		}
		if r := br.get("/api/v1/login/licence/" + ch); r.Status != http.StatusUnauthorized {
			t.Errorf("poll of a locked account: %d %s, want 401", r.Status, r.Raw)
		}
		if r := br.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
			t.Errorf("me: %d %s, want 401", r.Status, r.Raw)
		}
		if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'login_licence' AND outcome = 'fail' AND account_id = $1 AND detail LIKE 'locked%'`, e.id); n != 1 {
			t.Errorf("%d locked refusals audited, want 1", n)
		}
	})

	t.Run("purposes apart", func(t *testing.T) {
		// A face login's challenge is not the licence app's to answer,
		// and a licence challenge is not spent by the face login.
		e := b.activeLegal(t, "海南椰风科技有限公司", "13912349523", goodPassword)
		c := b.active(t, "蒋六", "13912349524", goodPassword)
		br := b.browser(t)
		face := br.startFace(c.IDNumber)
		if r := b.licenceCallback(t, b.licenceBody(t, nil, face, e.CreditCode, e.RepID, LicencePass, now())); r.Status != http.StatusNotFound {
			t.Errorf("licence answer to a face challenge: %d %s, want 404", r.Status, r.Raw)
		}
		ch := br.startLicence()
		if r := b.licenceCallback(t, b.licenceBody(t, nil, ch, e.CreditCode, e.RepID, LicencePass, now())); r.Status != http.StatusOK {
			t.Fatalf("callback: %d %s", r.Status, r.Raw)
		}
		if r := br.get("/api/v1/login/face/" + ch); r.Status == http.StatusOK {
			t.Errorf("face poll of a licence challenge: %d %s", r.Status, r.Raw)
		}
		if r := b.callback(t, faceBody(t, b.faceKey, ch, e.RepID, FacePass, now())); r.Status == http.StatusOK {
			t.Errorf("face answer to a licence challenge: %d %s", r.Status, r.Raw)
		}
		// A pending licence challenge is not the face provider's to
		// reject either: the licence app's answer still counts.
		pending := br.startLicence()
		if r := b.callback(t, faceBody(t, b.faceKey, pending, e.RepID, FaceFail, now())); r.Status != http.StatusNotFound {
			t.Errorf("face answer to a pending licence challenge: %d %s, want 404", r.Status, r.Raw)
		}
		if r := b.licenceCallback(t, b.licenceBody(t, nil, pending, e.CreditCode, e.RepID, LicencePass, now())); r.Status != http.StatusOK {
			t.Errorf("licence answer after a face answer: %d %s", r.Status, r.Raw)
		}
	})

	t.Run("bad signature", func(t *testing.T) {
		e := b.activeLegal(t, "海南椰风科技有限公司", "13912349525", goodPassword)
		_, other, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		br := b.browser(t)
		ch := br.startLicence()
		if r := b.licenceCallback(t, b.licenceBody(t, other, ch, e.CreditCode, e.RepID, LicencePass, now())); r.Status != http.StatusUnauthorized {
			t.Errorf("callback signed by another key: %d %s, want 401", r.Status, r.Raw)
		}
		if r := b.licenceCallback(t, b.licenceBody(t, nil, ch, e.CreditCode, e.RepID, LicencePass, now().Add(-5*time.Minute))); r.Status != http.StatusUnauthorized {
			t.Errorf("stale callback: %d %s, want 401", r.Status, r.Raw)
		}
		if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'licence_callback' AND outcome = 'refused' AND account_id IS NULL
			AND (detail LIKE '%signature%' OR detail LIKE '%stale%') AND detail LIKE 'provider=电子营业执照%'`); n != 2 {
			t.Errorf("%d refused signatures audited, want 2", n)
		}
		if r := br.get("/api/v1/login/licence/" + ch); r.str("status") != "pending" {
			t.Errorf("poll: %d %s, want still pending", r.Status, r.Raw)
		}
	})

	t.Run("pages", func(t *testing.T) {
		e := b.activeLegal(t, "海南椰风科技有限公司", "13912349526", goodPassword)
		br := b.browser(t)
		if _, page := br.page("/login?tab=legal-licence"); !strings.Contains(page, `id="start-licence"`) || !strings.Contains(page, "使用电子营业执照 app、微信或支付宝小程序扫码认证") {
			t.Fatalf("login tab: %s", page)
		}
		r := br.form("/login/licence", url.Values{})
		ch := strings.TrimPrefix(r.Header.Get("Location"), "/login/licence/")
		if r.Status != http.StatusSeeOther || !ValidChallengeID(ch) {
			t.Fatalf("start: %d %s", r.Status, r.Header.Get("Location"))
		}
		if _, page := br.page("/login/licence/" + ch); !strings.Contains(page, `/licence/`+ch+`/qr.png`) || !strings.Contains(page, `/dev/licence/`+ch) {
			t.Errorf("licence page: %s", page)
		}
		if qr := br.get("/licence/" + ch + "/qr.png"); qr.Status != http.StatusOK || qr.Header.Get("Content-Type") != "image/png" {
			t.Errorf("QR: %d %s", qr.Status, qr.Header.Get("Content-Type"))
		}
		sim := br.form("/dev/licence/"+ch, url.Values{"credit_code": {e.CreditCode}, "rep_id_number": {e.RepID}, "verdict": {"approve"}})
		if !strings.Contains(sim.Raw, "HTTP 200") {
			t.Errorf("simulator: %d %s", sim.Status, sim.Raw)
		}
		if r := br.get("/login/licence/" + ch); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/center" {
			t.Errorf("page after the scan: %d %s", r.Status, r.Header.Get("Location"))
		}
	})
}

// TestLicenceLoginExpired: a challenge answered after its time is refused,
// audited, and shows as expired.
func TestLicenceLoginExpired(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南椰风科技有限公司", "13912349531", goodPassword)
	br := b.browser(t)
	ch := br.startLicence()
	b.clock.Advance(3*time.Minute + time.Second)
	if r := b.licenceCallback(t, b.licenceBody(t, nil, ch, e.CreditCode, e.RepID, LicencePass, b.clock.Now())); r.Status != http.StatusGone {
		t.Errorf("callback: %d %s, want 410", r.Status, r.Raw)
	}
	if r := br.get("/api/v1/login/licence/" + ch); r.str("status") != "expired" {
		t.Errorf("poll: %d %s, want expired", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'licence_callback' AND outcome = 'refused' AND detail LIKE '%expired%'`); n != 1 {
		t.Errorf("%d expired answers audited, want 1", n)
	}
	if r := br.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("me: %d, want 401", r.Status)
	}
}
