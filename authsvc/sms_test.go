package authsvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCodeGuessesInParallel: guesses sent all at once get no more tries
// than guesses sent one by one: after 20 parallel wrong codes the code
// had exactly CodeTries comparisons and the right code is refused.
func TestCodeGuessesInParallel(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.MaxFailures = 1000 })
	c := b.fused(t, "周七", "13512345678")
	br := b.browser(t)
	if r := br.post("/api/v1/login/sms/send", map[string]string{"id_number": c.IDNumber, "phone": c.Phone}); r.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.Status, r.Raw)
	}
	right := b.lastCode(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wrong := fmt.Sprintf("%06d", (atoi(right)+1+i)%1_000_000)
		wg.Go(func() {
			if err := b.svc.checkCode(context.Background(), c.id, c.Phone, purposeLogin, wrong); err != errCodeWrong {
				t.Errorf("wrong code %s: %v", wrong, err)
			}
		})
	}
	wg.Wait()
	var attempts int
	if err := b.pool.QueryRow(context.Background(), `SELECT attempts FROM sms_code ORDER BY id DESC LIMIT 1`).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if attempts != b.svc.cfg.CodeTries {
		t.Errorf("the code was compared %d times, want %d", attempts, b.svc.cfg.CodeTries)
	}
	if err := b.svc.checkCode(context.Background(), c.id, c.Phone, purposeLogin, right); err != errCodeWrong {
		t.Errorf("the right code after the tries ran out: %v, want refused", err)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestUnsentCodeDoesNotVoidSentOne: someone who knows a phone but not the
// ID number asks for a code to it: nothing is sent, and the code the
// citizen did get keeps working.
func TestUnsentCodeDoesNotVoidSentOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "吴八", "13512340000")
	br := b.browser(t)
	if r := br.post("/api/v1/login/sms/send", map[string]string{"id_number": c.IDNumber, "phone": c.Phone}); r.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.Status, r.Raw)
	}
	code := b.lastCode(t)
	b.clock.Advance(61 * time.Second)
	other := residentID("19700101")
	if r := b.browser(t).postSolving("/api/v1/login/sms/send", map[string]string{"id_number": other, "phone": c.Phone}); r.Status != http.StatusAccepted {
		t.Fatalf("stranger's send: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/login/sms", map[string]string{"id_number": c.IDNumber, "phone": c.Phone, "code": code}); r.Status != http.StatusOK {
		t.Fatalf("the citizen's code after a stranger's request: %d %s", r.Status, r.Raw)
	}
}

// TestLockedAccountCannotComplete: failed checks lock the account for the
// completion steps too, not only for logins.
func TestLockedAccountCannotComplete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "郑九", "13512341111")
	br := b.browser(t)
	if r := br.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	for range b.svc.cfg.MaxFailures {
		if err := b.svc.failed(context.Background(), c.id, auditEvent{event: "test", outcome: "fail", account: c.id}); err != nil {
			t.Fatal(err)
		}
	}
	if r := br.post("/api/v1/completion/info", map[string]string{"address": "海口市"}); r.Status != http.StatusLocked {
		t.Fatalf("info step while locked: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(b.svc.cfg.LockFor)
	if r := br.post("/api/v1/completion/info", map[string]string{"address": "海口市"}); r.Status != http.StatusOK {
		t.Fatalf("info step after the lock: %d %s", r.Status, r.Raw)
	}
}

// TestCodeBelongsToAccountAndPhone: a code and its tries belong to the
// account and the phone it was sent for. Codes typed with the owner's
// phone and another ID number (another account's, one with the same
// phone, one without an account), or with the owner's ID number and
// another phone, neither use nor spend the owner's code, nor count
// against the owner; they get the answer of a wrong code.
func TestCodeBelongsToAccountAndPhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// as is the ID number and phone the other person types.
		as func(t *testing.T, b *testBundle, owner citizen) (idNumber, phone string)
	}{
		{"another account's ID number", func(t *testing.T, b *testBundle, owner citizen) (string, string) {
			return b.active(t, "褚二", "13912340702", goodPassword).IDNumber, owner.Phone
		}},
		{"another account with the same phone", func(t *testing.T, b *testBundle, owner citizen) (string, string) {
			return b.active(t, "褚三", owner.Phone, goodPassword).IDNumber, owner.Phone
		}},
		{"an ID number without an account", func(_ *testing.T, _ *testBundle, owner citizen) (string, string) {
			return residentID("19700101"), owner.Phone
		}},
		{"the owner's ID number, another phone", func(_ *testing.T, _ *testBundle, owner citizen) (string, string) {
			return owner.IDNumber, "13912340709"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			owner := b.active(t, "褚一", "13912340701", goodPassword)
			idNumber, phone := tt.as(t, b, owner)
			br := b.browser(t)
			code := sentCode(t, b, br, owner)
			other := b.browser(t)
			// As many wrong codes as a code survives, then the right one.
			for _, typed := range append(slices.Repeat([]string{wrongCode(code)}, b.svc.cfg.CodeTries), code) {
				refused(t, "code typed by the other", other.post("/api/v1/login/sms", map[string]string{"id_number": idNumber, "phone": phone, "code": typed}))
			}
			if n := b.count(t, `SELECT failed_attempts FROM account WHERE id = $1`, owner.id); n != 0 {
				t.Errorf("the other's codes counted %d failures against the owner, want 0", n)
			}
			signedIn(t, "the owner's code after the other's", br.codeLogin(owner, code))
		})
	}
}

// TestWrongCodesCountAgainstOwner: wrong codes typed with the owner's ID
// number and phone spend the code's tries (TestCodeSingleUse) and count
// against the account, the last refused right code too.
func TestWrongCodesCountAgainstOwner(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.MaxFailures = 100 }) // no lock: the counts are read
	c := b.active(t, "褚四", "13912340711", goodPassword)
	br := b.browser(t)
	code := sentCode(t, b, br, c)
	for _, typed := range append(slices.Repeat([]string{wrongCode(code)}, b.svc.cfg.CodeTries), code) {
		refused(t, "code typed by the owner", br.codeLogin(c, typed))
	}
	got := [2]int{
		b.count(t, `SELECT attempts FROM sms_code WHERE account_id = $1`, c.id),
		b.count(t, `SELECT failed_attempts FROM account WHERE id = $1`, c.id),
	}
	if diff := cmp.Diff([2]int{b.svc.cfg.CodeTries, b.svc.cfg.CodeTries + 1}, got); diff != "" {
		t.Errorf("[code tries, account failures]: mismatch (-want +got):\n%s", diff)
	}
}

// failingSMS is a gateway that is down.
type failingSMS struct{}

func (failingSMS) Send(context.Context, string, string) error { return errors.New("gateway down") }

// TestSendFailureAudited: a send the gateway fails is audited as an error,
// not as a limit, so operators can tell an outage from abuse.
func TestSendFailureAudited(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.SMS = failingSMS{} })
	c := b.fused(t, "陈一", "13912340031")
	if r := b.browser(t).post("/api/v1/login/sms/send", map[string]string{"id_number": c.IDNumber, "phone": c.Phone}); r.Status != http.StatusInternalServerError {
		t.Fatalf("send through a failing gateway: %d %s, want 500", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'sms_send_login' AND outcome = 'error'`); n != 1 {
		t.Errorf("%d sends audited as errors, want 1", n)
	}
}
