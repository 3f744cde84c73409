package authsvc

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/schemas"
)

// registrant is a citizen registering: the browser and what they type.
type registrant struct {
	br       *browser
	username string
	phone    string
	name     string
	idNumber string
}

func (b *testBundle) registrant(t testing.TB, username, phone string) *registrant {
	t.Helper()
	return &registrant{br: b.browser(t), username: username, phone: phone, name: "韩梅梅", idNumber: residentID("19920815")}
}

// start begins the registration.
func (rg *registrant) start() {
	rg.br.t.Helper()
	if r := rg.br.post("/api/v1/register", nil); r.Status != http.StatusCreated || r.str("next_step") != "account" {
		rg.br.t.Fatalf("register start: %d %s", r.Status, r.Raw)
	}
}

// sendCode asks for the code of step ①.
func (rg *registrant) sendCode() response {
	rg.br.t.Helper()
	return rg.br.postSolving("/api/v1/register/sms", map[string]string{"phone": rg.phone})
}

// account does step ① with the code the phone got.
func (rg *registrant) account() response {
	rg.br.t.Helper()
	if r := rg.sendCode(); r.Status != http.StatusAccepted {
		rg.br.t.Fatalf("register sms: %d %s", r.Status, r.Raw)
	}
	return rg.br.post("/api/v1/register/account", map[string]any{"username": rg.username, "phone": rg.phone,
		"code": rg.br.b.lastCodeTo(rg.br.t, rg.phone), "agree": true, "agreement_version": AgreementVersion})
}

func (rg *registrant) realname() response {
	rg.br.t.Helper()
	return rg.br.post("/api/v1/register/realname", map[string]string{"name": rg.name, "id_type": "resident", "id_number": rg.idNumber})
}

// face does ③ with the face of the ID number's holder.
func (rg *registrant) face() response {
	rg.br.t.Helper()
	return rg.br.faceThrough("/api/v1/register/face", nil, citizen{IDNumber: rg.idNumber})
}

// to walks the registration through the steps before stop ("": all).
func (rg *registrant) to(stop regStep) response {
	rg.br.t.Helper()
	rg.start()
	var r response
	for _, st := range []regStep{regAccount, regRealname, regFace} {
		if st == stop {
			return r
		}
		switch st {
		case regAccount:
			r = rg.account()
		case regRealname:
			r = rg.realname()
		case regFace:
			r = rg.face()
		}
		if r.Status != http.StatusOK {
			rg.br.t.Fatalf("register step %s: %d %s", st, r.Status, r.Raw)
		}
	}
	return r
}

