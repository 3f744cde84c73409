package authsvc

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/schemas"
)

// The lock of failed codes and faces stops step ③ also for a challenge
// started before the lock and approved during it: a face passed while the
// account is locked activates nothing, as in the face login.
func TestCompletionFaceRefusedWhileLocked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "韩三一", "13512343101")
	br := b.browser(t)
	if r := br.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	br.completeTo(c, schemas.StepFace)
	r := br.post("/api/v1/completion/face", nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("face start: %d %s", r.Status, r.Raw)
	}
	challenge := r.str("challenge")
	for range b.svc.cfg.MaxFailures {
		wrongFace(t, b, b.browser(t), c)
	}
	b.approveFace(t, challenge, c.IDNumber)
	if r := br.get("/api/v1/completion/face/" + challenge); r.Status != http.StatusLocked {
		t.Errorf("face step while locked: %d %s, want 423", r.Status, r.Raw)
	}
	if got := b.accountRow(t, c).Status; got != string(schemas.StatusPendingCompletion) {
		t.Fatalf("account %s after a face step during the lock, want it pending", got)
	}
	// Control: after the lock the approved face completes.
	b.clock.Advance(b.svc.cfg.LockFor)
	if r := br.get("/api/v1/completion/face/" + challenge); r.Status != http.StatusOK || r.str("status") != "used" {
		t.Errorf("face step after the lock: %d %s, want used", r.Status, r.Raw)
	}
	if got := b.accountRow(t, c).Status; got != string(schemas.StatusActive) {
		t.Errorf("account %s after the face step, want active", got)
	}
}

// A completion step refused by the lock is audited like a login the lock
// refuses: a code typed or asked for during the lock leaves a record.
func TestCompletionLockRefusalAudited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "韩三二", "13512343201")
	br := b.browser(t)
	if r := br.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	for range b.svc.cfg.MaxFailures {
		wrongFace(t, b, b.browser(t), c)
	}
	for _, tc := range []struct {
		path string
		body map[string]string
	}{
		{"/api/v1/completion/info/sms", map[string]string{"phone": "13512343202"}},
		{"/api/v1/completion/info", map[string]string{"phone": "13512343202", "code": "123456", "address": "海口市"}},
	} {
		if r := br.post(tc.path, tc.body); r.Status != http.StatusLocked {
			t.Errorf("%s while locked: %d %s, want 423", tc.path, r.Status, r.Raw)
		}
	}
	got := b.column(t, `SELECT event || ' ' || outcome FROM auth_audit WHERE account_id = $1 AND outcome = 'locked' ORDER BY id`, c.id)
	if diff := cmp.Diff([]string{"sms_send_verify locked", "step_info locked"}, got); diff != "" {
		t.Errorf("refusals audited (-want +got):\n%s", diff)
	}
}
