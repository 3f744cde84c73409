package authsvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// TestFirstLogin: a fused account's whole first login over the API: SMS
// code, the three steps in order, then a full session that reaches the
// personal center, and a password that now works.
func TestFirstLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "张三", "13912349071")
	br := b.browser(t)
	r := br.smsLogin(c)
	if r.Status != http.StatusOK || r.str("next_step") != "info" {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	restricted := br.cookie()
	br.completeTo(c, "")
	if br.cookie() == restricted || br.cookie() == "" {
		t.Fatal("the session was not rotated when the account became active")
	}
	me := br.get("/api/v1/me")
	if me.Status != http.StatusOK || me.str("status") != "active" || me.str("id_hint") != c.IDNumber[:1]+"*****"+c.IDNumber[17:] {
		t.Fatalf("me: %d %s", me.Status, me.Raw)
	}
	// The restricted session died with the rotation.
	old := b.browser(t)
	old.hc.Jar.SetCookies(mustURL(b.ts.URL), []*http.Cookie{{Name: cookieName, Value: restricted, Path: "/", Secure: true}})
	if r := old.get("/api/v1/completion"); r.Status != http.StatusUnauthorized {
		t.Errorf("old restricted cookie after completion: %d %s", r.Status, r.Raw)
	}
	// And the password set in step ② logs in.
	pw := b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": c.IDNumber, "password": "K9#vTq2!mZ"})
	if pw.Status != http.StatusOK || pw.str("next") != "/center" {
		t.Fatalf("password login: %d %s", pw.Status, pw.Raw)
	}
}

// TestStepOrder: at every point of the completion, every step but the
// next one is refused with 409 and the next step named, and a restricted
// session reaches nothing outside the completion.
func TestStepOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requests := map[schemas.Step]func(br *browser) response{
		schemas.StepInfo: func(br *browser) response {
			return br.post("/api/v1/completion/info", map[string]string{"address": "海口市"})
		},
		schemas.StepPassword: func(br *browser) response {
			return br.post("/api/v1/completion/password", map[string]string{"password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ"})
		},
		schemas.StepFace: func(br *browser) response { return br.post("/api/v1/completion/face", nil) },
	}
	for i, at := range schemas.FusedAccountSteps {
		t.Run(string(at), func(t *testing.T) {
			t.Parallel()
			c := b.fused(t, "李四", fmt.Sprintf("1380000111%d", i))
			br := b.browser(t)
			if r := br.smsLogin(c); r.Status != http.StatusOK {
				t.Fatalf("login: %d %s", r.Status, r.Raw)
			}
			br.completeTo(c, at)
			for step, req := range requests {
				if step == at {
					continue
				}
				r := req(br)
				if r.Status != http.StatusConflict || r.str("next_step") != string(at) {
					t.Errorf("%s while at %s: %d %s, want 409 next_step %s", step, at, r.Status, r.Raw, at)
				}
			}
			for _, path := range []string{"/api/v1/me"} {
				if r := br.get(path); r.Status != http.StatusForbidden || r.str("next_step") != string(at) {
					t.Errorf("GET %s while restricted: %d %s", path, r.Status, r.Raw)
				}
			}
			if r := br.get("/api/v1/completion"); r.Status != http.StatusOK || r.str("next_step") != string(at) {
				t.Errorf("completion status: %d %s", r.Status, r.Raw)
			}
		})
	}
}

// accountRow is what a completion may change of an account.
type accountRow struct {
	Status        string
	Steps         []string
	PhoneHint     string
	PhoneVerified bool
	Address       string
	HasPassword   bool
}

func (b *testBundle) accountRow(t testing.TB, c citizen) accountRow {
	t.Helper()
	var r accountRow
	if err := b.pool.QueryRow(context.Background(), `SELECT status, required_steps, phone_hint, phone_verified, address, password_hash IS NOT NULL
		FROM account WHERE id = $1`, c.id).Scan(&r.Status, &r.Steps, &r.PhoneHint, &r.PhoneVerified, &r.Address, &r.HasPassword); err != nil {
		t.Fatal(err)
	}
	return r
}

