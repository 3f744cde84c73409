package authsvc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/pii"
)

// auditDetail is the detail of the newest audit row of the event and
// outcome.
func (b *testBundle) auditDetail(t *testing.T, event, outcome string) string {
	t.Helper()
	var d string
	if err := b.pool.QueryRow(context.Background(), `SELECT detail FROM auth_audit WHERE event = $1 AND outcome = $2 ORDER BY id DESC LIMIT 1`, event, outcome).Scan(&d); err != nil {
		t.Fatalf("audit %s %s: %v", event, outcome, err)
	}
	return d
}

// TestConsoleProposalPhone: 客服 proposes a phone change with the
// evidence and a reason; nothing changes until a different 审核 approves
// it (not the proposer, even holding 审核; once only, of two at once);
// then the phone is the new one, the sessions are ended, both phones get
// the notice, every step audited. A rejected one changes nothing, and a
// phone that became another account's verified phone meanwhile is
// refused at approval.
func TestConsoleProposalPhone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.fused(t, "韩洪阳", "13812340011")
	kf := b.staffBrowser(t, "kf.p", "kefu")
	both := b.staffBrowser(t, "both.p", "kefu", "shenhe")
	sh1 := b.staffBrowser(t, "sh.one", "shenhe")
	sh2 := b.staffBrowser(t, "sh.two", "shenhe")
	ref := caseOf(t, kf, "id_number", c.IDNumber)
	const newPhone = "13912340011"

	propose := func(br *browser, ref string, body map[string]string) response {
		return br.post("/api/v1/admin/accounts/"+ref+"/phone-change", body)
	}
	// Refused without a reason, without the evidence, with a bad phone.
	if r := propose(kf, ref, map[string]string{"phone": newPhone, "evidence": "YJ-2026-001"}); r.Status != http.StatusBadRequest || r.str("error") != "reason_required" {
		t.Errorf("no reason: %d %s", r.Status, r.Raw)
	}
	if r := propose(kf, ref, map[string]string{"phone": newPhone, "reason": "原手机号停用"}); r.Status != http.StatusBadRequest || r.str("error") != "evidence_required" {
		t.Errorf("no evidence: %d %s", r.Status, r.Raw)
	}
	if r := propose(kf, ref, map[string]string{"phone": "1391234", "evidence": "YJ-2026-001", "reason": "原手机号停用"}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("bad phone: %d %s", r.Status, r.Raw)
	}
	r := propose(kf, ref, map[string]string{"phone": newPhone, "evidence": "YJ-2026-001", "reason": "原手机号停用"})
	if r.Status != http.StatusCreated {
		t.Fatalf("propose: %d %s", r.Status, r.Raw)
	}
	first := int64(r.Body["proposal"].(float64))
	// A second proposal supersedes the first.
	r = propose(kf, ref, map[string]string{"phone": newPhone, "evidence": "YJ-2026-002", "reason": "材料补充后重新提交"})
	if r.Status != http.StatusCreated {
		t.Fatalf("propose again: %d %s", r.Status, r.Raw)
	}
	id := int64(r.Body["proposal"].(float64))
	if n := b.count(t, `SELECT count(*) FROM staff_proposal WHERE id = $1 AND status = 'superseded'`, first); n != 1 {
		t.Errorf("the first proposal not superseded")
	}
	if n := b.count(t, `SELECT count(*) FROM staff_proposal WHERE id = $1 AND status = 'pending'`, id); n != 1 {
		t.Errorf("the second proposal not pending")
	}
	if d := b.auditDetail(t, "admin_phone_propose", "ok"); !strings.HasPrefix(d, "staff=kf.p; role=kefu; target=") ||
		!strings.Contains(d, "reason=材料补充后重新提交; evidence=YJ-2026-002; new_phone=139****0011; supersedes=") {
		t.Errorf("propose audited as %q", d)
	}
	// Sealed, never in clear.
	if n := b.count(t, `SELECT count(*) FROM staff_proposal WHERE position($1::bytea IN phone_sealed) > 0`, []byte(newPhone)); n != 0 {
		t.Errorf("the proposed phone is stored in clear")
	}

	// Until approval nothing changes: the phone is the old one, and a
	// login by the new phone fails.
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND phone_bidx = $2`, c.id, account.PhoneIndex(b.keys, c.Phone)); n != 1 {
		t.Errorf("the phone changed before approval")
	}
	citizenBr := b.browser(t)
	if r := citizenBr.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("login by the old phone: %d %s", r.Status, r.Raw)
	}
	withNew := c
	withNew.Phone = newPhone
	if r := b.browser(t).postSolving("/api/v1/login/sms/send", map[string]string{"id_number": c.IDNumber, "phone": newPhone}); r.Status == http.StatusAccepted {
		if n := b.count(t, `SELECT count(*) FROM sms_outbox WHERE phone_hint = $1`, pii.MaskPhone(newPhone)); n != 0 {
			t.Errorf("a login code went to the proposed phone before approval")
		}
	}

	// The queue shows it, masked.
	q := sh1.get("/api/v1/admin/proposals")
	if q.Status != http.StatusOK || !strings.Contains(q.Raw, "139****0011") || strings.Contains(q.Raw, newPhone) || strings.Contains(q.Raw, c.IDNumber) {
		t.Errorf("queue: %d %s", q.Status, q.Raw)
	}
	if code, page := sh1.page("/admin/proposals"); code != http.StatusOK || !strings.Contains(page, "139****0011") || !strings.Contains(page, "YJ-2026-002") {
		t.Errorf("queue page: %d", code)
	}

	decide := func(br *browser, id int64, verb, reason string) response {
		return br.post(fmt.Sprintf("/api/v1/admin/proposals/%d/%s", id, verb), map[string]string{"reason": reason})
	}
	// The proposer may not approve their own, even holding 审核.
	rb := propose(both, caseOf(t, both, "id_number", c.IDNumber), map[string]string{"phone": newPhone, "evidence": "YJ-2026-003", "reason": "双角色人员提交"})
	if rb.Status != http.StatusCreated {
		t.Fatalf("propose by both: %d %s", rb.Status, rb.Raw)
	}
	id = int64(rb.Body["proposal"].(float64))
	if r := decide(both, id, "approve", "自己批准"); r.Status != http.StatusForbidden || r.str("error") != "own_proposal" {
		t.Errorf("own approval: %d %s", r.Status, r.Raw)
	}
	if d := b.auditDetail(t, "admin_phone_approve", "refused"); !strings.Contains(d, "staff=both.p; role=shenhe") || !strings.HasSuffix(d, "own proposal") {
		t.Errorf("own approval audited as %q", d)
	}
	if r := decide(sh1, id, "approve", ""); r.Status != http.StatusBadRequest || r.str("error") != "reason_required" {
		t.Errorf("approval without a reason: %d %s", r.Status, r.Raw)
	}
	// Stale: a week old, or its proposer disabled since.
	b.exec(t, `UPDATE staff_proposal SET proposed_at = proposed_at - interval '7 days' WHERE id = $1`, id)
	if r := decide(sh1, id, "approve", "材料齐全，同意"); r.Status != http.StatusConflict || r.str("error") != "proposal_stale" {
		t.Errorf("approval a week on: %d %s", r.Status, r.Raw)
	}
	b.exec(t, `UPDATE staff_proposal SET proposed_at = proposed_at + interval '7 days' WHERE id = $1`, id)
	b.exec(t, `UPDATE staff SET status = 'disabled' WHERE username = 'both.p'`)
	if r := decide(sh1, id, "approve", "材料齐全，同意"); r.Status != http.StatusConflict || r.str("error") != "proposal_stale" {
		t.Errorf("approval of a disabled proposer's: %d %s", r.Status, r.Raw)
	}
	b.exec(t, `UPDATE staff SET status = 'active' WHERE username = 'both.p'`)

	// 审核 sees the new number, to check it against the documents: with a
	// reason, once, audited as an unmasking.
	shown := fmt.Sprintf("/api/v1/admin/proposals/%d/phone", id)
	if r := sh1.post(shown, map[string]string{}); r.Status != http.StatusBadRequest || strings.Contains(r.Raw, newPhone) {
		t.Errorf("the new number without a reason: %d %s", r.Status, r.Raw)
	}
	if r := sh1.post(shown, map[string]string{"reason": "核对授权书上的号码"}); r.Status != http.StatusOK || r.str("phone") != newPhone ||
		r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the new number: %d %s", r.Status, r.Raw)
	}
	if d := b.auditDetail(t, "admin_unmask", "ok"); !strings.Contains(d, "staff=sh.one; role=shenhe") ||
		!strings.HasSuffix(d, fmt.Sprintf("reason=核对授权书上的号码; field=proposed_phone; proposal=%d", id)) {
		t.Errorf("the new number's view audited as %q", d)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND phone_bidx = $2`, c.id, account.PhoneIndex(b.keys, c.Phone)); n != 1 {
		t.Errorf("the phone changed by a refused approval")
	}

	// Two approvers at once: exactly one wins.
	var wg sync.WaitGroup
	results := make([]response, 2)
	for i, br := range []*browser{sh1, sh2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = decide(br, id, "approve", "材料齐全，同意")
		}()
	}
	wg.Wait()
	won, lost := 0, 0
	for _, r := range results {
		switch {
		case r.Status == http.StatusOK:
			won++
		case r.Status == http.StatusConflict && r.str("error") == "proposal_decided":
			lost++
		default:
			t.Errorf("approval: %d %s", r.Status, r.Raw)
		}
	}
	if won != 1 || lost != 1 {
		t.Fatalf("two approvers: %d won, %d refused", won, lost)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND phone_bidx = $2 AND phone_verified`, c.id, account.PhoneIndex(b.keys, newPhone)); n != 1 {
		t.Errorf("the phone is not the new one after approval")
	}
	if n := b.count(t, `SELECT count(*) FROM auth_session WHERE account_id = $1 AND revoked_at IS NULL`, c.id); n != 0 {
		t.Errorf("%d sessions left after the phone change", n)
	}
	for _, p := range []string{c.Phone, newPhone} {
		if n := b.count(t, `SELECT count(*) FROM sms_outbox WHERE phone_hint = $1 AND body LIKE '%客服人员根据您提交的材料%'`, pii.MaskPhone(p)); n != 1 {
			t.Errorf("%d notices to %s", n, p)
		}
	}
	if d := b.auditDetail(t, "admin_phone_approve", "ok"); !strings.Contains(d, "role=shenhe; target=") || !strings.Contains(d, "reason=材料齐全，同意; proposal=") ||
		!strings.Contains(d, "evidence=YJ-2026-003; new_phone=139****0011") {
		t.Errorf("approval audited as %q", d)
	}
	if r := citizenBr.get("/api/v1/me"); r.Status == http.StatusOK {
		t.Errorf("the citizen's session survived the phone change")
	}
	b.clock.Advance(2 * time.Minute) // the next code to the ID number
	if r := b.browser(t).smsLogin(withNew); r.Status != http.StatusOK {
		t.Errorf("login by the new phone after approval: %d %s", r.Status, r.Raw)
	}

	// Rejected: nothing changes.
	r = propose(kf, ref, map[string]string{"phone": "13712340011", "evidence": "YJ-2026-004", "reason": "再次更换"})
	id = int64(r.Body["proposal"].(float64))
	if r := decide(sh1, id, "reject", "材料不全"); r.Status != http.StatusOK {
		t.Errorf("reject: %d %s", r.Status, r.Raw)
	}
	if r := decide(sh2, id, "approve", "晚到的批准"); r.Status != http.StatusConflict {
		t.Errorf("approval of a rejected proposal: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND phone_bidx = $2`, c.id, account.PhoneIndex(b.keys, newPhone)); n != 1 {
		t.Errorf("a rejected proposal changed the phone")
	}
	if d := b.auditDetail(t, "admin_phone_reject", "ok"); !strings.Contains(d, "staff=sh.one; role=shenhe") || !strings.Contains(d, "reason=材料不全") {
		t.Errorf("reject audited as %q", d)
	}

	// The phone became another account's verified phone meanwhile.
	other := b.fused(t, "李四", "13612340011")
	r = propose(kf, ref, map[string]string{"phone": "13512340011", "evidence": "YJ-2026-005", "reason": "再次更换"})
	id = int64(r.Body["proposal"].(float64))
	if _, err := b.pool.Exec(ctx, `UPDATE account SET phone_bidx = $2, phone_verified = true WHERE id = $1`, other.id, account.PhoneIndex(b.keys, "13512340011")); err != nil {
		t.Fatal(err)
	}
	if r := decide(sh1, id, "approve", "同意"); r.Status != http.StatusConflict || r.str("error") != "phone_bound" {
		t.Errorf("approval of a phone bound meanwhile: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM staff_proposal WHERE id = $1 AND status = 'pending'`, id); n != 1 {
		t.Errorf("a refused approval decided the proposal")
	}
	// Proposing a phone already bound is refused at once.
	if r := propose(kf, ref, map[string]string{"phone": "13512340011", "evidence": "YJ-2026-006", "reason": "再次更换"}); r.Status != http.StatusConflict {
		t.Errorf("proposal of a bound phone: %d %s", r.Status, r.Raw)
	}
	if d := b.auditDetail(t, "admin_phone_propose", "refused"); !strings.Contains(d, "staff=kf.p; role=kefu") || !strings.HasSuffix(d, "refused=phone_bound") {
		t.Errorf("the refused proposal audited as %q", d)
	}
	if r := decide(sh1, 999999, "approve", "同意"); r.Status != http.StatusNotFound {
		t.Errorf("unknown proposal: %d %s", r.Status, r.Raw)
	}
}

