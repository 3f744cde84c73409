package authsvc

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// heldHashes holds the hashes compared with one account's password: each
// one reports on arrived and waits until release is called (which lets
// every later one through at once).
type heldHashes struct {
	arrived chan struct{}
	release func()
}

// holdHashes holds the comparisons with c's stored hash from now on.
func (b *testBundle) holdHashes(t testing.TB, c citizen) *heldHashes {
	t.Helper()
	var phc string
	if err := b.pool.QueryRow(context.Background(), `SELECT password_hash FROM account WHERE id = $1`, c.id).Scan(&phc); err != nil {
		t.Fatal(err)
	}
	_, salt, _, err := parsePHC(phc)
	if err != nil {
		t.Fatal(err)
	}
	h := &heldHashes{arrived: make(chan struct{}, 1000)}
	gate := make(chan struct{})
	h.release = sync.OnceFunc(func() { close(gate) })
	t.Cleanup(h.release)
	idKey := b.svc.hasher.idKey
	b.svc.hasher.idKey = func(password, s []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		if bytes.Equal(s, salt) {
			h.arrived <- struct{}{}
			<-gate
		}
		return idKey(password, s, time, memory, threads, keyLen)
	}
	return h
}

// wait waits for n held hashes to arrive.
func (h *heldHashes) wait(t testing.TB, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-h.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d hashes arrived", i, n)
		}
	}
}

// passwordState is the password's counters of an account and its
// audited password failures.
type passwordState struct {
	Failures, Tries, Locks int
	Locked                 bool
	AuditedFailures        int
}

func (b *testBundle) passwordState(t testing.TB, c citizen) passwordState {
	t.Helper()
	var s passwordState
	if err := b.pool.QueryRow(context.Background(), `SELECT password_failures, password_tries, password_locks, password_locked_until IS NOT NULL,
		(SELECT count(*) FROM auth_audit WHERE account_id = $1 AND event = 'login_password' AND outcome = 'fail' AND detail = 'wrong password')
		FROM account WHERE id = $1`, c.id).Scan(&s.Failures, &s.Tries, &s.Locks, &s.Locked, &s.AuditedFailures); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestParallelRightPasswordsNeverLock: more simultaneous logins of one
// account with its right password than the lock allows failures (a
// double click, an app retrying) all succeed, and count nothing: the
// ones beyond the places wait for a place instead of being refused.
func TestParallelRightPasswordsNeverLock(t *testing.T) {
	t.Parallel()
	const n = 12
	b := setup(t, func(c *Config) { c.HashConcurrency = n })
	c := b.active(t, "朱六", "13912340441", goodPassword)
	held := b.holdHashes(t, c)
	replies := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { replies[i] = b.browser(t).passwordLogin(c, goodPassword) })
	}
	// Every place is taken by a try in flight; the others wait.
	held.wait(t, b.svc.cfg.MaxFailures)
	if got := b.passwordState(t, c); got.Tries != b.svc.cfg.MaxFailures || got.Failures != 0 {
		t.Errorf("with %d tries held: %+v, want %d tries in flight and no failure", b.svc.cfg.MaxFailures, got, b.svc.cfg.MaxFailures)
	}
	held.release()
	wg.Wait()
	for i, r := range replies {
		if r.Status != http.StatusOK {
			t.Errorf("login %d of %d with the right password: %d %s, want 200", i, n, r.Status, r.Raw)
		}
	}
	if got, want := b.passwordState(t, c), (passwordState{}); got != want {
		t.Errorf("after %d right passwords at once: %+v, want %+v", n, got, want)
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE account_id = $1 AND event = 'login_password' AND outcome = 'ok'`, c.id); got != n {
		t.Errorf("%d logins audited ok, want %d", got, n)
	}
}

// TestTryWaitEnds: a try that finds every place taken for longer than
// TryWait is refused with 503 and Retry-After, audited, and counted as no
// failure.
func TestTryWaitEnds(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.HashConcurrency = 8; c.TryWait = 50 * time.Millisecond })
	c := b.active(t, "朱七", "13912340451", goodPassword)
	held := b.holdHashes(t, c)
	var wg sync.WaitGroup
	for range b.svc.cfg.MaxFailures {
		wg.Go(func() { b.browser(t).passwordLogin(c, goodPassword) })
	}
	held.wait(t, b.svc.cfg.MaxFailures)
	r := b.browser(t).passwordLogin(c, goodPassword)
	if r.Status != http.StatusServiceUnavailable || r.str("error") != "overloaded" || r.Header.Get("Retry-After") == "" {
		t.Errorf("a try with every place taken: %d Retry-After %q %s, want 503 overloaded with Retry-After", r.Status, r.Header.Get("Retry-After"), r.Raw)
	}
	held.release()
	wg.Wait()
	if got := b.passwordState(t, c); got.Failures != 0 || got.Tries != 0 {
		t.Errorf("after the refused try: %+v, want no failure and no place held", got)
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE account_id = $1 AND event = 'login_password' AND outcome = 'refused' AND detail = 'tries in flight'`, c.id); got != 1 {
		t.Errorf("%d refusals audited, want 1", got)
	}
}