// faceLogin logs c in by face in br: a challenge for the ID number,
// answered by the simulator with idNumber's face.
func (br *browser) faceLogin(c citizen) response {
	br.t.Helper()
	r := br.post("/api/v1/login/face", map[string]string{"id_number": c.IDNumber})
	if r.Status != http.StatusCreated {
		br.t.Fatalf("face login start: %d %s", r.Status, r.Raw)
	}
	if st, err := br.b.svc.SimulateFace(context.Background(), r.str("challenge"), c.IDNumber, FacePass); err != nil || st != http.StatusOK {
		br.t.Fatalf("simulate face: %d %v", st, err)
	}
	return br.get("/api/v1/login/face/" + r.str("challenge"))
}

// newPhoneInfo does step ① with a new phone, proved by its code.
func (br *browser) newPhoneInfo(phone, address string) response {
	br.t.Helper()
	if r := br.postSolving("/api/v1/completion/info/sms", map[string]string{"phone": phone}); r.Status != http.StatusAccepted {
		br.t.Fatalf("verify code: %d %s", r.Status, r.Raw)
	}
	return br.post("/api/v1/completion/info", map[string]string{"phone": phone, "code": br.b.lastCodeTo(br.t, phone), "address": address})
}

// faceStep does step ③, the face answered with idNumber's.
func (br *browser) faceStep(idNumber string) response {
	br.t.Helper()
	r := br.post("/api/v1/completion/face", nil)
	if r.Status != http.StatusCreated {
		br.t.Fatalf("face start: %d %s", r.Status, r.Raw)
	}
	br.b.svc.SimulateFace(context.Background(), r.str("challenge"), idNumber, FacePass)
	return br.get("/api/v1/completion/face/" + r.str("challenge"))
}