// TestConsoleProposalConflict: 客服 proposes a name conflict's surviving
// value; approved by another 审核 the account's name is it, pinned, and
// the conflict resolved with who, when and the value; a gender conflict
// may only be confirmed as the ID number's value; the page's block.
func TestConsoleProposalConflict(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.fused(t, "韩洪阳", "13812340021")
	var bidx []byte
	if err := b.pool.QueryRow(ctx, `SELECT id_bidx FROM account WHERE id = $1`, c.id).Scan(&bidx); err != nil {
		t.Fatal(err)
	}
	var nameConflict, genderConflict int64
	if err := b.pool.QueryRow(ctx, `INSERT INTO merge_conflict (account_id, account_bidx, field, candidates, run_id)
		VALUES ($1, $2, 'name', '[{"value":"韩洪阳","sources":[{"dept":"gongan","file_sha256":"a","row":1}]},{"value":"韩红阳","sources":[{"dept":"minzheng","file_sha256":"b","row":2}]}]', 0) RETURNING id`,
		c.id, bidx).Scan(&nameConflict); err != nil {
		t.Fatal(err)
	}
	if err := b.pool.QueryRow(ctx, `INSERT INTO merge_conflict (account_id, account_bidx, field, candidates, run_id)
		VALUES ($1, $2, 'gender', '[{"value":"男","source":"id_number"},{"value":"女","sources":[{"dept":"minzheng","file_sha256":"b","row":2}]}]', 0) RETURNING id`,
		c.id, bidx).Scan(&genderConflict); err != nil {
		t.Fatal(err)
	}
	// 运维's list of the open conflicts (fusion conflicts), masked, no
	// account id (the account is reached by the lookup only).
	ops := b.staffBrowser(t, "ops.c", "yunwei")
	if r := ops.get("/api/v1/admin/ops/conflicts"); r.Status != http.StatusOK || r.Body["total"] != float64(2) ||
		strings.Contains(r.Raw, "洪阳") || strings.Contains(r.Raw, "红阳") || !strings.Contains(r.Raw, `"value":"韩****"`) ||
		!strings.Contains(r.Raw, `"value":"女"`) || strings.Contains(r.Raw, fmt.Sprintf(`"account_id":%d`, c.id)) {
		t.Errorf("conflicts list: %d %s", r.Status, r.Raw)
	}
	if r := ops.get("/api/v1/admin/ops/conflicts?field=gender"); r.Body["total"] != float64(1) {
		t.Errorf("conflicts of the gender: %s", r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_conflicts_list' AND subject = 'ops.c' AND detail LIKE '%field=gender; shown=1'`); n != 1 {
		t.Errorf("%d audited views of the gender's conflicts, want 1", n)
	}
	if code, page := ops.page("/admin/ops/conflicts"); code != http.StatusOK || !strings.Contains(page, "共 2 条待处理冲突") || strings.Contains(page, "洪阳") {
		t.Errorf("conflicts page: %d %s", code, page)
	}
	kf := b.staffBrowser(t, "kf.c", "kefu")
	sh := b.staffBrowser(t, "sh.c", "shenhe")
	ref := caseOf(t, kf, "id_number", c.IDNumber)
	resolve := func(conflict int64, body map[string]any) response {
		return kf.post(fmt.Sprintf("/api/v1/admin/accounts/%s/conflicts/%d/resolve", ref, conflict), body)
	}
	blk := kf.get("/api/v1/admin/accounts/" + ref + "/proposals")
	if blk.Status != http.StatusOK || len(blk.Body["conflicts"].([]any)) != 2 || strings.Contains(blk.Raw, "韩红阳") {
		t.Fatalf("block: %d %s", blk.Status, blk.Raw)
	}
	if r := resolve(nameConflict, map[string]any{"choice": 1}); r.Status != http.StatusBadRequest || r.str("error") != "reason_required" {
		t.Errorf("no reason: %d %s", r.Status, r.Raw)
	}
	if r := resolve(genderConflict, map[string]any{"choice": 1, "reason": "民政记录"}); r.Status != http.StatusUnprocessableEntity || r.str("error") != "choice_refused" {
		t.Errorf("a gender other than the ID number's: %d %s", r.Status, r.Raw)
	}
	if r := resolve(nameConflict, map[string]any{"choice": 5, "reason": "越界"}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("a choice out of range: %d %s", r.Status, r.Raw)
	}
	// A later import recorded another name conflict (other candidates).
	var nameConflict2 int64
	if err := b.pool.QueryRow(ctx, `INSERT INTO merge_conflict (account_id, account_bidx, field, candidates, run_id)
		VALUES ($1, $2, 'name', '[{"value":"韩洪阳","sources":[{"dept":"gongan","file_sha256":"a","row":1}]},{"value":"韩宏阳","sources":[{"dept":"shebao","file_sha256":"c","row":3}]}]', 0) RETURNING id`,
		c.id, bidx).Scan(&nameConflict2); err != nil {
		t.Fatal(err)
	}
	r := resolve(nameConflict, map[string]any{"choice": 1, "reason": "户籍证明为韩红阳"})
	if r.Status != http.StatusCreated {
		t.Fatalf("propose: %d %s", r.Status, r.Raw)
	}
	id := int64(r.Body["proposal"].(float64))
	if d := b.auditDetail(t, "admin_conflict_propose", "ok"); !strings.HasPrefix(d, "staff=kf.c; role=kefu; target=") ||
		!strings.Contains(d, fmt.Sprintf("reason=户籍证明为韩红阳; conflict=%d; field=name; value=韩**", nameConflict)) {
		t.Errorf("propose audited as %q", d)
	}
	r = resolve(nameConflict2, map[string]any{"choice": 1, "reason": "社保记录为韩宏阳"})
	if r.Status != http.StatusCreated {
		t.Fatalf("propose the second name: %d %s", r.Status, r.Raw)
	}
	id2 := int64(r.Body["proposal"].(float64))
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND name = '韩洪阳' AND NOT name_pinned`, c.id); n != 1 {
		t.Errorf("the name changed before approval")
	}
	// Each conflict has its own proposal: one for the gender leaves the
	// name's pending (then it is rejected below, after the name's).
	r = resolve(genderConflict, map[string]any{"choice": 0, "reason": "以证件号码为准"})
	if r.Status != http.StatusCreated {
		t.Fatalf("propose the gender: %d %s", r.Status, r.Raw)
	}
	genderProposal := int64(r.Body["proposal"].(float64))
	if n := b.count(t, `SELECT count(*) FROM staff_proposal WHERE status = 'pending' AND id IN ($1, $2)`, id, genderProposal); n != 2 {
		t.Errorf("%d of the name's and the gender's proposals pending, want both", n)
	}
	// The page shows the block.
	if code, page := kf.page("/admin/accounts/" + ref); code != http.StatusOK || !strings.Contains(page, "四眼审核") || !strings.Contains(page, "已有待审核的处理申请") {
		t.Errorf("account page: %d", code)
	}
	if r := sh.post(fmt.Sprintf("/api/v1/admin/proposals/%d/approve", id), map[string]string{"reason": "核对户籍证明无误"}); r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Raw)
	}
	// One name survives: the other name conflict is resolved with it, its
	// proposal superseded, so approving it now changes nothing.
	if n := b.count(t, `SELECT count(*) FROM merge_conflict WHERE id = $1 AND status = 'resolved' AND resolved_value = '韩红阳'`, nameConflict2); n != 1 {
		t.Errorf("the other name conflict is not resolved with the approved name")
	}
	if n := b.count(t, `SELECT count(*) FROM staff_proposal WHERE id = $1 AND status = 'superseded'`, id2); n != 1 {
		t.Errorf("the other name's proposal left in 审核's queue")
	}
	if n := b.count(t, `SELECT count(*) FROM staff_proposal WHERE id = $1 AND status = 'pending'`, genderProposal); n != 1 {
		t.Errorf("approving the name superseded the gender's proposal")
	}
	if r := sh.post(fmt.Sprintf("/api/v1/admin/proposals/%d/approve", id2), map[string]string{"reason": "同意"}); r.Status != http.StatusConflict {
		t.Errorf("approve the superseded name: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND name = '韩红阳' AND name_pinned AND name_source IS NULL`, c.id); n != 1 {
		t.Errorf("the name is not the approved one, pinned")
	}
	if n := b.count(t, `SELECT count(*) FROM merge_conflict c JOIN staff s ON s.id = c.resolved_by
		WHERE c.id = $1 AND c.status = 'resolved' AND c.resolved_value = '韩红阳' AND s.username = 'sh.c' AND c.resolved_at IS NOT NULL`, nameConflict); n != 1 {
		t.Errorf("the conflict is not resolved with who, when and the value")
	}
	if d := b.auditDetail(t, "admin_conflict_approve", "ok"); !strings.Contains(d, "staff=sh.c; role=shenhe") || !strings.Contains(d, "reason=核对户籍证明无误") ||
		!strings.Contains(d, "field=name; value=韩**") {
		t.Errorf("approve audited as %q", d)
	}
	if code, page := kf.page("/admin/accounts/" + ref); code != http.StatusOK || !strings.Contains(page, "工作人员核定") {
		t.Errorf("the page does not show the pinned name: %d", code)
	}
	// The lineage's sources say so too: the name is staff's, not a row's.
	if v := kf.get("/api/v1/admin/accounts/" + ref); !strings.Contains(v.Raw, `{"field":"name","label":"姓名","source":"工作人员核定"}`) {
		t.Errorf("the account's sources do not show the pinned name: %s", v.Raw)
	}

	// The gender: confirmed as the ID number's, then rejected.
	r = resolve(genderConflict, map[string]any{"choice": 0, "reason": "以证件号码为准"})
	if r.Status != http.StatusCreated {
		t.Fatalf("propose gender: %d %s", r.Status, r.Raw)
	}
	id = int64(r.Body["proposal"].(float64))
	if r := kf.post(fmt.Sprintf("/api/v1/admin/proposals/%d/approve", id), map[string]string{"reason": "客服自批"}); r.Status != http.StatusForbidden {
		t.Errorf("kefu approving: %d %s", r.Status, r.Raw)
	}
	form := sh.form(fmt.Sprintf("/admin/proposals/%d/reject", id), url.Values{"reason": {"需补充材料"}})
	if form.Status != http.StatusSeeOther && form.Status != http.StatusOK {
		t.Errorf("reject form: %d %s", form.Status, form.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM merge_conflict WHERE id = $1 AND status = 'open'`, genderConflict); n != 1 {
		t.Errorf("a rejected resolution resolved the conflict")
	}
	if d := b.auditDetail(t, "admin_conflict_reject", "ok"); !strings.Contains(d, "staff=sh.c; role=shenhe") || !strings.Contains(d, "reason=需补充材料") {
		t.Errorf("reject audited as %q", d)
	}
	// The conflict resolved meanwhile: the approval is refused, nothing
	// decided.
	r = resolve(genderConflict, map[string]any{"choice": 0, "reason": "以证件号码为准"})
	id = int64(r.Body["proposal"].(float64))
	if _, err := b.pool.Exec(ctx, `UPDATE merge_conflict SET status = 'resolved' WHERE id = $1`, genderConflict); err != nil {
		t.Fatal(err)
	}
	if r := sh.post(fmt.Sprintf("/api/v1/admin/proposals/%d/approve", id), map[string]string{"reason": "同意"}); r.Status != http.StatusConflict {
		t.Errorf("approval of a conflict resolved meanwhile: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM staff_proposal WHERE id = $1 AND status = 'pending'`, id); n != 1 {
		t.Errorf("a refused approval decided the proposal")
	}
}
