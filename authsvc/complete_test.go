package authsvc

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

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
