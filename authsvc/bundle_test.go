package authsvc

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// clock is a test clock the service reads and the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testBundle is a running service on its own database, over real HTTPS.
type testBundle struct {
	pool  *pgxpool.Pool
	keys  *pii.Keyring
	clock *clock
	svc   *Server
	ts    *httptest.Server
	// faceKey signs as the face provider: the simulator's key, unless a
	// test's Config.Face holds another one's.
	faceKey ed25519.PrivateKey
}

// citizen is a test account's clear data.
type citizen struct {
	id       int64
	IDNumber string
	Name     string
	Phone    string
}

// setUsername gives the account id the username, as registration does:
// on the account and in the lookup table of usernames (034), which a
// login by username and the registration's check read.
func (b *testBundle) setUsername(t testing.TB, id int64, name string) {
	t.Helper()
	if _, err := b.pool.Exec(context.Background(), `WITH a AS (UPDATE account SET username = $2 WHERE id = $1 RETURNING id, id_bidx)
		INSERT INTO account_username (username_lower, account_id, account_bidx) SELECT lower($2), id, id_bidx FROM a`, id, name); err != nil {
		t.Fatal(err)
	}
}

// fastArgon keeps tests quick; the parameters do not change the rules.
var fastArgon = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func setup(t testing.TB, mod ...func(*Config)) *testBundle {
	t.Helper()
	pool := dbtest.New(t)
	// The service connects as a deployment's would, as a member of its
	// role (migration 012), so every test proves the grants suffice;
	// b.pool is the owner's, for the tests' own setup and checks.
	return setupOn(t, pool, memberPool(t, pool, roleAuthsvc), mod...)
}

// setupOn is setup on a database of the test's: pool is the owner's (the
// bundle's pool), svcPool the service's.
func setupOn(t testing.TB, pool, svcPool *pgxpool.Pool, mod ...func(*Config)) *testBundle {
	t.Helper()
	keys, _, err := pii.LoadOrCreateDevKeyring(filepath.Join(t.TempDir(), "dev.key"))
	if err != nil {
		t.Fatal(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b := &testBundle{pool: pool, keys: keys, clock: &clock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}}
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	sim, err := NewFaceSimulator(ts.URL, priv)
	if err != nil {
		t.Fatal(err)
	}
	b.faceKey = priv
	cfg := Config{Keyring: keys, BaseURL: ts.URL, Dev: true, Face: sim,
		Now: b.clock.Now, Argon2: fastArgon, HTTPClient: ts.Client(), RequestsPerMinute: 1000,
		CaptchaText: func() string { return testCaptcha }}
	for _, m := range mod {
		m(&cfg)
	}
	b.svc, err = New(svcPool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = b.svc.Handler()
	b.ts = ts
	return b
}

var seq struct {
	mu sync.Mutex
	n  int
}

// residentID returns a valid 18-character resident ID number, different
// on each call.
func residentID(birth string) string {
	seq.mu.Lock()
	seq.n++
	n := seq.n
	seq.mu.Unlock()
	base := "460102" + birth + []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}[n/100%10] + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range base {
		sum += int(c-'0') * w[i]
	}
	return base + string("10X98765432"[sum%11])
}

// fused inserts a fused account pending completion, as an import leaves
// it (phone from a department, not verified).
func (b *testBundle) fused(t testing.TB, name, phone string) citizen {
	t.Helper()
	c := citizen{IDNumber: residentID("19900307"), Name: name, Phone: phone}
	c.id = b.insert(t, c, schemas.StatusPendingCompletion, []string{"info", "password", "face"}, nil)
	return c
}

// active inserts an active account with a password.
func (b *testBundle) active(t testing.TB, name, phone, password string) citizen {
	t.Helper()
	c := citizen{IDNumber: residentID("19850512"), Name: name, Phone: phone}
	hash, err := b.svc.hasher.Hash(context.Background(), password)
	if err != nil {
		t.Fatal(err)
	}
	c.id = b.insert(t, c, schemas.StatusActive, []string{}, &hash)
	return c
}

func (b *testBundle) insert(t testing.TB, c citizen, status schemas.AccountStatus, steps []string, hash *string) int64 {
	t.Helper()
	k := b.keys
	var id int64
	err := b.pool.QueryRow(context.Background(), `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, phone_sealed, phone_bidx, phone_hint,
		status, origin, required_steps, password_hash, address, realname_level)
		VALUES ($1, $2, $3, 'resident', $4, $5, $6, $7, $8, 'fused', $9, $10, '海口市',
			CASE WHEN $8 = 'active' THEN 'LV3' ELSE 'LV2' END) RETURNING id`,
		k.BlindIndex(string(schemas.FieldIDNumber), c.IDNumber), k.Seal([]byte(c.IDNumber), []byte(schemas.FieldIDNumber)), pii.MaskID(c.IDNumber), c.Name,
		k.Seal([]byte(c.Phone), []byte(schemas.FieldPhone)), k.BlindIndex(string(schemas.FieldPhone), c.Phone), pii.MaskPhone(c.Phone),
		string(status), steps, hash).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// browser is one client with its own cookies.
type browser struct {
	t  testing.TB
	b  *testBundle
	hc *http.Client
}

func (b *testBundle) browser(t testing.TB) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := *b.ts.Client()
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, b: b, hc: &hc}
}