// TestCutMidLoginCountsAgree: a login whose outcome is cut by the
// database (its backend terminated while it waits for the account's row,
// after its audit row is written) leaves each factor's count and the
// audit in agreement, and a password try's place free: whatever happened
// is recorded whole or not at all.
func TestCutMidLoginCountsAgree(t *testing.T) {
	t.Parallel()
	// A login is prepared (a code sent, the hash held), then started, and
	// the row locked once it can no longer stop the login before its
	// outcome (a password try's claim writes the row): locked is called
	// with the lock taken.
	type login func(b *testBundle, br *browser, c citizen) (start func() response, locked func())
	password := func(pw string) login {
		return func(b *testBundle, br *browser, c citizen) (func() response, func()) {
			held := b.holdHashes(t, c)
			return func() response { return br.passwordLogin(c, pw) }, func() { held.release() }
		}
	}
	wrongSMSCode := func(b *testBundle, br *browser, c citizen) (func() response, func()) {
		if r := br.sendCode(c.IDNumber, c.Phone); r.Status != http.StatusAccepted {
			br.t.Fatalf("send code: %d %s", r.Status, r.Raw)
		}
		code := wrongCode(br.b.lastCodeTo(br.t, c.Phone))
		return func() response { return br.codeLogin(c, code) }, func() {}
	}
	wrongOldPassword := func(b *testBundle, br *browser, c citizen) (func() response, func()) {
		br.signIn(c, goodPassword)
		held := b.holdHashes(t, c)
		return func() response {
			return br.post("/api/v1/settings/password", map[string]string{"old_password": "Wrong#Pass1", "password": "Zq7$wLp4!x", "confirm": "Zq7$wLp4!x"})
		}, func() { held.release() }
	}
	for _, tt := range []struct {
		name  string
		login login
		// counted and audited are the factor's count and its audited
		// failures.
		counted, audited string
	}{
		{"right password", password(goodPassword), `password_failures`, `event = 'login_password' AND outcome = 'fail'`},
		{"wrong password", password("Wrong#Pass1"), `password_failures`, `event = 'login_password' AND outcome = 'fail'`},
		{"wrong SMS code", wrongSMSCode, `failed_attempts`, `event = 'login_sms' AND outcome = 'fail'`},
		{"wrong old password in the center", wrongOldPassword, `password_failures`, `event = 'settings_password' AND outcome = 'fail'`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.active(t, "朱八", "13912340461", goodPassword)
			ctx := context.Background()
			start, locked := tt.login(b, b.browser(t), c)
			locker, err := b.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer locker.Rollback(ctx)
			lock := func() {
				if _, err := locker.Exec(ctx, `SELECT 1 FROM account WHERE id = $1 FOR UPDATE`, c.id); err != nil {
					t.Fatal(err)
				}
				locked()
			}
			reply := make(chan response, 1)
			if strings.Contains(tt.name, "password") {
				// A password try claims its place (writing the row) before
				// its hash, which is held: the row is locked after the claim.
				go func() { reply <- start() }()
				for deadline := time.Now().Add(10 * time.Second); b.passwordState(t, c).Tries != 1; {
					if time.Now().After(deadline) {
						t.Fatal("the try was never claimed")
					}
					time.Sleep(10 * time.Millisecond)
				}
				lock()
			} else {
				// A code login writes the row only with its outcome: the row
				// is locked before it starts.
				lock()
				go func() { reply <- start() }()
			}
			var pid int
			for deadline := time.Now().Add(10 * time.Second); ; {
				err := b.pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`).Scan(&pid)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the login's outcome never waited for the account: %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if _, err := b.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
				t.Fatal(err)
			}
			if err := locker.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			if r := <-reply; r.Status == http.StatusOK || r.Status == http.StatusUnauthorized {
				t.Errorf("a login cut in the database: %d %s, want an error", r.Status, r.Raw)
			}
			counted := b.count(t, `SELECT `+tt.counted+` FROM account WHERE id = $1`, c.id)
			audited := b.count(t, `SELECT count(*) FROM auth_audit WHERE account_id = $1 AND `+tt.audited, c.id)
			if counted != audited {
				t.Errorf("after the cut: %s = %d, %d failures audited; want them equal", tt.counted, counted, audited)
			}
			if got := b.passwordState(t, c); got.Tries != 0 {
				t.Errorf("after the cut: %+v, want no place held", got)
			}
			if r := b.browser(t).passwordLogin(c, goodPassword); r.Status != http.StatusOK {
				t.Errorf("control, a login after the cut: %d %s", r.Status, r.Raw)
			}
		})
	}
}

// TestHashQueueSheds: when the hash queue holds what the hasher serves
// within its target, a further password login is refused at once (no
// account looked up, no try claimed) with 503 and Retry-After, a friendly
// page for a page; once the queue has room, logins are served again.
func TestHashQueueSheds(t *testing.T) {
	t.Parallel()
	// One slot and a target a hash cannot meet: one login in the queue.
	b := setup(t, func(c *Config) { c.HashConcurrency = 1; c.HashLatency = time.Nanosecond })
	c := b.active(t, "朱九", "13912340471", goodPassword)
	held := b.holdHashes(t, c)
	first := make(chan response, 1)
	go func() { first <- b.browser(t).passwordLogin(c, goodPassword) }()
	held.wait(t, 1)

	r := b.browser(t).passwordLogin(c, goodPassword)
	if r.Status != http.StatusServiceUnavailable || r.str("error") != "overloaded" {
		t.Errorf("API login with the queue full: %d %s, want 503 overloaded", r.Status, r.Raw)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("API login with the queue full: Retry-After %q, want whole seconds ≥ 1", r.Header.Get("Retry-After"))
	}
	page := b.browser(t).form("/login/password", url.Values{"id_number": {c.IDNumber}, "password": {goodPassword}})
	if page.Status != http.StatusServiceUnavailable || !strings.Contains(page.Raw, "当前登录人数较多，请稍后再试") || page.Header.Get("Retry-After") == "" {
		t.Errorf("page login with the queue full: %d Retry-After %q, want 503 with the message and Retry-After:\n%s", page.Status, page.Header.Get("Retry-After"), page.Raw)
	}
	if got := b.passwordState(t, c); got.Tries != 1 {
		t.Errorf("the refused logins claimed tries: %+v, want the one in flight only", got)
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE account_id = $1`, c.id); got != 0 {
		t.Errorf("%d audit rows before any outcome, want 0 (a refused request checks no credential)", got)
	}

	held.release()
	if r := <-first; r.Status != http.StatusOK {
		t.Errorf("the login in the queue: %d %s, want 200", r.Status, r.Raw)
	}
	if r := b.browser(t).passwordLogin(c, goodPassword); r.Status != http.StatusOK {
		t.Errorf("a login once the queue has room: %d %s, want 200", r.Status, r.Raw)
	}
}

// TestDrain: a drain (the start of a shutdown) refuses new password
// logins with 503 at once. The logins waiting for a hash are served when
// their hashes can run before the drain's deadline, and refused with 503
// at it if not; the hash running finishes and its login succeeds. No try
// stays counted or held.
func TestDrain(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		by   time.Duration // the deadline, from the drain
		// queued and nobody are the answers of the queued logins, of the
		// account and of an ID number without one.
		queued, nobody int
	}{
		{"deadline passed", 0, http.StatusServiceUnavailable, http.StatusServiceUnavailable},
		{"time to serve", time.Hour, http.StatusOK, http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const queued = 3
			b := setup(t, func(c *Config) { c.HashConcurrency = 1; c.HashLatency = time.Hour })
			c := b.active(t, "朱十", "13912340481", goodPassword)
			held := b.holdHashes(t, c)
			running := make(chan response, 1)
			go func() { running <- b.browser(t).passwordLogin(c, goodPassword) }()
			held.wait(t, 1)
			waiting := make(chan response, queued+1)
			for range queued {
				go func() { waiting <- b.browser(t).passwordLogin(c, goodPassword) }()
			}
			// A login for an ID number without an account waits for the
			// slot too (its dummy hash), and must get the same answer: else
			// the answer would tell which accounts exist.
			nobody := make(chan response, 1)
			go func() {
				nobody <- b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": residentID("19700101"), "password": goodPassword})
			}()
			for deadline := time.Now().Add(10 * time.Second); b.svc.hasher.waitingForSlot() < queued+1; {
				if time.Now().After(deadline) {
					t.Fatalf("%d hashes wait for the slot, want %d", b.svc.hasher.waitingForSlot(), queued+1)
				}
				time.Sleep(10 * time.Millisecond)
			}

			b.svc.Drain(time.Now().Add(tt.by))
			if r := b.browser(t).passwordLogin(c, goodPassword); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "5" || !strings.Contains(r.Raw, "服务正在维护重启") {
				t.Errorf("a new login after the drain: %d Retry-After %q %s, want 503, 5 s", r.Status, r.Header.Get("Retry-After"), r.Raw)
			}
			if r := b.browser(t).get("/readyz"); r.Status != http.StatusServiceUnavailable {
				t.Errorf("readyz after the drain: %d %s, want 503", r.Status, r.Raw)
			}
			if tt.by == 0 {
				// Refused at the deadline, while the running hash holds the
				// slot.
				for i := range queued + 1 {
					var r response
					if i < queued {
						r = <-waiting
					} else {
						r = <-nobody
					}
					if r.Status != tt.queued || r.Header.Get("Retry-After") != "5" || !strings.Contains(r.Raw, "服务正在维护重启") {
						t.Errorf("queued login %d at the deadline: %d Retry-After %q %s, want %d, 5 s", i, r.Status, r.Header.Get("Retry-After"), r.Raw, tt.queued)
					}
				}
			}
			held.release()
			if r := <-running; r.Status != http.StatusOK {
				t.Errorf("the login whose hash was running: %d %s, want 200", r.Status, r.Raw)
			}
			if tt.by != 0 {
				for i := range queued {
					if r := <-waiting; r.Status != tt.queued {
						t.Errorf("queued login %d served before the deadline: %d %s, want %d", i, r.Status, r.Raw, tt.queued)
					}
				}
				if r := <-nobody; r.Status != tt.nobody {
					t.Errorf("queued login without an account: %d %s, want %d", r.Status, r.Raw, tt.nobody)
				}
			}
			if got, want := b.passwordState(t, c), (passwordState{}); got != want {
				t.Errorf("after the drain: %+v, want %+v", got, want)
			}
		})
	}
}