// TestCompletionBoundToSession: the completion belongs to the session that
// does it. Session A holds the phone on record (a recycled number a
// department still lists), replaces the phone at ① and sets a password at
// ②; none of it reaches the account. The real citizen, logging in by face
// in session B, starts at ①, and after B's ③ A's password opens nothing
// and A's phone is not the account's. Only A's own face step would have
// applied A's values.
func TestCompletionBoundToSession(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const attackerPassword, ownerPassword = "Qz7#vLm2!pT", "K9#vTq2!mZ"

	// attack runs session A up to its step ③ and checks the account is
	// untouched.
	attack := func(t *testing.T, c citizen, attackerPhone string) *browser {
		a := b.browser(t)
		if r := a.smsLogin(c); r.Status != http.StatusOK || r.str("next_step") != "info" {
			t.Fatalf("A: sms login: %d %s", r.Status, r.Raw)
		}
		b.clock.Advance(61 * time.Second)
		if r := a.newPhoneInfo(attackerPhone, "攻击者地址"); r.Status != http.StatusOK {
			t.Fatalf("A: step ①: %d %s", r.Status, r.Raw)
		}
		if r := a.post("/api/v1/completion/password", map[string]string{"password": attackerPassword, "confirm": attackerPassword}); r.Status != http.StatusOK {
			t.Fatalf("A: step ②: %d %s", r.Status, r.Raw)
		}
		if r := a.get("/api/v1/completion"); r.str("next_step") != "face" {
			t.Fatalf("A: completion after ② = %s", r.Raw)
		}
		want := accountRow{Status: "pending_completion", Steps: []string{"info", "password", "face"}, PhoneHint: pii.MaskPhone(c.Phone), Address: "海口市"}
		if diff := cmp.Diff(want, b.accountRow(t, c)); diff != "" {
			t.Fatalf("account after A's ① ② (nothing may change before ③) mismatch (-want +got):\n%s", diff)
		}
		return a
	}

	t.Run("another session starts at ①", func(t *testing.T) {
		t.Parallel()
		c := b.fused(t, "赵六", "13912340001")
		a := attack(t, c, "13700001001")

		owner := b.browser(t)
		if r := owner.faceLogin(c); r.Status != http.StatusOK || r.str("status") != "used" || r.str("next_step") != "info" {
			t.Fatalf("B: face login: %d %s, want next_step info", r.Status, r.Raw)
		}
		for _, req := range []func() response{
			func() response { return owner.post("/api/v1/completion/face", nil) },
			func() response {
				return owner.post("/api/v1/completion/password", map[string]string{"password": ownerPassword, "confirm": ownerPassword})
			},
		} {
			if r := req(); r.Status != http.StatusConflict || r.str("next_step") != "info" {
				t.Fatalf("B: a later step before ①: %d %s, want 409 next_step info", r.Status, r.Raw)
			}
		}
		// A face login proved the person, not the department's phone: it
		// must be proved by a code before it is kept.
		if r := owner.post("/api/v1/completion/info", map[string]string{"address": "海口市美兰区海甸岛1号"}); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("B: step ① keeping an unproved phone: %d %s, want 422", r.Status, r.Raw)
		}
		b.clock.Advance(61 * time.Second)
		if r := owner.newPhoneInfo(c.Phone, "海口市美兰区海甸岛1号"); r.Status != http.StatusOK {
			t.Fatalf("B: step ①: %d %s", r.Status, r.Raw)
		}
		if r := owner.post("/api/v1/completion/password", map[string]string{"password": ownerPassword, "confirm": ownerPassword}); r.Status != http.StatusOK {
			t.Fatalf("B: step ②: %d %s", r.Status, r.Raw)
		}
		if r := owner.faceStep(c.IDNumber); r.str("status") != "used" {
			t.Fatalf("B: step ③: %d %s", r.Status, r.Raw)
		}
		want := accountRow{Status: "active", Steps: []string{}, PhoneHint: pii.MaskPhone(c.Phone), PhoneVerified: true, Address: "海口市美兰区海甸岛1号", HasPassword: true}
		if diff := cmp.Diff(want, b.accountRow(t, c)); diff != "" {
			t.Errorf("account after B's completion mismatch (-want +got):\n%s", diff)
		}
		if r := b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": c.IDNumber, "password": attackerPassword}); r.Status != http.StatusUnauthorized {
			t.Errorf("A's password after B's completion: %d %s, want 401", r.Status, r.Raw)
		}
		if r := b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": c.IDNumber, "password": ownerPassword}); r.Status != http.StatusOK {
			t.Errorf("B's password: %d %s, want 200", r.Status, r.Raw)
		}
		// A's session has nothing left: its flow and session ended.
		if n := b.count(t, `SELECT count(*) FROM completion_flow WHERE account_id = $1`, c.id); n != 0 {
			t.Errorf("%d completion flows of the account left after its activation, want 0", n)
		}
		if r := a.post("/api/v1/completion/face", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("A's step ③ after B's completion: %d %s, want 401", r.Status, r.Raw)
		}
	})

	t.Run("A's face step with someone else's face applies nothing", func(t *testing.T) {
		t.Parallel()
		c := b.fused(t, "钱七", "13912340002")
		a := attack(t, c, "13700001002")
		r := a.faceStep(residentID("19800101"))
		if r.str("status") == "used" {
			t.Fatalf("A: step ③ with another face: %d %s", r.Status, r.Raw)
		}
		want := accountRow{Status: "pending_completion", Steps: []string{"info", "password", "face"}, PhoneHint: pii.MaskPhone(c.Phone), Address: "海口市"}
		if diff := cmp.Diff(want, b.accountRow(t, c)); diff != "" {
			t.Errorf("account after A's refused face mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("the flow's own face step applies its values", func(t *testing.T) {
		t.Parallel()
		c := b.fused(t, "孙八", "13912340003")
		a := attack(t, c, "13700001003")
		if r := a.faceStep(c.IDNumber); r.str("status") != "used" {
			t.Fatalf("A: step ③: %d %s", r.Status, r.Raw)
		}
		want := accountRow{Status: "active", Steps: []string{}, PhoneHint: pii.MaskPhone("13700001003"), PhoneVerified: true, Address: "攻击者地址", HasPassword: true}
		if diff := cmp.Diff(want, b.accountRow(t, c)); diff != "" {
			t.Errorf("account after the flow's own ③ mismatch (-want +got):\n%s", diff)
		}
		if r := b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": c.IDNumber, "password": attackerPassword}); r.Status != http.StatusOK {
			t.Errorf("the flow's password: %d %s, want 200", r.Status, r.Raw)
		}
	})

	t.Run("an operator's lock during the flow stops ③", func(t *testing.T) {
		t.Parallel()
		c := b.fused(t, "李十", "13912340005")
		br := b.browser(t)
		br.smsLogin(c)
		br.completeTo(c, schemas.StepFace)
		r := br.post("/api/v1/completion/face", nil)
		if _, err := b.pool.Exec(context.Background(), `UPDATE account SET status = 'disabled' WHERE id = $1`, c.id); err != nil {
			t.Fatal(err)
		}
		b.svc.SimulateFace(context.Background(), r.str("challenge"), c.IDNumber, FacePass)
		if r := br.get("/api/v1/completion/face/" + r.str("challenge")); r.str("status") == "used" {
			t.Fatalf("step ③ of a disabled account: %d %s", r.Status, r.Raw)
		}
		if got := b.accountRow(t, c); got.Status != "disabled" || got.HasPassword {
			t.Errorf("disabled account after ③: %+v, want still disabled, no password", got)
		}
	})

	t.Run("a login code does not verify a pending account's phone before ③", func(t *testing.T) {
		t.Parallel()
		c := b.fused(t, "周九", "13912340004")
		if r := b.browser(t).smsLogin(c); r.Status != http.StatusOK {
			t.Fatalf("sms login: %d %s", r.Status, r.Raw)
		}
		if b.accountRow(t, c).PhoneVerified {
			t.Error("the phone on record is verified by a login code alone")
		}
	})
}