// response is a status and a decoded JSON body.
type response struct {
	Status int
	Body   map[string]any
	Raw    string
	Header http.Header
}

func (r response) str(k string) string { s, _ := r.Body[k].(string); return s }

func (br *browser) do(method, path string, body any, header ...string) response {
	br.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, br.b.ts.URL+path, rd)
	if err != nil {
		br.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return br.send(req, header...)
}

// send sends req with the header pairs and reads the answer.
func (br *browser) send(req *http.Request, header ...string) response {
	br.t.Helper()
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := br.hc.Do(req)
	if err != nil {
		br.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Raw: string(raw), Header: resp.Header}
	json.Unmarshal(raw, &out.Body)
	return out
}

func (br *browser) post(path string, body any, header ...string) response {
	return br.do(http.MethodPost, path, body, header...)
}

func (br *browser) get(path string) response { return br.do(http.MethodGet, path, nil) }

// cookie is the browser's session token ("" when none).
func (br *browser) cookie() string {
	for _, c := range br.hc.Jar.Cookies(mustURL(br.b.ts.URL)) {
		if c.Name == cookieName {
			return c.Value
		}
	}
	return ""
}

var codeRE = regexp.MustCompile(`验证码为(\d{6})`)

// lastCode reads the newest code in the development outbox.
func (b *testBundle) lastCode(t testing.TB) string {
	t.Helper()
	return b.lastCodeTo(t, "")
}

// lastCodeTo reads the newest code in the development outbox sent to phone
// ("": any), for tests whose parallel subtests share a bundle.
func (b *testBundle) lastCodeTo(t testing.TB, phone string) string {
	t.Helper()
	hint := ""
	if phone != "" {
		hint = pii.MaskPhone(phone)
	}
	var body string
	if err := b.pool.QueryRow(context.Background(), `SELECT body FROM sms_outbox WHERE $1 = '' OR phone_hint = $1 ORDER BY id DESC LIMIT 1`,
		hint).Scan(&body); err != nil {
		t.Fatal(err)
	}
	m := codeRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no code in %q", body)
	}
	return m[1]
}

// smsLogin logs a citizen in with a code to the phone on record.
func (br *browser) smsLogin(c citizen) response {
	br.t.Helper()
	if r := br.postSolving("/api/v1/login/sms/send", map[string]string{"id_number": c.IDNumber, "phone": c.Phone}); r.Status != http.StatusAccepted {
		br.t.Fatalf("send code: %d %s", r.Status, r.Raw)
	}
	return br.post("/api/v1/login/sms", map[string]string{"id_number": c.IDNumber, "phone": c.Phone, "code": br.b.lastCodeTo(br.t, c.Phone)})
}

// completeTo walks a restricted session through the steps before stop.
func (br *browser) completeTo(c citizen, stop schemas.Step) {
	br.t.Helper()
	for _, step := range schemas.FusedAccountSteps {
		if step == stop {
			return
		}
		var r response
		switch step {
		case schemas.StepInfo:
			r = br.post("/api/v1/completion/info", map[string]string{"address": "海口市龙华区滨海大道1号"})
		case schemas.StepPassword:
			r = br.post("/api/v1/completion/password", map[string]string{"password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ"})
		case schemas.StepFace:
			r = br.faceThrough("/api/v1/completion/face", nil, c)
		}
		if r.Status != http.StatusOK {
			br.t.Fatalf("step %s: %d %s", step, r.Status, r.Raw)
		}
	}
}

// faceThrough starts a face challenge by posting body to start, has the
// simulator approve it for c's face, and returns the challenge's status
// (at start/{challenge}) after.
func (br *browser) faceThrough(start string, body any, c citizen) response {
	br.t.Helper()
	r := br.post(start, body)
	if r.Status != http.StatusCreated {
		br.t.Fatalf("face start: %d %s", r.Status, r.Raw)
	}
	br.b.approveFace(br.t, r.str("challenge"), c.IDNumber)
	return br.get(start + "/" + r.str("challenge"))
}

