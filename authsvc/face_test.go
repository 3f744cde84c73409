package authsvc

import (
	"net/http"
	"testing"

	"github.com/idfusion/idfusion/schemas"
)

// TestFaceChallengeOwnPurposeOnly: an approved face challenge is spent
// only for the purpose it was started for: a face login's does not finish
// step ③, and step ③'s does not log in (useFace's purpose).
func TestFaceChallengeOwnPurposeOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "韩三四", "13512343401")
	br := b.browser(t)
	if r := br.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	br.completeTo(c, schemas.StepFace)
	login := br.startFace(c.IDNumber) // in the restricted session
	b.approveFace(t, login, c.IDNumber)
	if r := br.get("/api/v1/completion/face/" + login); r.Status != http.StatusNotFound {
		t.Errorf("step ③ with a face login's challenge: %d %s, want 404", r.Status, r.Raw)
	}
	r := br.post("/api/v1/completion/face", nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("face start: %d %s", r.Status, r.Raw)
	}
	complete := r.str("challenge")
	b.approveFace(t, complete, c.IDNumber)
	if r := br.get("/api/v1/login/face/" + complete); r.Status != http.StatusNotFound {
		t.Errorf("face login with step ③'s challenge: %d %s, want 404", r.Status, r.Raw)
	}
	if got := b.accountRow(t, c).Status; got != string(schemas.StatusPendingCompletion) {
		t.Fatalf("account %s, want pending", got)
	}
	// Control: each challenge does its own purpose.
	if r := br.get("/api/v1/completion/face/" + complete); r.Status != http.StatusOK || r.str("status") != "used" {
		t.Errorf("step ③ with its own challenge: %d %s, want used", r.Status, r.Raw)
	}
}