// TestCompletionStepRaces: parallel submissions of one step in one
// session advance it once, so the password step is never skipped; two
// sessions finishing ③ at once activate the account once, with the values
// of the one that won.
func TestCompletionStepRaces(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 8
	parallel := func(f func(i int) response) (ok int, statuses []int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range n {
			wg.Go(func() {
				r := f(i)
				mu.Lock()
				defer mu.Unlock()
				statuses = append(statuses, r.Status)
				if r.Status == http.StatusOK {
					ok++
				}
			})
		}
		wg.Wait()
		return ok, statuses
	}

	for _, tc := range []struct {
		step, next schemas.Step
		phone      string
		req        func(br *browser, i int) response
	}{
		{schemas.StepInfo, schemas.StepPassword, "13912340011", func(br *browser, i int) response {
			return br.post("/api/v1/completion/info", map[string]string{"address": fmt.Sprintf("海口市%d号", i)})
		}},
		{schemas.StepPassword, schemas.StepFace, "13912340012", func(br *browser, i int) response {
			pw := fmt.Sprintf("K9#vTq2!m%c", 'a'+i)
			return br.post("/api/v1/completion/password", map[string]string{"password": pw, "confirm": pw})
		}},
	} {
		t.Run(string(tc.step), func(t *testing.T) {
			t.Parallel()
			c := b.fused(t, "吴一", tc.phone)
			br := b.browser(t)
			br.smsLogin(c)
			br.completeTo(c, tc.step)
			ok, st := parallel(func(i int) response { return tc.req(br, i) })
			if ok != 1 {
				t.Fatalf("parallel step %s: %d succeeded (%v), want 1", tc.step, ok, st)
			}
			if r := br.get("/api/v1/completion"); r.str("next_step") != string(tc.next) {
				t.Fatalf("after parallel %s: %s, want next_step %s", tc.step, r.Raw, tc.next)
			}
		})
	}

	t.Run("face in two sessions", func(t *testing.T) {
		t.Parallel()
		c := b.fused(t, "王三", "13912340013")
		sessions := [2]*browser{b.browser(t), b.browser(t)}
		var challenges [2]string
		for i, br := range sessions {
			if i == 1 {
				b.clock.Advance(61 * time.Second)
			}
			br.smsLogin(c)
			pw := fmt.Sprintf("K9#vTq2!m%c", 'a'+i)
			br.post("/api/v1/completion/info", map[string]string{"address": fmt.Sprintf("海口市%d号", i)})
			if r := br.post("/api/v1/completion/password", map[string]string{"password": pw, "confirm": pw}); r.Status != http.StatusOK {
				t.Fatalf("session %d step ②: %d %s", i, r.Status, r.Raw)
			}
			r := br.post("/api/v1/completion/face", nil)
			challenges[i] = r.str("challenge")
			if st, err := b.svc.SimulateFace(context.Background(), challenges[i], c.IDNumber, FacePass); err != nil || st != http.StatusOK {
				t.Fatalf("session %d face: %d %v", i, st, err)
			}
		}
		var wg sync.WaitGroup
		var results [2]response
		for i, br := range sessions {
			wg.Go(func() { results[i] = br.get("/api/v1/completion/face/" + challenges[i]) })
		}
		wg.Wait()
		won := -1
		for i, r := range results {
			if r.Status == http.StatusOK && r.str("status") == "used" {
				if won >= 0 {
					t.Fatalf("both sessions completed: %s / %s", results[0].Raw, results[1].Raw)
				}
				won = i
			}
		}
		if won < 0 {
			t.Fatalf("no session completed: %d %s / %d %s", results[0].Status, results[0].Raw, results[1].Status, results[1].Raw)
		}
		if got, want := b.accountRow(t, c).Address, fmt.Sprintf("海口市%d号", won); got != want {
			t.Errorf("address %q, want the winner's %q", got, want)
		}
		for i := range sessions {
			pw := fmt.Sprintf("K9#vTq2!m%c", 'a'+i)
			want := http.StatusUnauthorized
			if i == won {
				want = http.StatusOK
			}
			if r := b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": c.IDNumber, "password": pw}); r.Status != want {
				t.Errorf("session %d's password: %d, want %d", i, r.Status, want)
			}
		}
	})
}

