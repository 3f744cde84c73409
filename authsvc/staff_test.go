package authsvc

import (
	"context"
	"encoding/base32"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/authsvc/internal/totp"
)

// staffUser is a test staff member with its credentials.
type staffUser struct {
	username, password string
	secret             []byte
}

func (b *testBundle) addStaff(t testing.TB, username, name string, roles ...string) staffUser {
	t.Helper()
	c, err := AddStaff(context.Background(), b.pool, b.keys, fastArgon, NewStaff{Username: username, Name: name, Roles: roles, CreatedBy: "test"}, b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(c.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return staffUser{username: username, password: c.Password, secret: secret}
}

// code is the staff member's TOTP code now.
func (b *testBundle) code(u staffUser) string {
	return totp.Code(u.secret, totp.Step(b.clock.Now()), totp.Digits)
}

func (br *browser) staffLogin(username, password, code string) response {
	br.t.Helper()
	return br.post("/api/v1/admin/login", map[string]string{"username": username, "password": password, "code": code})
}

// staffCookie is the browser's staff session token ("" when none).
func (br *browser) staffCookie() string {
	for _, c := range br.hc.Jar.Cookies(mustURL(br.b.ts.URL)) {
		if c.Name == staffCookieName {
			return c.Value
		}
	}
	return ""
}

// staffAudit is the details of the staff sign-ins' audit rows, in order.
func (b *testBundle) staffAudit(t testing.TB) []string {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `SELECT outcome || ': ' || detail FROM auth_audit WHERE event = 'staff_login' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func staffRefused(t testing.TB, what string, r response) {
	t.Helper()
	if r.Status != http.StatusUnauthorized || r.str("error") != "staff_login_failed" || !strings.Contains(r.str("message"), "不正确") {
		t.Errorf("%s: %d %s, want 401 staff_login_failed", what, r.Status, r.Raw)
	}
}

// TestStaffSignIn: a staff member signs in with password and TOTP code and
// the console shows its name and roles; a wrong password, a wrong code, a
// replayed code, an unknown username and a disabled staff member are all
// refused alike; each attempt is audited with the username and nothing of
// the password or the code.
func TestStaffSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.addStaff(t, "Zhang.San", "张三", "kefu", "shenji")
	br := b.browser(t)

	// An unknown username gets the answer of a wrong password, and costs
	// a hash too.
	var hashes atomic.Int32
	idKey := b.svc.hasher.idKey
	b.svc.hasher.idKey = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		hashes.Add(1)
		return idKey(password, salt, time, memory, threads, keyLen)
	}
	unknown := br.staffLogin("li.si", u.password, b.code(u))
	if n := hashes.Load(); n != 1 {
		t.Errorf("an unknown username cost %d hashes, want 1", n)
	}
	// A username no one can have (a password typed in the wrong field, or
	// the detail's fields forged) is not recorded.
	staffRefused(t, "forged username", br.staffLogin("x; role=shenhe; reason=forged", u.password, b.code(u)))
	wrongPw := br.staffLogin(u.username, u.password+"x", b.code(u))
	staffRefused(t, "wrong password", wrongPw)
	if diff := cmp.Diff(wrongPw.Body, unknown.Body); diff != "" || unknown.Status != wrongPw.Status {
		t.Errorf("unknown username answered unlike a wrong password (-wrong +unknown):\n%s", diff)
	}
	staffRefused(t, "wrong code", br.staffLogin(u.username, u.password, wrongCode(b.code(u))))

	// The username is case-insensitive; the page shows name and roles.
	code := b.code(u)
	if r := br.staffLogin("zhang.san", u.password, code); r.Status != http.StatusOK || r.str("next") != "/admin" {
		t.Fatalf("sign-in: %d %s", r.Status, r.Raw)
	}
	first := br.staffCookie()
	if first == "" || br.cookie() != "" {
		t.Fatalf("cookies after sign-in: staff %q, citizen %q", first, br.cookie())
	}
	page := br.get("/admin")
	if page.Status != http.StatusOK || !strings.Contains(page.Raw, "张三") || !strings.Contains(page.Raw, "客服、审计") {
		t.Errorf("/admin: %d %s", page.Status, page.Raw)
	}
	me := br.get("/api/v1/admin/me")
	if me.Status != http.StatusOK || me.str("name") != "张三" || !cmp.Equal(me.Body["role_names"], []any{"客服", "审计"}) {
		t.Errorf("/api/v1/admin/me: %d %s", me.Status, me.Raw)
	}

	// The same code again is a replay, even with the right password.
	staffRefused(t, "replayed code", br.staffLogin(u.username, u.password, code))
	// The next step's code signs in again, in a new session.
	b.clock.Advance(totp.Period)
	if r := br.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusOK {
		t.Fatalf("second sign-in: %d %s", r.Status, r.Raw)
	}
	if br.staffCookie() == first {
		t.Error("the session was not rotated at sign-in")
	}
	old := b.browser(t)
	old.hc.Jar.SetCookies(mustURL(b.ts.URL), []*http.Cookie{{Name: staffCookieName, Value: first, Path: "/"}})
	if r := old.get("/api/v1/admin/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("the session before the sign-in: %d %s, want 401", r.Status, r.Raw)
	}

	// Disabled: its session ends (whoever disabled it), and it cannot
	// sign in.
	if _, err := b.pool.Exec(context.Background(), `UPDATE staff SET status = 'disabled'`); err != nil {
		t.Fatal(err)
	}
	if r := br.get("/api/v1/admin/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("session of a staff member disabled: %d %s, want 401", r.Status, r.Raw)
	}
	if err := DisableStaff(context.Background(), b.pool, "zhang.san", "test", b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if r := br.get("/api/v1/admin/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("session of a disabled staff member: %d %s, want 401", r.Status, r.Raw)
	}
	b.clock.Advance(totp.Period)
	staffRefused(t, "disabled", br.staffLogin(u.username, u.password, b.code(u)))

	want := []string{
		"fail: staff=li.si; unknown username",
		"fail: staff=(invalid username); unknown username",
		"fail: staff=Zhang.San; wrong password",
		"fail: staff=Zhang.San; wrong code",
		"ok: staff=zhang.san",
		"fail: staff=Zhang.San; replayed code",
		"ok: staff=Zhang.San",
		"fail: staff=Zhang.San; disabled",
	}
	if diff := cmp.Diff(want, b.staffAudit(t)); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE strpos(detail, $1) > 0 OR strpos(subject, $1) > 0 OR detail ~ '\d{6}'`, u.password); n != 0 {
		t.Errorf("%d audit rows hold the password or a code", n)
	}
}

// TestStaffLockout: five failures in a row lock the staff member for 15
// minutes: refused even with the right password and code, then let in.
func TestStaffLockout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.addStaff(t, "wang.wu", "王五", "yunwei")
	br := b.browser(t)
	for i := range 5 {
		if i%2 == 0 {
			staffRefused(t, "wrong password", br.staffLogin(u.username, "Wrong#Pass9", b.code(u)))
		} else {
			staffRefused(t, "wrong code", br.staffLogin(u.username, u.password, wrongCode(b.code(u))))
		}
	}
	staffRefused(t, "right password and code while locked", br.staffLogin(u.username, u.password, b.code(u)))
	b.clock.Advance(15*time.Minute - time.Second)
	staffRefused(t, "a second before the lock ends", br.staffLogin(u.username, u.password, b.code(u)))
	b.clock.Advance(time.Second + totp.Period)
	if r := br.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusOK {
		t.Errorf("after the lock: %d %s", r.Status, r.Raw)
	}
	got := b.staffAudit(t)
	want := []string{
		"fail: staff=wang.wu; wrong password",
		"fail: staff=wang.wu; wrong code",
		"fail: staff=wang.wu; wrong password",
		"fail: staff=wang.wu; wrong code",
		"fail: staff=wang.wu; wrong password; locked",
		"fail: staff=wang.wu; locked",
		"fail: staff=wang.wu; locked",
		"ok: staff=wang.wu",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	// The session ends when idle for the citizens' idle timeout.
	if r := br.get("/api/v1/admin/me"); r.Status != http.StatusOK {
		t.Fatalf("me: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(b.svc.cfg.IdleTimeout)
	if r := br.get("/api/v1/admin/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("idle session: %d %s, want 401", r.Status, r.Raw)
	}
}

// TestStaffSessionsApart: a citizen's session never opens the console,
// and a staff session is no citizen's session, whichever cookie carries
// the token.
func TestStaffSessionsApart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "赵六", "13912340601", goodPassword)
	citizenBr := b.browser(t)
	signedIn(t, "citizen", citizenBr.passwordLogin(c, goodPassword))
	if r := citizenBr.get("/api/v1/admin/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("citizen at /api/v1/admin/me: %d %s, want 401", r.Status, r.Raw)
	}
	if r := citizenBr.get("/admin"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/admin/login" {
		t.Errorf("citizen at /admin: %d %s, want 303 to /admin/login", r.Status, r.Header.Get("Location"))
	}
	if citizenBr.cookie() == "" {
		t.Error("the console's refusal ended the citizen's session")
	}
	// The citizen's token in the staff cookie.
	forged := b.browser(t)
	forged.hc.Jar.SetCookies(mustURL(b.ts.URL), []*http.Cookie{{Name: staffCookieName, Value: citizenBr.cookie(), Path: "/"}})
	if r := forged.get("/api/v1/admin/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("citizen token as staff cookie: %d %s, want 401", r.Status, r.Raw)
	}

	// A username no staff member can have: the same answer, audited as
	// such, not as typed.
	staffRefused(t, "a long username", citizenBr.staffLogin(strings.Repeat("张", 70), goodPassword, "123456"))
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'staff_login' AND subject = '(invalid username)'`); n != 1 {
		t.Errorf("%d audit rows of the long username, want 1", n)
	}

	u := b.addStaff(t, "sun.qi", "孙七", "shenhe")
	staffBr := b.browser(t)
	if r := staffBr.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusOK {
		t.Fatalf("staff sign-in: %d %s", r.Status, r.Raw)
	}
	if r := staffBr.get("/api/v1/settings/logins"); r.Status != http.StatusUnauthorized {
		t.Errorf("staff at a citizen's page: %d %s, want 401", r.Status, r.Raw)
	}
	forged = b.browser(t)
	forged.hc.Jar.SetCookies(mustURL(b.ts.URL), []*http.Cookie{{Name: cookieName, Value: staffBr.staffCookie(), Path: "/"}})
	if r := forged.get("/api/v1/settings/logins"); r.Status != http.StatusUnauthorized {
		t.Errorf("staff token as citizen cookie: %d %s, want 401", r.Status, r.Raw)
	}
	// Logout ends the staff session.
	if r := staffBr.post("/api/v1/admin/logout", nil); r.Status != http.StatusNoContent {
		t.Errorf("logout: %d %s", r.Status, r.Raw)
	}
	if r := staffBr.get("/api/v1/admin/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("after logout: %d %s, want 401", r.Status, r.Raw)
	}
}

// TestStaffLoginPage: the page form signs in and lands on the console;
// the sign-in is rate limited per address.
func TestStaffLoginPage(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.RequestsPerMinute = 2 })
	u := b.addStaff(t, "zhou.ba", "周八", "kefu")
	br := b.browser(t)
	if r := br.get("/admin/login"); r.Status != http.StatusOK || !strings.Contains(r.Raw, "工作人员登录") || !strings.Contains(r.Raw, "动态验证码") {
		t.Errorf("GET /admin/login: %d", r.Status)
	}
	form := func(password, code string) response {
		req, _ := http.NewRequest(http.MethodPost, b.ts.URL+"/admin/login", strings.NewReader("username="+u.username+"&password="+password+"&code="+code))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return br.send(req)
	}
	if r := form("Wrong1", b.code(u)); r.Status != http.StatusUnauthorized || !strings.Contains(r.Raw, "不正确") {
		t.Errorf("wrong password form: %d %s", r.Status, r.Raw)
	}
	if r := form(u.password, b.code(u)); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
		t.Errorf("sign-in form: %d %s", r.Status, r.Raw)
	}
	if r := form(u.password, b.code(u)); r.Status != http.StatusTooManyRequests {
		t.Errorf("third attempt from the address: %d, want 429", r.Status)
	}
	if r := br.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusTooManyRequests {
		t.Errorf("the JSON twin from the address: %d, want 429", r.Status)
	}
	if !slices.Equal(b.staffAudit(t), []string{"fail: staff=zhou.ba; wrong password", "ok: staff=zhou.ba"}) {
		t.Errorf("audit %q", b.staffAudit(t))
	}
}

// TestStaffCodeOnceConcurrently: the same code sent by several sign-ins
// at once opens one session: the last step is read and written under the
// staff member's row lock.
func TestStaffCodeOnceConcurrently(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.addStaff(t, "wu.jiu", "吴九", "kefu")
	code := b.code(u)
	const n = 6
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		br := b.browser(t)
		wg.Go(func() {
			r := br.staffLogin(u.username, u.password, code)
			if r.Status != http.StatusOK && r.Status != http.StatusUnauthorized {
				t.Errorf("sign-in: %d %s", r.Status, r.Raw)
			}
			statuses <- r.Status
		})
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d sign-ins with one code succeeded, want 1", ok, n)
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'staff_login' AND detail LIKE '%replayed code%'`); got != n-1 {
		t.Errorf("%d replays audited, want %d: %q", got, n-1, b.staffAudit(t))
	}
}

// TestStaffSessionsPurged: the purge removes a staff session that ended
// (here: signed out) more than a day ago, and keeps a live one.
func TestStaffSessionsPurged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	u := b.addStaff(t, "purge.kefu", "王客服", "kefu")
	out := b.browser(t)
	if r := out.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", r.Status, r.Raw)
	}
	if r := out.post("/api/v1/admin/logout", nil); r.Status/100 != 2 {
		t.Fatalf("sign-out: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(25 * time.Hour)
	live := b.browser(t)
	if r := live.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusOK {
		t.Fatalf("second sign-in: %d %s", r.Status, r.Raw)
	}
	p, err := Purge(ctx, b.pool, b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	var left int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM staff_session WHERE id_hash = $1`, hashToken(live.staffCookie())).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if p.StaffSessions != 1 || left != 1 {
		t.Errorf("purged %d staff sessions, the live one kept: %v; want 1 purged and the live one kept", p.StaffSessions, left == 1)
	}
	if r := live.get("/api/v1/admin/me"); r.Status != http.StatusOK {
		t.Errorf("the live session after the purge: %d", r.Status)
	}
}
