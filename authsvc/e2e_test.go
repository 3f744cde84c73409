package authsvc

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/browsertest"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/pipeline"
	"github.com/idfusion/idfusion/internal/sample"
	"github.com/idfusion/idfusion/schemas"
)

// The end-to-end tests drive the pages in a real headless Chromium sized
// like a phone, against the service over HTTPS on a real database: what a
// citizen does, click by click, with the session cookie (__Host-, Secure,
// SameSite=Lax) kept by the browser itself.

// TestBrowserFirstLogin: a citizen fused by a real import logs in for the
// first time with an SMS code read from the development outbox, completes
// the three steps (address; a password, after one refused for holding the
// name's pinyin; the face, approved in the simulator in a second tab while
// the face page refreshes itself), and reaches the personal center.
func TestBrowserFirstLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.importSample(t)
	if diff := cmp.Diff(pending, b.accountState(t, c.IDNumber)); diff != "" {
		t.Fatalf("imported account mismatch (-want +got):\n%s", diff)
	}
	badPassword, goodPassword := pinyinPassword(t, c.Name), "K9#vTq2!mZ"
	if err := CheckPassword(goodPassword, PasswordFacts{Name: c.Name, IDNumber: c.IDNumber, Phone: c.Phone}); err != nil {
		t.Fatalf("the good password is refused for %s: %v", c.Name, err)
	}

	p := newTab(t, b)
	p.smsLogin(c)
	restricted := p.sessionCookie()

	// ① 补充个人信息: the ID number masked, nowhere in clear.
	if got, want := p.text("#id-hint"), c.IDNumber[:1]+"*****"+c.IDNumber[len(c.IDNumber)-1:]; got != want {
		t.Errorf("ID number shown as %q, want %q", got, want)
	}
	p.noClearPII(c)
	p.fill("#address", "海口市龙华区滨海大道1号")
	p.submit("#next", http.StatusOK, "/complete/password")
	p.noClearPII(c)

	// ② 设置密码: the name's pinyin is refused, in Chinese; a good one twice
	// passes.
	p.fill("#password", badPassword)
	p.fill("#confirm", badPassword)
	p.submit("#next", http.StatusUnprocessableEntity, "/complete/password")
	if got := p.text("#error"); got != passwordNameMsg {
		t.Errorf("password with the name's pinyin: error %q, want %q", got, passwordNameMsg)
	}
	p.fill("#password", goodPassword)
	p.fill("#confirm", goodPassword)
	p.submit("#next", http.StatusOK, "/complete/face")

	// ③ 身份认证: the QR code is shown; the citizen scans it (the simulator,
	// in a second tab) and the face page, reloading itself every 2 s, moves
	// on to 完成 by itself.
	p.waitFor("the QR code loaded", `(() => { const q = document.querySelector('#qr'); return q !== null && q.complete && q.naturalWidth > 0 })()`)
	sim := p.newTab("simulator")
	sim.open(p.waitForString("the simulator link", `document.querySelector('#simulator')?.getAttribute('href') || ''`), http.StatusOK, "")
	sim.fill("#id_number", c.IDNumber)
	sim.submit("#approve", http.StatusOK, "")
	if got := sim.text("#notice"); got != "已回调：HTTP 200" {
		t.Fatalf("simulator: notice %q, want the callback answered 200", got)
	}
	p.waitFor("the face page refreshed to 完成", `location.pathname === '/complete/done' && document.querySelector('#done') !== null`)
	p.noClearPII(c)
	if full := p.sessionCookie(); full.Value == restricted.Value {
		t.Error("the session cookie was not rotated when the account became active")
	}
	p.submit("#continue", http.StatusOK, "/center")
	if got := p.text("#status"); got != "正常" {
		t.Errorf("center status %q, want 正常", got)
	}
	p.noClearPII(c)

	if diff := cmp.Diff(accountState{"active", []string{}}, b.accountState(t, c.IDNumber)); diff != "" {
		t.Errorf("account after the completion mismatch (-want +got):\n%s", diff)
	}
	if errs := browsertest.ConsoleErrors(p.ctx); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// TestBrowserRestrictedCannotReachCenter: a restricted session (after an