func (b *testBundle) accountCount(t testing.TB) int {
	t.Helper()
	var n int
	if err := b.pool.QueryRow(context.Background(), `SELECT count(*) FROM account`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRegisterToLV3: a new citizen registers over HTTP and ends signed in
// with an active LV3 account: username, verified phone, the agreement's
// version; a session the personal center accepts; every step audited
// with masked identifiers only.
func TestRegisterToLV3(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rg := b.registrant(t, "Han_Meimei1", "13912349071")
	anon := ""
	rg.start()
	anon = rg.br.cookie()
	if r := rg.account(); r.Status != http.StatusOK || r.str("next_step") != "realname" {
		t.Fatalf("account: %d %s", r.Status, r.Raw)
	}
	if r := rg.realname(); r.Status != http.StatusOK || r.str("next_step") != "face" {
		t.Fatalf("realname: %d %s", r.Status, r.Raw)
	}
	st := rg.br.get("/api/v1/register")
	if st.str("next_step") != "face" || st.str("id_hint") != rg.idNumber[:1]+"*****"+rg.idNumber[17:] || st.str("phone_hint") != "139****9071" {
		t.Fatalf("status: %s", st.Raw)
	}
	if n := b.accountCount(t); n != 0 {
		t.Fatalf("%d accounts before the face check", n)
	}
	r := rg.face()
	if r.Status != http.StatusOK || r.str("status") != "used" || r.Body["existing"] != false || r.str("next") != "/center?registered=1" {
		t.Fatalf("face: %d %s", r.Status, r.Raw)
	}
	if rg.br.cookie() == anon {
		t.Fatal("the session was not rotated at sign-in")
	}
	me := rg.br.get("/api/v1/me")
	if me.Status != http.StatusOK || me.str("realname_level") != "LV3" || me.str("username") != "Han_Meimei1" || me.str("status") != "active" {
		t.Fatalf("me: %d %s", me.Status, me.Raw)
	}
	var origin, version string
	var verified bool
	if err := b.pool.QueryRow(context.Background(), `SELECT origin, phone_verified, agreement_version FROM account WHERE username = 'Han_Meimei1'`).
		Scan(&origin, &verified, &version); err != nil {
		t.Fatal(err)
	}
	if origin != "registered" || !verified || version != AgreementVersion {
		t.Errorf("account: origin %s verified %v agreement %s", origin, verified, version)
	}
	// The center page shows the level.
	if page := rg.br.get("/center"); !strings.Contains(page.Raw, `<dd id="realname-level">LV3（已人脸核验）</dd>`) {
		t.Errorf("center page without the level: %s", page.Raw)
	}
	// The flow is gone; the audit has each step, no full number.
	if r := rg.br.post("/api/v1/register/face", nil); r.Status != http.StatusConflict {
		t.Errorf("face again after registration: %d %s", r.Status, r.Raw)
	}
	rows, err := b.pool.Query(context.Background(), `SELECT event, subject FROM auth_audit WHERE event LIKE 'register%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for rows.Next() {
		var e, subj string
		rows.Scan(&e, &subj)
		if strings.Contains(subj, rg.idNumber) || strings.Contains(subj, rg.phone) {
			t.Errorf("audit %s has a clear identifier: %s", e, subj)
		}
		events = append(events, e)
	}
	want := []string{"register_start", "register_sms", "register_account", "register_realname", "register_face_start", "register"}
	if strings.Join(events, ",") != strings.Join(want, ",") {
		t.Errorf("audit events %v, want %v", events, want)
	}
}

// TestRegisterStepOrder: at each point of a registration every other step
// is refused with 409 and the next step named; a step done is refused when
// repeated; a step raced from two requests succeeds once; a session with
// no registration is refused every step.
func TestRegisterStepOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requests := map[regStep]func(rg *registrant) response{
		regAccount: func(rg *registrant) response {
			return rg.br.post("/api/v1/register/account", map[string]any{"username": rg.username, "phone": rg.phone, "code": "123456", "agree": true, "agreement_version": AgreementVersion})
		},
		regRealname: func(rg *registrant) response { return rg.realname() },
		regFace:     func(rg *registrant) response { return rg.br.post("/api/v1/register/face", nil) },
	}
	for i, at := range []regStep{regAccount, regRealname, regFace} {
		t.Run(string(at), func(t *testing.T) {
			t.Parallel()
			rg := b.registrant(t, fmt.Sprintf("order%d", i), fmt.Sprintf("1370000222%d", i))
			rg.to(at)
			for step, req := range requests {
				if step == at {
					continue
				}
				if r := req(rg); r.Status != http.StatusConflict || r.str("next_step") != string(at) {
					t.Errorf("%s while at %s: %d %s, want 409 next_step %s", step, at, r.Status, r.Raw, at)
				}
			}
			if r := rg.br.get("/api/v1/register"); r.str("next_step") != string(at) {
				t.Errorf("status at %s: %s", at, r.Raw)
			}
			// The page of another step sends the browser to this one.
			for _, st := range registrationSteps {
				if st.step == at || st.step == regFace {
					continue
				}
				if r := rg.br.get(st.path); r.Status != http.StatusSeeOther || r.Header.Get("Location") != regPath(at) {
					t.Errorf("GET %s at %s: %d %s", st.path, at, r.Status, r.Header.Get("Location"))
				}
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		br := b.browser(t)
		for step, req := range requests {
			if r := req(&registrant{br: br, username: "nobody1", phone: "13700003333", name: "某某", idNumber: residentID("19800101")}); r.Status != http.StatusConflict || r.str("next_step") != "" {
				t.Errorf("%s without a registration: %d %s", step, r.Status, r.Raw)
			}
		}
	})
	t.Run("repeated", func(t *testing.T) {
		t.Parallel()
		rg := b.registrant(t, "repeat1", "13700004444")
		rg.to(regFace)
		if r := rg.realname(); r.Status != http.StatusConflict || r.str("next_step") != "face" {
			t.Errorf("realname repeated: %d %s", r.Status, r.Raw)
		}
	})
	t.Run("raced", func(t *testing.T) {
		t.Parallel()
		rg := b.registrant(t, "raced1", "13700005555")
		rg.to(regRealname)
		var wg sync.WaitGroup
		statuses := make([]int, 6)
		for k := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[k] = rg.realname().Status
			}()
		}
		wg.Wait()
		sort.Ints(statuses)
		if statuses[0] != http.StatusOK || statuses[1] != http.StatusConflict || statuses[5] != http.StatusConflict {
			t.Errorf("raced realname: %v, want one 200 and the rest 409", statuses)
		}
	})
}

// TestUsernameRules: the rules of a username, in Go and in the table;
// unique whatever the case; never changed once set.
func TestUsernameRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"abcd", true}, {"a_1_b", true}, {"Zhang_San2026", true}, {"a2345678901234567890", true},
		{"abc", false}, {"a23456789012345678901", false}, {"1abcd", false}, {"_abcd", false},
		{"ab-cd", false}, {"ab cd", false}, {"张三丰abc", false}, {"abcd!", false}, {"", false},
		// Keys the login forms read as such: an old foreigner's card, a
		// credit code whose authority is a letter.
		{"KAZ110090123105", false}, {"KAZ110090123106x", true}, {usccWithLetter(), false},
	} {
		if got := account.ValidUsername(tc.name); got != tc.ok {
			t.Errorf("ValidUsername(%q) = %v, want %v", tc.name, got, tc.ok)
		}
		if got := usernameError(tc.name) == ""; got != tc.ok {
			t.Errorf("usernameError(%q) accepts = %v, want %v", tc.name, got, tc.ok)
		}
	}
	b := setup(t)
	c := b.active(t, "李雷", "13600001111", "K9#vTq2!mZ")
	ctx := context.Background()
	// The table's CHECK is the same rule.
	for _, bad := range []string{"abc", "1abcd", "ab-cd"} {
		if _, err := b.pool.Exec(ctx, `UPDATE account SET username = $2 WHERE id = $1`, c.id, bad); err == nil {
			t.Errorf("the table took username %q", bad)
		}
	}
	b.setUsername(t, c.id, "LiLei2026")
	// Never changed, not even by the owner of the table.
	for _, to := range []any{"LiLei2027", nil} {
		if _, err := b.pool.Exec(ctx, `UPDATE account SET username = $2 WHERE id = $1`, c.id, to); err == nil {
			t.Errorf("username changed to %v", to)
		}
	}
	// Taken, whatever the case, at step ①.
	rg := b.registrant(t, "lilei2026", "13600002222")
	rg.start()
	r := rg.account()
	if r.Status != http.StatusConflict || r.str("error") != "username_taken" {
		t.Errorf("a taken username in another case: %d %s", r.Status, r.Raw)
	}
	// Refused by the rules before any code is used.
	rg2 := b.registrant(t, "1bad", "13600003333")
	rg2.start()
	r = rg2.account()
	if r.Status != http.StatusUnprocessableEntity || r.Body["fields"].(map[string]any)["username"] == nil {
		t.Errorf("a username against the rules: %d %s", r.Status, r.Raw)
	}
}

// TestRegisterNoEnumeration: before the face check, no answer depends on
// whether the ID number or the phone has an account: the code is sent to
// a bound phone as to a free one, and ② takes an ID number that has an
// account as one that has none.
func TestRegisterNoEnumeration(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.active(t, "王芳", "13500001111", "K9#vTq2!mZ")
	shape := func(r response) string {
		keys := make([]string, 0, len(r.Body))
		for k := range r.Body {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return fmt.Sprintf("%d %v", r.Status, keys)
	}
	// The code send.
	known, unknown := b.registrant(t, "enum1", owner.Phone), b.registrant(t, "enum2", "13500002222")
	known.start()
	unknown.start()
	kr, ur := known.sendCode(), unknown.sendCode()
	if shape(kr) != shape(ur) || kr.Raw != ur.Raw {
		t.Errorf("code send: bound phone %s, free phone %s", kr.Raw, ur.Raw)
	}
	// ② with an ID number that has an account and with one that has not.
	known, unknown = b.registrant(t, "enum3", "13500003333"), b.registrant(t, "enum4", "13500004444")
	known.idNumber = owner.IDNumber
	known.to(regRealname)
	unknown.to(regRealname)
	kr, ur = known.realname(), unknown.realname()
	if shape(kr) != shape(ur) || kr.Raw != ur.Raw || kr.Status != http.StatusOK {
		t.Errorf("realname: existing ID %d %s, new ID %d %s", kr.Status, kr.Raw, ur.Status, ur.Raw)
	}
	// And the face start of ③.
	kr, ur = known.br.post("/api/v1/register/face", nil), unknown.br.post("/api/v1/register/face", nil)
	if shape(kr) != shape(ur) || kr.Status != http.StatusCreated {
		t.Errorf("face start: existing ID %s, new ID %s", kr.Raw, ur.Raw)
	}
	// A face of another person is refused, whatever the ID number.
	if st, _ := b.svc.SimulateFace(context.Background(), kr.str("challenge"), residentID("19700101"), FacePass); st == http.StatusOK {
		t.Error("another person's face passed a registration's challenge")
	}
}

// TestRegisterWithFusedID: registering with the ID number of a fused
// account pending completion creates no second account; after the face
// the registrant is told 账号已存在 and signed into it, its completion
// pending.
func TestRegisterWithFusedID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "韩梅梅", "13400001111")
	rg := b.registrant(t, "hanmm", "13400002222")
	rg.idNumber = c.IDNumber
	before := b.accountCount(t)
	r := rg.to("")
	if r.Body["existing"] != true || r.str("next_step") != "info" || r.str("next") != "/complete/info" || !strings.Contains(r.str("message"), "账号已存在") {
		t.Fatalf("face: %d %s", r.Status, r.Raw)
	}
	if n := b.accountCount(t); n != before {
		t.Fatalf("%d accounts after, %d before", n, before)
	}
	// Signed into the fused account, restricted to its completion.
	if r := rg.br.get("/api/v1/completion"); r.Status != http.StatusOK || r.str("next_step") != "info" {
		t.Fatalf("completion: %d %s", r.Status, r.Raw)
	}
	var status, level string
	var username *string
	if err := b.pool.QueryRow(context.Background(), `SELECT status, username, realname_level FROM account WHERE id = $1`, c.id).Scan(&status, &username, &level); err != nil {
		t.Fatal(err)
	}
	if status != string(schemas.StatusPendingCompletion) || username != nil || level != "LV2" {
		t.Errorf("fused account after: %s %v %s", status, username, level)
	}
	// The completion goes on to the end (a face login proved no phone:
	// ① takes one by its code, a minute after the registration's).
	b.clock.Advance(time.Minute)
	if r := rg.br.newPhoneInfo(rg.phone, "海口市美兰区"); r.Status != http.StatusOK {
		t.Fatalf("info: %d %s", r.Status, r.Raw)
	}
	if r := rg.br.post("/api/v1/completion/password", map[string]string{"password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ"}); r.Status != http.StatusOK {
		t.Fatalf("password: %d %s", r.Status, r.Raw)
	}
	if r := rg.br.faceStep(c.IDNumber); r.Status != http.StatusOK {
		t.Fatalf("face: %d %s", r.Status, r.Raw)
	}
	if me := rg.br.get("/api/v1/me"); me.str("realname_level") != "LV3" || me.str("status") != "active" {
		t.Errorf("after completion: %s", me.Raw)
	}
}

// TestRegisterPhoneBound: a phone another account has is refused at ①,
// once its code proved the registrant holds it, with the seed's
// explanation and the ways in.
func TestRegisterPhoneBound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.active(t, "赵敏", "13300001111", "K9#vTq2!mZ")
	rg := b.registrant(t, "zhaomin2", owner.Phone)
	rg.start()
	r := rg.account()
	if r.Status != http.StatusConflict || r.str("error") != "phone_bound" {
		t.Fatalf("bound phone: %d %s", r.Status, r.Raw)
	}
	for _, way := range []string{"手机验证码登录", "刷脸登录", "忘记密码"} {
		if !strings.Contains(r.str("message"), way) {
			t.Errorf("the refusal does not name %s: %s", way, r.str("message"))
		}
	}
	if st := rg.br.get("/api/v1/register"); st.str("next_step") != "account" {
		t.Errorf("after the refusal: %s", st.Raw)
	}
	// A wrong code is refused before the phone is looked at.
	rg2 := b.registrant(t, "zhaomin3", owner.Phone)
	rg2.start()
	r = rg2.br.post("/api/v1/register/account", map[string]any{"username": rg2.username, "phone": owner.Phone, "code": "000000", "agree": true, "agreement_version": AgreementVersion})
	if r.Status != http.StatusUnprocessableEntity || r.str("error") != "code_wrong" {
		t.Errorf("wrong code for a bound phone: %d %s", r.Status, r.Raw)
	}
}

// TestBrowserRegistration: a citizen registers in Chromium, click by
// click: the start page, ① username, phone and the code read from the
// development outbox, the agreement ticked; ② name and ID number; ③ the
// QR code, approved in the simulator in a second tab while the face page
// refreshes itself; then the personal center, LV3, the username shown.
func TestBrowserRegistration(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := citizen{IDNumber: residentID("19930412"), Name: "韩梅梅", Phone: "13912349071"}
	p := newTab(t, b)
	p.open("/register", http.StatusOK, "")
	p.submit("#start", http.StatusOK, "/register/account")

	// ①
	p.fill("#username", "hanmeimei")
	p.fill("#phone", c.Phone)
	p.submit("#send-code", http.StatusOK, "/register/account/sms")
	if got := p.text("#notice"); got != "验证码已发送，5分钟内有效" {
		t.Fatalf("after 获取验证码: notice %q", got)
	}
	outbox := p.newTab("outbox")
	outbox.open("/dev/sms", http.StatusOK, "")
	m := codeRE.FindStringSubmatch(outbox.text("#outbox td.body"))
	if m == nil {
		t.Fatal("no code in the newest outbox message")
	}
	p.fill("#code", m[1])
	// Without the agreement ticked, step ① is refused.
	p.submit("#next", http.StatusUnprocessableEntity, "/register/account")
	if got := p.text("#register-account .field-error"); got != "请阅读并同意用户协议" {
		t.Fatalf("without the agreement: %q", got)
	}
	p.fill("#code", m[1])
	eval[bool](p, `document.querySelector('#agree').checked = true`)
	p.submit("#next", http.StatusOK, "/register/realname")
	if got := p.text("#phone-hint"); got != "139****9071" {
		t.Errorf("phone shown as %q", got)
	}

	// ②
	p.fill("#name", c.Name)
	p.fill("#id_number", c.IDNumber)
	p.submit("#next", http.StatusOK, "/register/face")

	// ③
	p.waitFor("the QR code loaded", `(() => { const q = document.querySelector('#qr'); return q !== null && q.complete && q.naturalWidth > 0 })()`)
	sim := p.newTab("simulator")
	sim.open(p.waitForString("the simulator link", `document.querySelector('#simulator')?.getAttribute('href') || ''`), http.StatusOK, "")
	sim.fill("#id_number", c.IDNumber)
	sim.submit("#approve", http.StatusOK, "")
	p.waitFor("the face page refreshed to the personal center", `location.pathname === '/center' && document.querySelector('#realname-level') !== null`)
	if got := p.text("#realname-level"); got != "LV3（已人脸核验）" {
		t.Errorf("real-name level %q, want LV3（已人脸核验）", got)
	}
	if got := p.text("#username"); got != "hanmeimei" {
		t.Errorf("username %q", got)
	}
	p.noClearPII(c)
}

// TestRegisterWithActiveID: registering with the ID number of an active
// account signs the registrant into it after the face (a full session, the
// personal center), without a second account or a change to it.
func TestRegisterWithActiveID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "李雷", "13200001111", "K9#vTq2!mZ")
	rg := b.registrant(t, "lilei_new", "13200002222")
	rg.idNumber = c.IDNumber
	before := b.accountCount(t)
	r := rg.to("")
	if r.Body["existing"] != true || r.str("next") != "/center" || r.str("next_step") != "" {
		t.Fatalf("face: %d %s", r.Status, r.Raw)
	}
	if n := b.accountCount(t); n != before {
		t.Fatalf("%d accounts after, %d before", n, before)
	}
	me := rg.br.get("/api/v1/me")
	if me.Status != http.StatusOK || me.str("phone_hint") != "132****1111" || me.str("username") != "" {
		t.Errorf("me: %d %s", me.Status, me.Raw)
	}
	var n int
	b.pool.QueryRow(context.Background(), `SELECT count(*) FROM auth_audit WHERE event = 'register_existing' AND account_id = $1`, c.id).Scan(&n)
	if n != 1 {
		t.Errorf("register_existing audited %d times", n)
	}
}

// usccWithLetter is a valid credit code whose first character is a letter
// (N: registered by the agriculture authority).
func usccWithLetter() string {
	first17 := "N2460100MA5T0000" + "1"
	return first17 + string(cleanse.USCCCheckChar(first17))
}
