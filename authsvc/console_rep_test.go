package authsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/pii"
)

// repConflict records an open conflict of representatives on the legal
// account e as an import does: the enterprise's own representative,
// scjg's row (row) with its representative (newRep, named name) sealed,
// and swj's without, and returns its id and scjg's lineage row.
func (b *testBundle) repConflict(t *testing.T, e enterprise, name, newRep string, row int64) (conflict, lineage int64) {
	t.Helper()
	ctx := context.Background()
	var bidx []byte
	var run, file int64
	for _, q := range []struct {
		sql  string
		args []any
		into any
	}{
		{`SELECT id_bidx FROM account WHERE id = $1`, []any{e.id}, &bidx},
		{`INSERT INTO department (code, name, priority) VALUES ('scjg', '省市场监管局', 1) ON CONFLICT (code) DO UPDATE SET priority = 1 RETURNING 0`, nil, new(int)},
		{`INSERT INTO import_run (started_at, ledger) VALUES (now(), '{}') RETURNING id`, nil, &run},
		{`INSERT INTO source_file (dept, sha256) VALUES ('scjg', 'sha-scjg') ON CONFLICT (dept, sha256) DO UPDATE SET dept = 'scjg' RETURNING id`, nil, &file},
	} {
		if err := b.pool.QueryRow(ctx, q.sql, q.args...).Scan(q.into); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if err := b.pool.QueryRow(ctx, `INSERT INTO account_lineage (account_bidx, run_id, file_id, row_num, priority) VALUES ($1, $2, $3, $4, 1) RETURNING id`,
		bidx, run, file, row).Scan(&lineage); err != nil {
		t.Fatal(err)
	}
	longTerm := account.LongTermDays
	cands, _ := json.Marshal([]map[string]any{
		{"value": e.RepName + " " + pii.MaskID(e.RepID), "source": "citizen"},
		{"value": name + " " + pii.MaskID(newRep), "sources": []map[string]any{{"dept": "scjg", "file_sha256": "sha-scjg", "row": row}}},
		{"value": "赵七 " + pii.MaskID(residentID("19800101")), "sources": []map[string]any{{"dept": "swj", "file_sha256": "sha-swj", "row": 3}}},
	})
	reps, _ := json.Marshal([]string{"", account.SealConflictRep(b.keys, account.ConflictRep{Name: name, IDType: "居民身份证", ID: newRep, Nationality: "CHN", ValidTo: &longTerm}), ""})
	if err := b.pool.QueryRow(ctx, `INSERT INTO merge_conflict (account_id, account_bidx, field, candidates, reps, run_id) VALUES ($1, $2, 'rep_name', $3, $4, $5) RETURNING id`,
		e.id, bidx, string(cands), string(reps), run).Scan(&conflict); err != nil {
		t.Fatal(err)
	}
	return conflict, lineage
}

// TestConsoleProposalRep: a conflict of representatives is resolved with
// four eyes too. 客服 may choose the stored representative or a
// department row's the conflict carries sealed, not one it does not;
// approved by 审核, the account's representative is that row's — name, ID
// (sealed, indexed, masked), nationality, validity, the row as its source
// — pinned (工作人员核定); a verified legal person is checked again (the
// enterprise interface checks the representative) and its sessions are
// stale; another open conflict of representatives is resolved with it and
// its proposal superseded. The stored one chosen, or a row of the same
// ID, only pins it: still verified, sessions untouched.
func TestConsoleProposalRep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.activeLegal(t, "海南示例科技有限公司", "13812340051", "K9#vTq2!mZ")
	session := b.legalBrowser(t, e)
	newRep := residentID("19820202")
	// The other first: its lineage row, of the same file, comes first.
	other, _ := b.repConflict(t, e, "王五", newRep, 5)
	conflict, lineage := b.repConflict(t, e, "王五", newRep, 6)

	kf := b.staffBrowser(t, "kf.rep", "kefu")
	kf2 := b.staffBrowser(t, "kf.rep2", "kefu")
	sh := b.staffBrowser(t, "sh.rep", "shenhe")
	ref := caseOf(t, kf, "credit_code", e.CreditCode)
	resolve := func(br *browser, ref string, id int64, choice int, reason string) response {
		return br.post(fmt.Sprintf("/api/v1/admin/accounts/%s/conflicts/%d/resolve", ref, id), map[string]any{"choice": choice, "reason": reason})
	}
	blk := kf.get("/api/v1/admin/accounts/" + ref + "/proposals")
	var allowed []bool
	for _, c := range blk.Body["conflicts"].([]any)[0].(map[string]any)["choices"].([]any) {
		allowed = append(allowed, c.(map[string]any)["allowed"].(bool))
	}
	if fmt.Sprint(allowed) != "[true true false]" || strings.Contains(blk.Raw, "reps") || strings.Contains(blk.Raw, newRep) {
		t.Fatalf("choices %v (want the stored and scjg's, not swj's without its values), block %s", allowed, blk.Raw)
	}
	if r := resolve(kf, ref, conflict, 2, "税务记录"); r.Status != http.StatusUnprocessableEntity || r.str("error") != "choice_refused" {
		t.Errorf("a representative whose values the conflict lacks: %d %s", r.Status, r.Raw)
	}
	r := resolve(kf, ref, conflict, 1, "营业执照载明法定代表人为王五")
	if r.Status != http.StatusCreated {
		t.Fatalf("propose: %d %s", r.Status, r.Raw)
	}
	id := int64(r.Body["proposal"].(float64))
	r = resolve(kf2, caseOf(t, kf2, "credit_code", e.CreditCode), other, 0, "维持原法定代表人")
	if r.Status != http.StatusCreated {
		t.Fatalf("propose the other conflict: %d %s", r.Status, r.Raw)
	}
	otherProposal := int64(r.Body["proposal"].(float64))
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND rep_name = '吴斌' AND NOT rep_pinned AND realname_status = 'verified'`, e.id); n != 1 {
		t.Fatal("the representative changed before approval")
	}
	if r := sh.post(fmt.Sprintf("/api/v1/admin/proposals/%d/approve", id), map[string]string{"reason": "核对营业执照无误"}); r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Raw)
	}
	var got struct {
		name, idType, hint, nationality, validTo, realname string
		sealed, bidx                                       []byte
		source                                             *int64
		pinned, due                                        bool
	}
	if err := b.pool.QueryRow(context.Background(), `SELECT rep_name, rep_id_type, rep_id_hint, rep_nationality, rep_id_valid_to::text, realname_status,
			rep_id_sealed, rep_id_bidx, rep_source, rep_pinned, realname_next_check_at = $2
		FROM account WHERE id = $1`, e.id, b.clock.Now()).Scan(&got.name, &got.idType, &got.hint, &got.nationality, &got.validTo, &got.realname,
		&got.sealed, &got.bidx, &got.source, &got.pinned, &got.due); err != nil {
		t.Fatal(err)
	}
	opened, err := account.OpenRepID(b.keys, got.sealed)
	if err != nil || opened != newRep || string(got.bidx) != string(account.IDIndex(b.keys, newRep)) || got.hint != pii.MaskID(newRep) ||
		got.name != "王五" || got.idType != "居民身份证" || got.nationality != "CHN" || got.validTo != "infinity" ||
		got.source == nil || *got.source != lineage || !got.pinned {
		t.Errorf("representative after approval: %+v (ID %q, %v); want scjg's row 6, pinned", got, opened, err)
	}
	if got.realname != "unverified" || !got.due {
		t.Errorf("realname %s, check due now %v: want checked again", got.realname, got.due)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_session WHERE account_id = $1 AND stale_at IS NOT NULL`, e.id); n == 0 {
		t.Error("the legal person's session is not stale after its representative changed")
	}
	if r := session.get("/api/v1/settings/legal/realname"); r.Status != http.StatusUnauthorized {
		t.Errorf("the stale session still answers: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM merge_conflict WHERE id = $1 AND status = 'resolved' AND resolved_value = $2`, other, "王五 "+pii.MaskID(newRep)); n != 1 {
		t.Error("the other conflict of representatives is not resolved with the approved one")
	}
	if n := b.count(t, `SELECT count(*) FROM staff_proposal WHERE id = $1 AND status = 'superseded'`, otherProposal); n != 1 {
		t.Error("the other conflict's proposal left in 审核's queue")
	}
	if v := kf.get("/api/v1/admin/accounts/" + ref); !strings.Contains(v.Raw, fmt.Sprintf(`{"field":"rep","label":"法定代表人","lineage_id":%d,"source":"工作人员核定"}`, lineage)) {
		t.Errorf("the account's sources do not show the pinned representative: %s", v.Raw)
	}

	// The registrant's own upgrade later (实名等级升级): its representative
	// and name are the registrant's, no longer staff's.
	b.exec(t, `UPDATE account SET name_pinned = true WHERE id = $1`, e.id)
	if err := account.ApplyLegalUpgrade(context.Background(), b.pool, e.id, account.LegalUpgrade{Type: "enterprise", Name: e.Name, RepName: "王五",
		RepIDType: "居民身份证", RepIDSealed: account.SealRepID(b.keys, newRep), RepIDBidx: account.IDIndex(b.keys, newRep), RepIDHint: pii.MaskID(newRep)},
		b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND NOT rep_pinned AND NOT name_pinned`, e.id); n != 1 {
		t.Error("the registrant's own representative is still shown as staff's")
	}

	// The account's own representative chosen, then changed by the
	// registrant before the approval: nothing is pinned in its name.
	g := b.activeLegal(t, "海南示例变更有限公司", "13812340069", "K9#vTq2!mZ")
	gc, _ := b.repConflict(t, g, "王五", residentID("19830303"), 9)
	if r := resolve(kf, caseOf(t, kf, "credit_code", g.CreditCode), gc, 0, "维持原法定代表人"); r.Status != http.StatusCreated {
		t.Fatalf("propose the account's own: %d %s", r.Status, r.Raw)
	}
	b.exec(t, `UPDATE account SET rep_name = '孙八' WHERE id = $1`, g.id)
	gp := b.column(t, `SELECT id::text FROM staff_proposal WHERE account_id = $1 AND status = 'pending'`, g.id)[0]
	if r := sh.post("/api/v1/admin/proposals/"+gp+"/approve", map[string]string{"reason": "同意"}); r.Status != http.StatusConflict || r.str("error") != "proposal_decided" {
		t.Errorf("approve the own representative changed since: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND rep_pinned`, g.id); n != 0 {
		t.Error("a representative changed since the proposal was pinned")
	}

	// The stored representative, or a row of the same ID: pinned only.
	for i, choice := range []int{0, 1} {
		f := b.activeLegal(t, fmt.Sprintf("海南示例%d有限公司", i), fmt.Sprintf("1381234006%d", i), "K9#vTq2!mZ")
		b.legalBrowser(t, f)
		c, _ := b.repConflict(t, f, "吴斌", f.RepID, 7+int64(i))
		if r := resolve(kf, caseOf(t, kf, "credit_code", f.CreditCode), c, choice, "核对无误"); r.Status != http.StatusCreated {
			t.Fatalf("propose choice %d: %d %s", choice, r.Status, r.Raw)
		}
		pid := b.column(t, `SELECT id::text FROM staff_proposal WHERE account_id = $1 AND status = 'pending'`, f.id)[0]
		if r := sh.post("/api/v1/admin/proposals/"+pid+"/approve", map[string]string{"reason": "同意"}); r.Status != http.StatusOK {
			t.Fatalf("approve choice %d: %d %s", choice, r.Status, r.Raw)
		}
		if n := b.count(t, `SELECT count(*) FROM account WHERE id = $1 AND rep_pinned AND realname_status = 'verified' AND rep_id_bidx = $2`,
			f.id, account.IDIndex(b.keys, f.RepID)); n != 1 {
			t.Errorf("choice %d: the representative is not kept and pinned, verified", choice)
		}
		if n := b.count(t, `SELECT count(*) FROM auth_session WHERE account_id = $1 AND stale_at IS NOT NULL`, f.id); n != 0 {
			t.Errorf("choice %d: %d sessions made stale by the same representative", choice, n)
		}
	}
}