// approveFace has the face provider (the simulator) approve a challenge
// for the face of idNumber's holder.
func (b *testBundle) approveFace(t testing.TB, challenge, idNumber string) {
	t.Helper()
	if st, err := b.svc.SimulateFace(context.Background(), challenge, idNumber, FacePass); err != nil || st != http.StatusOK {
		t.Fatalf("simulate face: %d %v", st, err)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// enterprise is a test legal account's clear data: its credit code, name,
// representative, contact person and contact phone.
type enterprise struct {
	id         int64
	CreditCode string
	Name       string
	RepName    string
	RepID      string
	Contact    string
	Phone      string
}

// creditCode returns a valid unified social credit code, different on
// each call.
func creditCode() string {
	seq.mu.Lock()
	seq.n++
	n := seq.n
	seq.mu.Unlock()
	first17 := fmt.Sprintf("91460100MA5T%05d", n)
	return first17 + string(cleanse.USCCCheckChar(first17))
}

// fusedLegal inserts a fused legal account pending completion, as an
// import leaves it: unverified, the contact's phone not verified.
func (b *testBundle) fusedLegal(t testing.TB, name, phone string) enterprise {
	t.Helper()
	e := enterprise{CreditCode: creditCode(), Name: name, RepName: "吴斌", RepID: residentID("19700101"), Contact: "韩洪阳", Phone: phone}
	e.id = b.insertLegal(t, e, schemas.StatusPendingCompletion, []string{"info", "password", "face"}, nil, schemas.RealnameUnverified)
	return e
}

// activeLegal inserts an active, verified legal account with a password.
func (b *testBundle) activeLegal(t testing.TB, name, phone, password string) enterprise {
	t.Helper()
	e := enterprise{CreditCode: creditCode(), Name: name, RepName: "吴斌", RepID: residentID("19700101"), Contact: "韩洪阳", Phone: phone}
	hash, err := b.svc.hasher.Hash(context.Background(), password)
	if err != nil {
		t.Fatal(err)
	}
	e.id = b.insertLegal(t, e, schemas.StatusActive, []string{}, &hash, schemas.RealnameVerified)
	return e
}

func (b *testBundle) insertLegal(t testing.TB, e enterprise, status schemas.AccountStatus, steps []string, hash *string, realname schemas.RealnameStatus) int64 {
	t.Helper()
	k := b.keys
	var id int64
	err := b.pool.QueryRow(context.Background(), `INSERT INTO account (kind, id_bidx, id_sealed, id_hint, id_type, name, phone_sealed, phone_bidx, phone_hint,
		status, origin, required_steps, password_hash, address, legal_type, rep_name, rep_id_type, rep_id_sealed, rep_id_bidx, rep_id_hint,
		rep_nationality, rep_id_valid_from, rep_id_valid_to, contact_name, realname_status)
		VALUES ('legal', $1, $2, $3, 'uscc', $4, $5, $6, $7, $8, 'fused', $9, $10, '海口市龙华区', 'enterprise', $11, 'resident', $12, $13, $14,
			'CHN', '2015-01-01', 'infinity', $15, $16) RETURNING id`,
		k.BlindIndex(string(schemas.FieldCreditCode), e.CreditCode), k.Seal([]byte(e.CreditCode), []byte(schemas.FieldIDNumber)), account.CreditCodeHint(e.CreditCode), e.Name,
		k.Seal([]byte(e.Phone), []byte(schemas.FieldPhone)), k.BlindIndex(string(schemas.FieldPhone), e.Phone), pii.MaskPhone(e.Phone),
		string(status), steps, hash, e.RepName,
		k.Seal([]byte(e.RepID), []byte(schemas.FieldRepIDNumber)), k.BlindIndex(string(schemas.FieldIDNumber), e.RepID), pii.MaskID(e.RepID),
		e.Contact, string(realname)).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// overlap runs each call in a goroutine of its own while the test holds
// a lock they need, and returns once each waits for a lock (pg_locks) or
// has answered: the test then lets go of its lock, and wait waits for the
// calls. The calls thus overlap, whatever the scheduling.
func (b *testBundle) overlap(t testing.TB, calls ...func()) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	var answered atomic.Int32
	for _, call := range calls {
		wg.Go(func() {
			call()
			answered.Add(1)
		})
	}
	for b.count(t, `SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted`)+int(answered.Load()) < len(calls) {
		runtime.Gosched()
	}
	return wg.Wait
}
