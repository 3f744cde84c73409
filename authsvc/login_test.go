package authsvc

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/schemas"
)

// The lockout of the login methods: the password's escalating lock of its
// own, and the count of SMS codes and faces.

// compared is how many wrong passwords were compared with the account's
// hash: each is audited so, and a guess refused by a lock is not.
func (b *testBundle) compared(t testing.TB, c citizen) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM auth_audit WHERE account_id = $1 AND event = 'login_password' AND detail = 'wrong password'`, c.id)
}

// refused checks that r is the one answer of a refused login.
func refused(t testing.TB, what string, r response) {
	t.Helper()
	if diff := cmp.Diff(loginFailed, replyOf(r)); diff != "" {
		t.Errorf("%s: mismatch (-want +got):\n%s", what, diff)
	}
}

// signedIn checks that r is a passed login.
func signedIn(t testing.TB, what string, r response) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Errorf("%s: %d %s, want 200", what, r.Status, r.Raw)
	}
}

// sentCode has a login code sent to c's phone on record and returns it.
func sentCode(t testing.TB, b *testBundle, br *browser, c citizen) string {
	t.Helper()
	if r := br.sendCode(c.IDNumber, c.Phone); r.Status != http.StatusAccepted {
		t.Fatalf("send code: %d %s", r.Status, r.Raw)
	}
	return b.lastCode(t)
}

func wrongPassword(t testing.TB, br *browser, c citizen) {
	t.Helper()
	refused(t, "wrong password", br.passwordLogin(c, "Wrong#Pass9"))
}

// wrongSMS has a code sent to the phone on record and types a wrong one.
func wrongSMS(t testing.TB, b *testBundle, br *browser, c citizen) {
	t.Helper()
	code := sentCode(t, b, br, c)
	b.clock.Advance(61 * time.Second) // the next send is allowed
	refused(t, "wrong code", br.codeLogin(c, wrongCode(code)))
}

// wrongFace is a face login the provider fails.
func wrongFace(t testing.TB, b *testBundle, br *browser, c citizen) {
	t.Helper()
	ch := br.startFace(c.IDNumber)
	if r := b.callback(t, faceBody(t, b.faceKey, ch, c.IDNumber, FaceFail, b.clock.Now())); r.Status != http.StatusForbidden {
		t.Errorf("failed face: %d %s, want 403", r.Status, r.Raw)
	}
}

// passedFace is a face login the provider passes, as the browser's poll
// answers it.
func passedFace(t testing.TB, b *testBundle, br *browser, c citizen) response {
	t.Helper()
	ch := br.startFace(c.IDNumber)
	if r := b.callback(t, faceBody(t, b.faceKey, ch, c.IDNumber, FacePass, b.clock.Now())); r.Status != http.StatusOK {
		t.Fatalf("face callback: %d %s, want 200", r.Status, r.Raw)
	}
	return br.get("/api/v1/login/face/" + ch)
}

// TestPasswordLockEscalates: each password lock in a row lasts twice the
// one before, from LockFor up to PasswordLockMax. A lock refuses even the
// right password until its last second; the guesses after it are
// compared again. A successful password login starts over at LockFor.
func TestPasswordLockEscalates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		mod   func(*Config)
		locks []time.Duration
	}{
		{"defaults", func(*Config) {},
			[]time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 16 * time.Hour, 24 * time.Hour, 24 * time.Hour}},
		{"configured", func(c *Config) { c.LockFor, c.PasswordLockMax = 10*time.Minute, 25*time.Minute },
			[]time.Duration{10 * time.Minute, 20 * time.Minute, 25 * time.Minute, 25 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.mod)
			c := b.active(t, "冯一", "13912340501", goodPassword)
			br := b.browser(t)
			for i, lock := range tt.locks {
				for range b.svc.cfg.MaxFailures {
					wrongPassword(t, br, c)
				}
				if got, want := b.compared(t, c), (i+1)*b.svc.cfg.MaxFailures; got != want {
					t.Fatalf("lock %d: %d wrong passwords compared, want %d (the lock before lasted too long)", i+1, got, want)
				}
				b.clock.Advance(lock - time.Second)
				refused(t, fmt.Sprintf("right password a second before lock %d (%s) ends", i+1, lock), br.passwordLogin(c, goodPassword))
				b.clock.Advance(time.Second)
			}
			signedIn(t, "right password after the last lock", br.passwordLogin(c, goodPassword))
			// The success cleared the level: the next lock is the first.
			for range b.svc.cfg.MaxFailures {
				wrongPassword(t, br, c)
			}
			b.clock.Advance(tt.locks[0])
			signedIn(t, "right password a first lock after a success", br.passwordLogin(c, goodPassword))
		})
	}
}

// TestPasswordGuessesPerDay: someone guessing a password as fast as the
// locks let (every 15 minutes, each time until a guess is no longer
// compared) gets 35 guesses compared in the first day and 5 in each day
// after, with the defaults; one lock of 15 minutes after every 5 allowed
// 480 a day.
func TestPasswordGuessesPerDay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "冯二", "13912340502", goodPassword)
	br := b.browser(t)
	var perDay []int
	for range 5 {
		before := b.compared(t, c)
		for range 24 * 4 {
			// The guesser cannot tell a compared guess from a refused one
			// (the same answer); the test can, and stops at the first
			// refused, the guesser's best.
			for guesses := 0; ; guesses++ {
				if guesses > 100 {
					t.Fatalf("more than 100 wrong passwords compared at once")
				}
				n := b.compared(t, c)
				wrongPassword(t, br, c)
				if b.compared(t, c) == n {
					break
				}
			}
			b.clock.Advance(15 * time.Minute)
		}
		perDay = append(perDay, b.compared(t, c)-before)
	}
	if diff := cmp.Diff([]int{35, 5, 5, 5, 5}, perDay); diff != "" {
		t.Errorf("wrong passwords compared per day: mismatch (-want +got):\n%s", diff)
	}
}

// TestOwnerGetsInWhilePasswordLocked: someone guessing the password locks
// the password only: the owner still logs in with an SMS code or the face.
// That login does not lift the password's lock or lower its level (the
// guesser may still be at it): the password opens when the lock ends, and
// the next lock is longer still.
func TestOwnerGetsInWhilePasswordLocked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		login func(t testing.TB, b *testBundle, br *browser, c citizen) response
	}{
		{"sms code", func(_ testing.TB, _ *testBundle, br *browser, c citizen) response { return br.smsLogin(c) }},
		{"face", passedFace},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.active(t, "冯三", fmt.Sprintf("1391234051%d", i), goodPassword)
			guesser := b.browser(t)
			guess := func() {
				for range b.svc.cfg.MaxFailures {
					wrongPassword(t, guesser, c)
				}
			}
			// Three locks in a row; the third (1 h) runs.
			guess()
			b.clock.Advance(15 * time.Minute)
			guess()
			b.clock.Advance(30 * time.Minute)
			guess()
			owner := b.browser(t)
			signedIn(t, "owner's login while the password is locked", tt.login(t, b, owner, c))
			signedIn(t, "owner's session", owner.get("/api/v1/me"))
			b.clock.Advance(time.Hour - time.Second)
			refused(t, "right password a second before the lock ends", b.browser(t).passwordLogin(c, goodPassword))
			b.clock.Advance(time.Second)
			// The level stayed: the fourth lock lasts 2 h.
			guess()
			b.clock.Advance(2*time.Hour - time.Second)
			refused(t, "right password a second before the fourth lock (2 h) ends", b.browser(t).passwordLogin(c, goodPassword))
			b.clock.Advance(time.Second)
			signedIn(t, "right password after the fourth lock", b.browser(t).passwordLogin(c, goodPassword))
		})
	}
}

// TestOperatorLockStopsEveryMethod: an account the operators locked or
// disabled logs in by no method, with the answer of a wrong credential,
// even when the factor was proved before the status changed.
func TestOperatorLockStopsEveryMethod(t *testing.T) {
	t.Parallel()
	// A method begins (a code sent, a face approved) and returns how to
	// finish the login.
	methods := []struct {
		name  string
		begin func(t testing.TB, b *testBundle, br *browser, c citizen) func() response
	}{
		{"password", func(_ testing.TB, _ *testBundle, br *browser, c citizen) func() response {
			return func() response { return br.passwordLogin(c, goodPassword) }
		}},
		{"sms code", func(t testing.TB, b *testBundle, br *browser, c citizen) func() response {
			code := sentCode(t, b, br, c)
			return func() response { return br.codeLogin(c, code) }
		}},
		{"face", func(t testing.TB, b *testBundle, br *browser, c citizen) func() response {
			ch := br.startFace(c.IDNumber)
			if r := b.callback(t, faceBody(t, b.faceKey, ch, c.IDNumber, FacePass, b.clock.Now())); r.Status != http.StatusOK {
				t.Fatalf("face callback: %d %s, want 200", r.Status, r.Raw)
			}
			return func() response { return br.get("/api/v1/login/face/" + ch) }
		}},
	}
	b := setup(t)
	for i, status := range []schemas.AccountStatus{schemas.StatusActive, schemas.StatusLocked, schemas.StatusDisabled} {
		for j, m := range methods {
			t.Run(string(status)+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				c := b.active(t, "冯四", fmt.Sprintf("139123406%d%d", i, j), goodPassword)
				br := b.browser(t)
				finish := m.begin(t, b, br, c)
				if _, err := b.pool.Exec(context.Background(), `UPDATE account SET status = $2 WHERE id = $1`, c.id, string(status)); err != nil {
					t.Fatal(err)
				}
				if status == schemas.StatusActive {
					signedIn(t, "control, active account", finish())
				} else {
					refused(t, "login", finish())
				}
			})
		}
	}
}

// TestLockout: the password and the other factors (SMS codes and faces,
// counted together) each have a count of failures in a row; the fifth
// locks that factor's logins only, and a success clears that factor's
// count only.
func TestLockout(t *testing.T) {
	t.Parallel()
	// fail runs each failure its number of times.
	fail := func(t *testing.T, b *testBundle, br *browser, c citizen, failures map[string]int) {
		t.Helper()
		for range failures["password"] {
			wrongPassword(t, br, c)
		}
		for range failures["code"] {
			wrongSMS(t, b, br, c)
		}
		for range failures["face"] {
			wrongFace(t, b, br, c)
		}
	}

	t.Run("wrong codes lock codes and faces, not the password", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.active(t, "王五", "13912340001", goodPassword)
		fail(t, b, b.browser(t), c, map[string]int{"code": 5})
		refused(t, "face after 5 wrong codes", passedFace(t, b, b.browser(t), c))
		signedIn(t, "right password after 5 wrong codes", b.browser(t).passwordLogin(c, goodPassword))
		b.clock.Advance(b.svc.cfg.LockFor)
		signedIn(t, "sms login after the lock", b.browser(t).smsLogin(c))
	})

	t.Run("codes and faces count together", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.active(t, "王五", "13912340002", goodPassword)
		fail(t, b, b.browser(t), c, map[string]int{"code": 2, "face": 2})
		signedIn(t, "control, face after 4 failures", passedFace(t, b, b.browser(t), c))
		fail(t, b, b.browser(t), c, map[string]int{"code": 2, "face": 3})
		refused(t, "face after 2 wrong codes and 3 failed faces", passedFace(t, b, b.browser(t), c))
	})

	t.Run("the lock refuses a code sent before it", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.active(t, "王五", "13912340005", goodPassword)
		br := b.browser(t)
		code := sentCode(t, b, br, c)
		fail(t, b, br, c, map[string]int{"face": 5})
		refused(t, "right code after 5 failed faces", br.codeLogin(c, code))
	})

	t.Run("a success clears its own factor's count", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.active(t, "王五", "13912340003", goodPassword)
		br := b.browser(t)
		for round := range 2 {
			fail(t, b, br, c, map[string]int{"password": 4, "code": 4})
			signedIn(t, fmt.Sprintf("round %d: right password after 4 wrong", round), br.passwordLogin(c, goodPassword))
			signedIn(t, fmt.Sprintf("round %d: sms login after 4 wrong codes", round), br.smsLogin(c))
			b.clock.Advance(61 * time.Second)
		}
	})

	t.Run("a code login leaves the password's count", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.active(t, "王五", "13912340004", goodPassword)
		br := b.browser(t)
		fail(t, b, br, c, map[string]int{"password": 4})
		signedIn(t, "sms login", br.smsLogin(c))
		fail(t, b, br, c, map[string]int{"password": 1}) // the fifth in a row
		refused(t, "right password after 4 wrong, a code login and 1 wrong", br.passwordLogin(c, goodPassword))
	})
}

// A face login goes where it was asked to go, also in a browser that has
// a session already (an earlier face login left an anonymous one): a
// business system's login by face ends at the business system.
func TestFaceLoginKeepsItsReturnTo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "王三三", "13912343301", goodPassword)
	br := b.browser(t)
	br.startFace(c.IDNumber) // abandoned: its anonymous session stays
	const returnTo = "/oidc/resume?id=abc"
	r := br.faceThrough("/api/v1/login/face", map[string]string{"id_number": c.IDNumber, "return_to": returnTo}, c)
	if r.Status != http.StatusOK || r.str("next") != returnTo {
		t.Errorf("face login: %d next %q, want %q", r.Status, r.str("next"), returnTo)
	}
}