// SMS login) typing any other address lands on the step it must do, and the
// API refuses it with 403 and that step; the personal center never shows.
func TestBrowserRestrictedCannotReachCenter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "李四", "13812345678")
	p := newTab(t, b)
	p.smsLogin(c)

	for _, tc := range []struct{ name, path string }{
		{"center", "/center"},
		{"home", "/"},
		{"completion", "/complete"},
		{"password_step", "/complete/password"},
		{"face_step", "/complete/face"},
		{"done", "/complete/done"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := p.with(t)
			p.open(tc.path, http.StatusOK, "/complete/info")
			if got := p.text("h1"); got != "补充个人信息" {
				t.Errorf("heading %q, want 补充个人信息", got)
			}
			if eval[bool](p, `document.querySelector('#center') !== null`) {
				t.Error("the personal center is shown")
			}
		})
	}

	p.open("/api/v1/me", http.StatusForbidden, "/api/v1/me")
	var body map[string]any
	if err := json.Unmarshal([]byte(eval[string](p, "document.body.innerText")), &body); err != nil {
		t.Fatalf("/api/v1/me body: %v", err)
	}
	want := map[string]any{"error": "completion_required", "next_step": "info", "message": "请先完成账号信息补充：补充个人信息"}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("/api/v1/me mismatch (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff(pending, b.accountState(t, c.IDNumber)); diff != "" {
		t.Errorf("account mismatch (-want +got):\n%s", diff)
	}
	if errs := browsertest.ConsoleErrors(p.ctx); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