// TestActivateOnlyAtFace: activation applies a flow only once ③ is its
// last step left, whatever its caller checked before.
func TestActivateOnlyAtFace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "冯一", "13912340021")
	br := b.browser(t)
	br.smsLogin(c)
	sess := &session{hash: hashToken(br.cookie()), accountID: c.id, kind: kindRestricted}
	err := database.Transact(context.Background(), b.pool, func(tx pgx.Tx) error { return b.svc.activate(context.Background(), tx, sess) })
	var se *StepError
	if !errors.As(err, &se) || se.Next != schemas.StepInfo {
		t.Fatalf("activate at step ①: %v, want a StepError naming info", err)
	}
	if got := b.accountRow(t, c).Status; got != "pending_completion" {
		t.Errorf("status %q after activate at ①, want pending_completion", got)
	}
}

// TestCompletionStepsTable: the table the pages and redirects derive from
// has every step of a fused account, in order, each with a page that
// exists.
func TestCompletionStepsTable(t *testing.T) {
	t.Parallel()
	pg, err := loadPages()
	if err != nil {
		t.Fatal(err)
	}
	var steps []schemas.Step
	for i, c := range completionSteps {
		steps = append(steps, c.step)
		if c.number != i+1 || pg.t[c.template] == nil || stepOf(c.step) != c {
			t.Errorf("step %s: number %d, template %q (loaded: %v)", c.step, c.number, c.template, pg.t[c.template] != nil)
		}
	}
	if diff := cmp.Diff(schemas.FusedAccountSteps, steps); diff != "" {
		t.Errorf("steps mismatch (-want +got):\n%s", diff)
	}
	if got := stepOf(""); got != stepDone || got.path != "/center" {
		t.Errorf("stepOf(\"\") = %+v, want the personal center", got)
	}
}