// TestLoginByUsername: the account of a password login is its ID number
// or its username (any case); a username-shaped string that is nobody's
// username is taken as an ID number, with the same answer as any unknown
// account; a wrong password by username counts against the account.
func TestLoginByUsername(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "朱十一", "13912340491", goodPassword)
	b.setUsername(t, c.id, "Zhu_Shiyi")
	login := func(account, password string) response {
		return b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": account, "password": password})
	}
	for _, name := range []string{"Zhu_Shiyi", "zhu_shiyi", " ZHU_SHIYI "} {
		if r := login(name, goodPassword); r.Status != http.StatusOK {
			t.Errorf("login by username %q: %d %s, want 200", name, r.Status, r.Raw)
		}
	}
	if r := login(c.IDNumber, goodPassword); r.Status != http.StatusOK {
		t.Errorf("login by ID number: %d %s, want 200", r.Status, r.Raw)
	}
	if diff := cmp.Diff(loginFailed, replyOf(login("Zhu_Shiyi", "Wrong#Pass1"))); diff != "" {
		t.Errorf("wrong password by username (-want +got):\n%s", diff)
	}
	if got := b.passwordState(t, c); got.Failures != 1 || got.AuditedFailures != 1 {
		t.Errorf("after a wrong password by username: %+v, want one failure counted and audited", got)
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE account_id = $1 AND subject = 'Zh****'`, c.id); got != 1 {
		t.Errorf("%d audit rows with the masked username, want 1", got)
	}
	if diff := cmp.Diff(loginFailed, replyOf(login("Nobody_Here", goodPassword))); diff != "" {
		t.Errorf("an unknown username (-want +got):\n%s", diff)
	}
}
