package authsvc

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

const recoveredPassword = "Lz7#pWq4!xN"

// startRecovery does step ① for idNumber, solving the captcha.
func (br *browser) startRecovery(idNumber string) response {
	br.t.Helper()
	return br.postSolving("/api/v1/recovery", map[string]string{"account_type": "personal", "id_type": "resident", "id_number": idNumber})
}

// recover walks a recovery of c's account to the new password.
func (br *browser) recover(c citizen, password string) {
	br.t.Helper()
	if r := br.startRecovery(c.IDNumber); r.Status != http.StatusAccepted || r.str("phone_hint") != pii.MaskPhone(c.Phone) {
		br.t.Fatalf("recovery start: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/recovery/code", map[string]string{"code": br.b.lastCodeTo(br.t, c.Phone)}); r.Status != http.StatusOK {
		br.t.Fatalf("recovery code: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/recovery/password", map[string]string{"password": password, "confirm": password}); r.Status != http.StatusOK {
		br.t.Fatalf("recovery password: %d %s", r.Status, r.Raw)
	}
}

// TestRecoveryStepOrder: skipped, repeated and raced steps are refused
// with the step to do named.
func TestRecoveryStepOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "韩梅梅", "13907559071", "Old#pass123x")
	br := b.browser(t)
	step := func(path string, body map[string]string, status int, next string) {
		t.Helper()
		r := br.post(path, body)
		if r.Status != status || (next != "" && r.str("next_step") != next) {
			t.Fatalf("%s: %d %s, want %d next %q", path, r.Status, r.Raw, status, next)
		}
		if status == http.StatusConflict && r.str("error") != "recovery_step_out_of_order" {
			t.Fatalf("%s: %s", path, r.Raw)
		}
	}
	pw := map[string]string{"password": recoveredPassword, "confirm": recoveredPassword}
	// Nothing started: ② and ③ name ①.
	step("/api/v1/recovery/code", map[string]string{"code": "123456"}, http.StatusConflict, recoveryIdentify)
	step("/api/v1/recovery/password", pw, http.StatusConflict, recoveryIdentify)
	if r := br.startRecovery(c.IDNumber); r.Status != http.StatusAccepted || r.str("next_step") != recoveryCode {
		t.Fatalf("start: %d %s", r.Status, r.Raw)
	}
	// ③ before ②.
	step("/api/v1/recovery/password", pw, http.StatusConflict, recoveryCode)
	code := b.lastCodeTo(t, c.Phone)
	// ② raced: exactly one of parallel right codes passes.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var statuses []int
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := br.post("/api/v1/recovery/code", map[string]string{"code": code})
			mu.Lock()
			statuses = append(statuses, r.Status)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if n := countOf(statuses, http.StatusOK); n != 1 {
		t.Fatalf("parallel codes: %v, want one 200", statuses)
	}
	// ② repeated names ③.
	step("/api/v1/recovery/code", map[string]string{"code": code}, http.StatusConflict, recoveryPassword)
	step("/api/v1/recovery/password", map[string]string{"password": recoveredPassword, "confirm": "other#Pass99"}, http.StatusUnprocessableEntity, "")
	// ③ raced: exactly one of parallel submissions sets the password.
	statuses = nil
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := br.post("/api/v1/recovery/password", pw)
			mu.Lock()
			statuses = append(statuses, r.Status)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if n := countOf(statuses, http.StatusOK); n != 1 {
		t.Fatalf("parallel passwords: %v, want one 200", statuses)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'recovery_password' AND outcome = 'ok'`); n != 1 {
		t.Fatalf("%d recoveries audited, want 1", n)
	}
	// ③ repeated: the flow is over.
	step("/api/v1/recovery/password", pw, http.StatusConflict, recoveryIdentify)
	if r := br.get("/api/v1/recovery"); r.str("next_step") != recoveryIdentify {
		t.Fatalf("after: %s", r.Raw)
	}
}

func countOf(xs []int, x int) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// TestRecoveryNoEnumeration: step ① answers an ID number with an account,
// one without, and one whose account is locked the same way (status,
// body shape, a stable masked phone, the send limit), and only the real
// account's phone gets a code.
func TestRecoveryNoEnumeration(t *testing.T) {
	t.Parallel()
	b := setup(t)
	active := b.active(t, "李雷", "13907550001", "Old#pass123x")
	locked := b.active(t, "王芳", "13907550002", "Old#pass123x")
	if _, err := b.pool.Exec(context.Background(), `UPDATE account SET locked_until = $2 WHERE id = $1`, locked.id, b.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	unknown := residentID("19770101")
	keys := func(r response) []string {
		var k []string
		for key := range r.Body {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	var first []response
	for _, id := range []string{active.IDNumber, unknown, locked.IDNumber} {
		br := b.browser(t)
		// Without the captcha: refused the same way, nothing looked up.
		r := br.post("/api/v1/recovery", map[string]string{"account_type": "personal", "id_type": "resident", "id_number": id})
		if r.Status != http.StatusPreconditionRequired {
			t.Fatalf("%s without captcha: %d %s", pii.MaskID(id), r.Status, r.Raw)
		}
		r = br.startRecovery(id)
		if r.Status != http.StatusAccepted || !strings.Contains(r.str("phone_hint"), "****") {
			t.Fatalf("%s: %d %s", pii.MaskID(id), r.Status, r.Raw)
		}
		first = append(first, r)
		// Asked again at once: the same limit for all.
		again := b.browser(t).startRecovery(id)
		if again.Status != http.StatusTooManyRequests || again.str("error") != "code_too_soon" {
			t.Fatalf("%s again: %d %s", pii.MaskID(id), again.Status, again.Raw)
		}
	}
	for _, r := range first[1:] {
		if !slices.Equal(keys(r), keys(first[0])) {
			t.Fatalf("body shapes differ: %s / %s", first[0].Raw, r.Raw)
		}
	}
	// The stand-in phone of an ID number without an account is the same
	// every time.
	b.clock.Advance(2 * time.Minute)
	if r := b.browser(t).startRecovery(unknown); r.str("phone_hint") != first[1].str("phone_hint") {
		t.Fatalf("stand-in hint changed: %s then %s", first[1].str("phone_hint"), r.str("phone_hint"))
	}
	// Only the real account's phone got a code.
	var sent int
	if err := b.pool.QueryRow(context.Background(), `SELECT count(*) FROM sms_outbox`).Scan(&sent); err != nil {
		t.Fatal(err)
	}
	if sent != 1 {
		t.Fatalf("%d messages sent, want 1", sent)
	}
	// An unknown ID number's flow cannot pass ②, whatever the code.
	br := b.browser(t)
	b.clock.Advance(2 * time.Minute)
	br.startRecovery(unknown)
	if r := br.post("/api/v1/recovery/code", map[string]string{"code": b.lastCodeTo(t, active.Phone)}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown ID's code: %d %s", r.Status, r.Raw)
	}
}

// TestRecoveryActive: an active account's password is recovered; every
// session of the account ends; the new password logs in, the old one
// not; the phone gets a notice; it is audited.
func TestRecoveryActive(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "韩梅梅", "13907559071", "Old#pass123x")
	other1, other2 := b.browser(t), b.browser(t)
	if r := other1.passwordLogin(c, "Old#pass123x"); r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	if r := other2.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(2 * time.Minute)
	b.browser(t).recover(c, recoveredPassword)
	for i, o := range []*browser{other1, other2} {
		if r := o.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
			t.Fatalf("session %d after recovery: %d %s", i, r.Status, r.Raw)
		}
	}
	if r := b.browser(t).passwordLogin(c, "Old#pass123x"); r.Status != http.StatusUnauthorized {
		t.Fatalf("old password: %d %s", r.Status, r.Raw)
	}
	if r := b.browser(t).passwordLogin(c, recoveredPassword); r.Status != http.StatusOK {
		t.Fatalf("new password: %d %s", r.Status, r.Raw)
	}
	if !slices.ContainsFunc(b.column(t, `SELECT body FROM sms_outbox WHERE phone_hint = '`+pii.MaskPhone(c.Phone)+`'`), func(m string) bool {
		return strings.Contains(m, "密码已通过“忘记密码”重新设置")
	}) {
		t.Fatal("no notice to the phone on file")
	}
	log := strings.Join(auditLog(t, b), "\n")
	if !strings.Contains(log, "recovery_password|ok") || !strings.Contains(log, "2 sessions ended") || strings.Contains(log, c.IDNumber) {
		t.Fatalf("audit:\n%s", log)
	}
}

// TestRecoveryFusedPending: a fused account pending completion recovers
// its password: that satisfies its password step, the info and face
// steps still gate, and its restricted session ends.
func TestRecoveryFusedPending(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "韩梅梅", "13907559072")
	pending := b.browser(t)
	if r := pending.smsLogin(c); r.Status != http.StatusOK || r.str("next_step") != string(schemas.StepInfo) {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(2 * time.Minute)
	b.browser(t).recover(c, recoveredPassword)
	if r := pending.get("/api/v1/completion"); r.Status != http.StatusUnauthorized {
		t.Fatalf("restricted session after recovery: %d %s", r.Status, r.Raw)
	}
	// The recovered password logs in, to the completion: info, then face.
	br := b.browser(t)
	r := br.passwordLogin(c, recoveredPassword)
	if r.Status != http.StatusOK || r.str("next_step") != string(schemas.StepInfo) {
		t.Fatalf("password login: %d %s", r.Status, r.Raw)
	}
	sms := b.browser(t)
	b.clock.Advance(2 * time.Minute)
	if r := sms.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	// ① then straight to ③: the recovered password did ②.
	if r := sms.post("/api/v1/completion/info", map[string]string{"address": "海口市龙华区滨海大道1号"}); r.Status != http.StatusOK || r.str("next_step") != string(schemas.StepFace) {
		t.Fatalf("info: %d %s", r.Status, r.Raw)
	}
	if r := sms.get("/api/v1/completion"); r.str("next_step") != string(schemas.StepFace) {
		t.Fatalf("after info: %s", r.Raw)
	}
	if r := sms.faceThrough("/api/v1/completion/face", nil, c); r.Status != http.StatusOK {
		t.Fatalf("face: %d %s", r.Status, r.Raw)
	}
	if r := b.browser(t).passwordLogin(c, recoveredPassword); r.Status != http.StatusOK || r.str("next") != "/center" {
		t.Fatalf("login after completion: %d %s", r.Status, r.Raw)
	}
}

// TestRecoveryWrongCodesLock: wrong codes at ② count against the account
// like wrong login codes, audited; at the limit the account's SMS codes
// and faces lock, and the right code no longer passes.
func TestRecoveryWrongCodesLock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "韩梅梅", "13907559071", "Old#pass123x")
	br := b.browser(t)
	if r := br.startRecovery(c.IDNumber); r.Status != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.Status, r.Raw)
	}
	code := b.lastCodeTo(t, c.Phone)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range 5 {
		// A fresh flow and code each time: the code's own 5 tries are
		// not what locks.
		if i > 0 {
			b.clock.Advance(2 * time.Minute)
			if r := br.startRecovery(c.IDNumber); r.Status != http.StatusAccepted {
				t.Fatalf("start %d: %d %s", i, r.Status, r.Raw)
			}
			code = b.lastCodeTo(t, c.Phone)
		}
		if r := br.post("/api/v1/recovery/code", map[string]string{"code": wrong}); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong code %d: %d %s", i, r.Status, r.Raw)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'recovery_code' AND outcome = 'fail' AND account_id = $1`, c.id); n != 5 {
		t.Fatalf("%d failures audited, want 5", n)
	}
	if r := br.post("/api/v1/recovery/code", map[string]string{"code": code}); r.Status == http.StatusOK {
		t.Fatalf("right code passed while locked: %s", r.Raw)
	}
}
