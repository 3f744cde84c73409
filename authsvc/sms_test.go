package authsvc

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
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
			if err := b.svc.checkCode(context.Background(), c.Phone, purposeLogin, wrong); err != errCodeWrong {
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
	if err := b.svc.checkCode(context.Background(), c.Phone, purposeLogin, right); err != errCodeWrong {
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
		if err := b.svc.failed(context.Background(), c.id); err != nil {
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