// importSample generates a small sample data set, imports it with the real
// fusion import into the bundle's database under the bundle's keyring (the
// one the service opens and indexes with), and returns a fused citizen of
// the generator's truth that has a phone and a name with pinyin.
func (b *testBundle) importSample(t *testing.T) citizen {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := sample.Generate(ctx, sample.Config{Dir: dir, Rows: 300, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := schemas.LoadMappingDir(filepath.Join(dir, "mappings"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range truth.Files {
		paths = append(paths, filepath.Join(dir, f.Path))
	}
	inputs, err := pipeline.MatchInputs(paths, ms)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Import(ctx, b.pool, inputs, pipeline.ImportConfig{Keyring: b.keys, OutDir: filepath.Join(dir, "out")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unusable() {
		t.Fatalf("import: unusable files: %+v", res.Files)
	}

	f, err := os.Open(filepath.Join(dir, "truth_accounts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] { // id_number,name,phone
		if words, _ := namePinyin(r[1]); r[2] != "" && len(words) > 0 {
			return citizen{IDNumber: r[0], Name: r[1], Phone: r[2]}
		}
	}
	t.Fatalf("no fused citizen with a phone among %d", len(rows)-1)
	return citizen{}
}

// accountState is what the database says of an account's completion.
type accountState struct {
	Status string
	Steps  []string
}

// pending is a fused account as the import leaves it.
var pending = accountState{"pending_completion", []string{"info", "password", "face"}}

func (b *testBundle) accountState(t *testing.T, idNumber string) accountState {
	t.Helper()
	var s accountState
	err := b.pool.QueryRow(context.Background(), `SELECT status, required_steps FROM account WHERE id_bidx = $1`,
		b.keys.BlindIndex(string(schemas.FieldIDNumber), account.NormalizeID(idNumber))).Scan(&s.Status, &s.Steps)
	if err != nil {
		t.Fatalf("account %s: %v", pii.MaskID(idNumber), err)
	}
	return s
}

// pinyinPassword returns a password that passes every rule but the one on
// the name's pinyin.
func pinyinPassword(t *testing.T, name string) string {
	t.Helper()
	words, _ := namePinyin(name)
	for _, w := range words {
		if len(w) > 12 {
			continue
		}
		pw := "K9#" + w + "!q"
		var pe *PasswordError
		if err := CheckPassword(pw, PasswordFacts{Name: name}); errors.As(err, &pe) && pe.Code == "PASSWORD_NAME" {
			return pw
		}
	}
	t.Fatalf("no password with the pinyin of %s", name)
	return ""
}

// stepTimeout bounds one browser step (a page load, a wait), so that a page
// that never comes fails its step with a message rather than the whole
// browser's two minutes.
const stepTimeout = 20 * time.Second

// tab is one browser tab on the service under test.
type tab struct {
	t    *testing.T
	b    *testBundle
	ctx  context.Context
	name string
}

// newTab starts the test's browser, trusting the test server's
// self-signed certificate. Its first tab is the phone's.
func newTab(t *testing.T, b *testBundle) *tab {
	t.Helper()
	ctx := browsertest.New(t, chromedp.Flag("ignore-certificate-errors", true))
	return &tab{t: t, b: b, ctx: ctx, name: "phone"}
}

// newTab opens another tab in the same browser (same cookies), kept until
// the test ends; a failing test saves its screenshot too.
func (p *tab) newTab(name string) *tab {
	p.t.Helper()
	ctx, cancel := chromedp.NewContext(p.ctx)
	t := p.t
	t.Cleanup(func() {
		if t.Failed() {
			browsertest.Screenshot(t, ctx, name)
		}
		cancel()
	})
	// The first action opens the tab, and must have no timeout: the tab
	// lives as long as the context of that action. The tab is a phone's
	// too (the simulator plays the province's app).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(browsertest.PhoneWidth, browsertest.PhoneHeight,
		chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatalf("%s tab: %v", name, err)
	}
	return &tab{t: t, b: p.b, ctx: ctx, name: name}
}

// with returns the tab reporting to t (a subtest).
func (p *tab) with(t *testing.T) *tab {
	q := *p
	q.t = t
	return &q
}

func (p *tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, stepTimeout)
}

// open navigates to path, which must answer status and end (after any
// redirects) at wantPath; "" is path itself.
func (p *tab) open(path string, status int64, wantPath string) {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(p.b.ts.URL+path))
	if err != nil {
		p.t.Fatalf("%s tab: open %s: %v", p.name, path, err)
	}
	if wantPath == "" {
		wantPath = path
	}
	p.checkPage("open "+path, resp.Status, status, wantPath)
}

// submit clicks sel and waits for the page it leads to, which must answer
// status at wantPath ("" is anywhere).
func (p *tab) submit(sel string, status int64, wantPath string) {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		p.t.Fatalf("%s tab: click %s: %v", p.name, sel, err)
	}
	p.checkPage("click "+sel, resp.Status, status, wantPath)
}

func (p *tab) checkPage(what string, got, status int64, wantPath string) {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatalf("%s tab: %s: location: %v", p.name, what, err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		p.t.Fatalf("%s tab: %s: location %q: %v", p.name, what, loc, err)
	}
	if got != status || (wantPath != "" && u.Path != wantPath) {
		p.t.Fatalf("%s tab: %s: HTTP %d at %s, want %d at %s", p.name, what, got, u.Path, status, wantPath)
	}
}

// fill types value into the field sel, replacing what it held. It
// focuses and empties the field by script and types with key events:
// chromedp's SendKeys reads the node's attributes unlocked while its DOM
// events write them (a data race the race detector reports).
func (p *tab) fill(sel, value string) {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	js, _ := json.Marshal(sel)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		p.t.Fatalf("%s tab: fill %s: %v", p.name, sel, err)
	}
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+string(js)+`); if (!e) return false; e.focus(); e.value = ''; return document.activeElement === e })()`))
	if err == nil && !focused {
		err = errors.New("not focused")
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.KeyEvent(value))
	}
	if err != nil {
		p.t.Fatalf("%s tab: fill %s: %v", p.name, sel, err)
	}
}

