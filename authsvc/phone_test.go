package authsvc

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/pii"
)

// TestPhoneChange: the change is refused without a fresh face (none, or
// older than 5 minutes), a phone bound to another account is refused,
// and with a fresh face the new phone proved by its code is bound: the
// old phone gets a notice, the other sessions end, this one stays, and
// the new phone logs in.
func TestPhoneChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "韩梅梅", "13907559071", "Old#pass123x")
	taken := b.active(t, "李雷", "13907550009", "Old#pass123x")
	if _, err := b.pool.Exec(context.Background(), `UPDATE account SET phone_verified = true WHERE id = $1`, taken.id); err != nil {
		t.Fatal(err)
	}
	const newPhone = "13800138000"
	br, other := b.browser(t), b.browser(t)
	for _, x := range []*browser{br, other} {
		if r := x.passwordLogin(c, "Old#pass123x"); r.Status != http.StatusOK {
			t.Fatalf("login: %d %s", r.Status, r.Raw)
		}
	}
	refused := func(what string, r response, code string) {
		t.Helper()
		if r.str("error") != code {
			t.Fatalf("%s: %d %s, want %s", what, r.Status, r.Raw, code)
		}
	}
	// No face: neither the send nor the change.
	refused("send without face", br.postSolving("/api/v1/settings/phone/sms", map[string]string{"phone": newPhone}), "face_required")
	refused("change without face", br.post("/api/v1/settings/phone", map[string]string{"phone": newPhone, "code": "123456"}), "face_required")
	// Another session's face does not open this one's change.
	if r := other.faceThrough("/api/v1/settings/phone/face", nil, c); r.Status != http.StatusOK || r.str("status") != "used" {
		t.Fatalf("other's face: %d %s", r.Status, r.Raw)
	}
	refused("send with another session's face", br.postSolving("/api/v1/settings/phone/sms", map[string]string{"phone": newPhone}), "face_required")
	// Someone else's face is refused.
	r := br.post("/api/v1/settings/phone/face", nil)
	if st, _ := b.svc.SimulateFace(context.Background(), r.str("challenge"), taken.IDNumber, FacePass); st == http.StatusOK {
		t.Fatal("another person's face approved")
	}
	// A stale face.
	if r := br.faceThrough("/api/v1/settings/phone/face", nil, c); r.Status != http.StatusOK || r.str("status") != "used" {
		t.Fatalf("face: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(phoneChangeWindow + time.Second)
	refused("send with a stale face", br.postSolving("/api/v1/settings/phone/sms", map[string]string{"phone": newPhone}), "face_required")
	// A fresh face; a phone bound elsewhere is refused.
	if r := br.faceThrough("/api/v1/settings/phone/face", nil, c); r.Status != http.StatusOK || r.str("status") != "used" {
		t.Fatalf("face: %d %s", r.Status, r.Raw)
	}
	refused("bound elsewhere", br.postSolving("/api/v1/settings/phone/sms", map[string]string{"phone": taken.Phone}), "phone_bound")
	if r := br.postSolving("/api/v1/settings/phone/sms", map[string]string{"phone": newPhone}); r.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.Status, r.Raw)
	}
	code := b.lastCodeTo(t, newPhone)
	refused("wrong code", br.post("/api/v1/settings/phone", map[string]string{"phone": newPhone, "code": "000000"}), "code_wrong")
	if r := br.post("/api/v1/settings/phone", map[string]string{"phone": newPhone, "code": code}); r.Status != http.StatusOK {
		t.Fatalf("change: %d %s", r.Status, r.Raw)
	}
	// Done once: the face is spent.
	refused("repeated", br.post("/api/v1/settings/phone", map[string]string{"phone": newPhone, "code": code}), "face_required")
	if r := br.get("/api/v1/me"); r.Status != http.StatusOK || r.str("phone_hint") != pii.MaskPhone(newPhone) {
		t.Fatalf("this session: %d %s", r.Status, r.Raw)
	}
	if r := other.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
		t.Fatalf("other session after the change: %d %s", r.Status, r.Raw)
	}
	if !slices.ContainsFunc(b.column(t, `SELECT body FROM sms_outbox WHERE phone_hint = $1`, pii.MaskPhone(c.Phone)), func(m string) bool {
		return strings.Contains(m, "绑定手机号已变更为"+pii.MaskPhone(newPhone))
	}) {
		t.Fatal("no notice to the old phone")
	}
	b.clock.Advance(2 * time.Minute)
	if r := b.browser(t).smsLogin(citizen{IDNumber: c.IDNumber, Phone: newPhone}); r.Status != http.StatusOK {
		t.Fatalf("login with the new phone: %d %s", r.Status, r.Raw)
	}
	log := strings.Join(auditLog(t, b), "\n")
	if !strings.Contains(log, "phone_change|ok") || !strings.Contains(log, "1 other sessions ended") || strings.Contains(log, newPhone) {
		t.Fatalf("audit:\n%s", log)
	}
}