// text is the visible text of sel.
func (p *tab) text(sel string) string {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	s, err := browsertest.Text(ctx, sel)
	if err != nil {
		p.t.Fatalf("%s tab: %v", p.name, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression in the tab's page.
func eval[T any](p *tab, expr string) T {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s tab: evaluate %s: %v", p.name, expr, err)
	}
	return v
}

// waitFor waits until expr is true. It is evaluated afresh every 100 ms,
// through the page's own reloads (the face page refreshes itself), when an
// evaluation may fail for the page going away.
func (p *tab) waitFor(what, expr string) {
	p.t.Helper()
	p.waitForString(what, "("+expr+") ? 'yes' : ''")
}

// waitForString waits until expr is a non-empty string and returns it.
func (p *tab) waitForString(what, expr string) string {
	p.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil && s != "" {
			return s
		}
		last = err
		if time.Now().After(deadline) {
			p.t.Fatalf("%s tab: waited %v for %s (last error: %v)", p.name, stepTimeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noClearPII checks that the page's HTML holds c's ID number and phone
// masked only.
func (p *tab) noClearPII(c citizen) {
	p.t.Helper()
	html := eval[string](p, "document.documentElement.outerHTML")
	loc := eval[string](p, "location.pathname")
	if strings.Contains(html, c.IDNumber) {
		p.t.Errorf("%s holds the full ID number", loc)
	}
	if strings.Contains(html, c.Phone) {
		p.t.Errorf("%s holds the full phone number", loc)
	}
}

// smsLogin logs c in as a citizen does: the SMS tab of the login page, the
// ID number and phone, 获取验证码, the code read from the development
// outbox in a second tab, 登录. A fused account lands on step ①.
func (p *tab) smsLogin(c citizen) {
	p.t.Helper()
	p.open("/login", http.StatusOK, "")
	p.smsLoginHere(c)
}

// smsLoginHere is smsLogin from the login page the tab is on (one a
// business system sent the citizen to, carrying its return_to).
func (p *tab) smsLoginHere(c citizen) {
	p.t.Helper()
	p.smsLoginTo(c, "/complete/info")
}

// smsLoginTo is smsLoginHere for a login whose answer is at wantPath ("":
// anywhere, for a page that moves on by itself).
func (p *tab) smsLoginTo(c citizen, wantPath string) {
	p.t.Helper()
	p.submit("#tab-sms", http.StatusOK, "/login")
	p.fill("#id_number", c.IDNumber)
	p.fill("#phone", c.Phone)
	p.submit("#send-code", http.StatusOK, "/login/sms/send")
	if got := p.text("#notice"); got != codeSentNotice {
		p.t.Fatalf("after 获取验证码: notice %q, want %q", got, codeSentNotice)
	}

	outbox := p.newTab("outbox")
	outbox.open("/dev/sms", http.StatusOK, "")
	if got, want := outbox.text("#outbox tr:nth-child(2) td:nth-child(2)"), pii.MaskPhone(c.Phone); got != want {
		p.t.Fatalf("newest outbox message to %s, want %s", got, want)
	}
	m := codeRE.FindStringSubmatch(outbox.text("#outbox td.body"))
	if m == nil {
		p.t.Fatal("no code in the newest outbox message")
	}

	p.fill("#code", m[1])
	p.submit("#login", http.StatusOK, wantPath)
}

// sessionCookie returns the session cookie as the browser keeps it, after
// checking its attributes: the __Host- prefix is honoured only for a Secure
// cookie of path / (a browser refuses it otherwise), HttpOnly keeps it from
// scripts, SameSite=Lax from cross-site posts, and Max-Age (not a session
// cookie) is what the service sets.
func (p *tab) sessionCookie() *network.Cookie {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	res, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
	})
	if err != nil {
		p.t.Fatalf("%s tab: cookies: %v", p.name, err)
	}
	var found *network.Cookie
	for _, c := range res.Cookies {
		if c.Name == cookieName {
			found = c
		}
	}
	if found == nil {
		p.t.Fatalf("%s tab: no %s cookie", p.name, cookieName)
	}
	got := network.Cookie{Name: found.Name, Path: found.Path, Secure: found.Secure, HTTPOnly: found.HTTPOnly, SameSite: found.SameSite, Session: found.Session}
	want := network.Cookie{Name: cookieName, Path: "/", Secure: true, HTTPOnly: true, SameSite: network.CookieSameSiteLax}
	if diff := cmp.Diff(want, got); diff != "" {
		p.t.Errorf("%s tab: session cookie mismatch (-want +got):\n%s", p.name, diff)
	}
	return found
}
