package authsvc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineageFixture records that the account (by its ID) was fused from a
// row of a file of each of two departments: the name from 公安 row 7, the
// phone from 人社 row 12 (the address left to the citizen); and an open
// conflict on its name between the two rows, and one on its birth date.
func (b *testBundle) lineageFixture(t *testing.T, accountID int64) {
	t.Helper()
	ctx := context.Background()
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var run, gaFile, rsFile, gaRow, rsRow int64
	var bidx []byte
	for _, q := range []struct {
		sql  string
		args []any
		into any
	}{
		{`SELECT id_bidx FROM account WHERE id = $1`, []any{accountID}, &bidx},
		{`INSERT INTO department (code, name, priority) VALUES ('gaj', '省公安厅', 1), ('rsj', '省人社厅', 2) RETURNING 0`, nil, new(int)},
		{`INSERT INTO import_run (started_at, ledger) VALUES (now(), '{}') RETURNING id`, nil, &run},
		{`INSERT INTO source_file (dept, sha256) VALUES ('gaj', 'sha-ga') RETURNING id`, nil, &gaFile},
		{`INSERT INTO source_file (dept, sha256) VALUES ('rsj', 'sha-rs') RETURNING id`, nil, &rsFile},
		{`INSERT INTO import_file (run_id, file_id, dept, sha256, name, format, rows_read, rows_accepted, rows_rejected, warnings)
			VALUES ($1, $2, 'gaj', 'sha-ga', 'gaj_2026.csv', 'csv', 10, 10, 0, 0), ($1, $3, 'rsj', 'sha-rs', 'rs_renyuan.xlsx', 'xlsx', 20, 20, 0, 0) RETURNING 0`,
			[]any{&run, &gaFile, &rsFile}, new(int)},
		{`INSERT INTO account_lineage (account_bidx, run_id, file_id, row_num, priority) VALUES ($1, $2, $3, 7, 1) RETURNING id`, []any{&bidx, &run, &gaFile}, &gaRow},
		{`INSERT INTO account_lineage (account_bidx, run_id, file_id, row_num, priority) VALUES ($1, $2, $3, 12, 2) RETURNING id`, []any{&bidx, &run, &rsFile}, &rsRow},
	} {
		args := make([]any, len(q.args))
		for i, a := range q.args { // the pointers of the rows before
			switch p := a.(type) {
			case *int64:
				args[i] = *p
			case *[]byte:
				args[i] = *p
			default:
				args[i] = a
			}
		}
		if err := tx.QueryRow(ctx, q.sql, args...).Scan(q.into); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE account SET name_source = $2, phone_source = $3, address_source = NULL WHERE id = $1`, accountID, gaRow, rsRow); err != nil {
		t.Fatal(err)
	}
	names, _ := json.Marshal([]map[string]any{
		{"value": "韩洪阳", "sources": []map[string]any{{"dept": "gaj", "file_sha256": "sha-ga", "row": 7}}},
		{"value": "韩红阳", "sources": []map[string]any{{"dept": "rsj", "file_sha256": "sha-rs", "row": 12}}},
	})
	births, _ := json.Marshal([]map[string]any{
		{"value": "1990-03-07", "source": "id_number"},
		{"value": "1990-07-03", "sources": []map[string]any{{"dept": "rsj", "file_sha256": "sha-rs", "row": 12}}},
	})
	if _, err := tx.Exec(ctx, `INSERT INTO merge_conflict (account_id, account_bidx, field, candidates, run_id)
		VALUES ($1, $2, 'name', $3, $5), ($1, $2, 'birth_date', $4, $5), ($1, $2, 'address', '[{"value":"旧的","sources":[]}]', $5)`,
		accountID, bidx, string(names), string(births), run); err != nil {
		t.Fatal(err)
	}
	// The address conflict was resolved: not shown.
	if _, err := tx.Exec(ctx, `UPDATE merge_conflict SET status = 'resolved' WHERE field = 'address'`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// lookupRef is the case reference a lookup of the ID number hands br.
func lookupRef(t *testing.T, br *browser, kind, value string) string {
	t.Helper()
	r := br.post("/api/v1/admin/lookup", map[string]string{"kind": kind, "value": value})
	accs, _ := r.Body["accounts"].([]any)
	if r.Status != http.StatusOK || len(accs) != 1 {
		t.Fatalf("lookup %s: %d %s", kind, r.Status, r.Raw)
	}
	return accs[0].(map[string]any)["ref"].(string)
}

// TestConsoleViewAccount: the account page and its JSON twin show, masked,
// the lineage (both departments' files and rows), where each value came
// from (a department's row, or 本人设置), the open conflicts with their
// sources, the upstream link, the agent authorization (from either side)
// and the recent logins and failures; never the full ID number, phone or
// name.
func TestConsoleViewAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.fused(t, "韩洪阳", "13812340101")
	b.lineageFixture(t, c.id)
	e := b.fusedLegal(t, "海南椰风科技有限公司", "13812340102")
	b.authorize(t, e.id, c.id, AgentEnabled)
	if _, err := b.pool.Exec(ctx, `INSERT INTO upstream_link (account_id, account_bidx, provider, subject_hash, linked_at, last_login_at)
		SELECT id, id_bidx, 'gjzw', '\x0102', now(), now() FROM account WHERE id = $1`, c.id); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"ok", "fail"} {
		if err := b.svc.auditIn(ctx, b.pool, auditEvent{event: methodPassword.event, outcome: o, account: c.id, ip: "203.0.113.7"}); err != nil {
			t.Fatal(err)
		}
	}
	kf := b.staffBrowser(t, "kf.view", "kefu")
	ref := lookupRef(t, kf, "id_number", c.IDNumber)

	r := kf.get("/api/v1/admin/accounts/" + ref)
	if r.Status != http.StatusOK {
		t.Fatalf("account view: %d %s", r.Status, r.Raw)
	}
	var v accountView
	if err := json.Unmarshal([]byte(r.Raw), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Lineage) != 2 || v.Lineage[0].DeptName != "省公安厅" || v.Lineage[0].File != "gaj_2026.csv" || v.Lineage[0].Row != 7 ||
		v.Lineage[1].DeptName != "省人社厅" || v.Lineage[1].File != "rs_renyuan.xlsx" || v.Lineage[1].Row != 12 {
		t.Errorf("lineage: %+v", v.Lineage)
	}
	sources := map[string]string{}
	for _, s := range v.Sources {
		sources[s.Field] = s.Source
	}
	if sources["name"] != "来源：省公安厅 gaj_2026.csv 第7行" || sources["phone"] != "来源：省人社厅 rs_renyuan.xlsx 第12行" || sources["address"] != "本人设置" {
		t.Errorf("sources: %v", sources)
	}
	if len(v.Conflicts) != 2 {
		t.Fatalf("open conflicts: %+v, want name and birth date", v.Conflicts)
	}
	if n := v.Conflicts[0]; n.Label != "姓名" || len(n.Candidates) != 2 || n.Candidates[0].Value != "韩****" || n.Candidates[1].Value != "韩****" ||
		n.Candidates[0].Sources[0] != "来源：省公安厅 gaj_2026.csv 第7行" || n.Candidates[1].Sources[0] != "来源：省人社厅 rs_renyuan.xlsx 第12行" {
		t.Errorf("name conflict: %+v", n)
	}
	if d := v.Conflicts[1]; d.Label != "出生日期" || d.Candidates[0].Value != "1990-03-07" || d.Candidates[0].Sources[0] != "证件号码" ||
		d.Candidates[1].Value != "1990-07-03" {
		t.Errorf("birth date conflict: %+v", d)
	}
	if len(v.Upstreams) != 1 || v.Upstreams[0].Provider != "gjzw" || strings.Contains(r.Raw, "0102") {
		t.Errorf("upstreams: %+v", v.Upstreams)
	}
	if len(v.Agents) != 1 || v.Agents[0].Role != "所代理企业" || v.Agents[0].Name != e.Name || v.Agents[0].State != "启用" {
		t.Errorf("agents of the citizen: %+v", v.Agents)
	}
	var ok, failed bool
	for _, a := range v.Activity {
		ok = ok || (a.Label == "密码登录" && a.Outcome == "成功" && a.IP == "203.0.113.7")
		failed = failed || (a.Label == "密码登录" && a.Outcome == "失败")
	}
	if !ok || !failed {
		t.Errorf("recent activity: %+v", v.Activity)
	}
	page := kf.get("/admin/accounts/" + ref)
	for _, want := range []string{"来源：省公安厅 gaj_2026.csv 第7行", "来源：省人社厅 rs_renyuan.xlsx 第12行", "本人设置", "出生日期", "1990-07-03",
		"海南椰风科技有限公司", "启用", "密码登录", "失败", "gjzw"} {
		if !strings.Contains(page.Raw, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	for _, raw := range []string{r.Raw, page.Raw} {
		for _, clear := range []string{c.IDNumber, c.Phone, c.Name, "韩红阳", "洪阳"} {
			if strings.Contains(raw, clear) {
				t.Errorf("the account's view shows %q in clear", clear)
			}
		}
	}

	// The legal account: its particulars and its agent, masked.
	lr := kf.get("/api/v1/admin/accounts/" + lookupRef(t, kf, "credit_code", e.CreditCode))
	var lv accountView
	if err := json.Unmarshal([]byte(lr.Raw), &lv); err != nil {
		t.Fatal(err)
	}
	if lv.Legal == nil || lv.Legal.Type != "企业" || lv.Legal.Realname != "未认证" || lv.Legal.RepName != "吴****" ||
		lv.Legal.ContactName != "韩****" || lv.Legal.RepIDHint == "" {
		t.Errorf("legal particulars: %+v", lv.Legal)
	}
	if len(lv.Agents) != 1 || lv.Agents[0].Role != "经办人" || lv.Agents[0].Name != "韩****" {
		t.Errorf("agents of the enterprise: %+v", lv.Agents)
	}
	for _, clear := range []string{e.CreditCode, e.RepID, e.Phone, "吴斌", c.IDNumber} {
		if strings.Contains(lr.Raw, clear) {
			t.Errorf("the legal account's view shows %q in clear", clear)
		}
	}
}

// TestConsoleUnmask: unmasking a field needs a reason; with one the value
// is returned once and audited with the staff member, role, reason, field
// and the masked ID as target; the 21st unmasking in an hour is refused
// (429, audited); another session's reference opens nothing.
func TestConsoleUnmask(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.fused(t, "韩洪阳", "13812340201")
	e := b.fusedLegal(t, "海南椰风科技有限公司", "13812340202")
	u := b.addStaff(t, "kf.unmask", "测试kf.unmask", "kefu")
	signIn := func() *browser { return b.staffIn(t, &u) }
	kf := signIn()
	ref := lookupRef(t, kf, "id_number", c.IDNumber)
	path := "/api/v1/admin/accounts/" + ref + "/unmask"
	unmasks := func() int {
		return b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_unmask' AND outcome = 'ok'`)
	}

	for _, reason := range []string{"", " ", "查"} {
		if r := kf.post(path, map[string]string{"field": "id_number", "reason": reason}); r.Status != http.StatusBadRequest ||
			r.str("error") != "reason_required" || strings.Contains(r.Raw, c.IDNumber) {
			t.Errorf("unmask with reason %q: %d %s", reason, r.Status, r.Raw)
		}
	}
	if r := kf.post(path, map[string]string{"field": "rep_id_number", "reason": "核实身份"}); r.Status != http.StatusBadRequest || r.str("error") != "unmask_field" {
		t.Errorf("unmask a natural account's rep_id_number: %d %s", r.Status, r.Raw)
	}
	if n := unmasks(); n != 0 {
		t.Fatalf("%d unmaskings audited before any", n)
	}

	r := kf.post(path, map[string]string{"field": "id_number", "reason": "来电核实身份"})
	if r.Status != http.StatusOK || r.str("value") != c.IDNumber || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("unmask: %d %s %v", r.Status, r.Raw, r.Header)
	}
	var subject, detail string
	var bidx []byte
	if err := b.pool.QueryRow(ctx, `SELECT subject, detail, account_bidx FROM auth_audit WHERE event = 'admin_unmask'`).Scan(&subject, &detail, &bidx); err != nil {
		t.Fatal(err)
	}
	var hint string
	var want []byte
	if err := b.pool.QueryRow(ctx, `SELECT id_hint, id_bidx FROM account WHERE id = $1`, c.id).Scan(&hint, &want); err != nil {
		t.Fatal(err)
	}
	if subject != "kf.unmask" || detail != "staff=kf.unmask; role=kefu; target="+hint+"; reason=来电核实身份; field=id_number" || string(bidx) != string(want) {
		t.Errorf("unmask audited as %q %q", subject, detail)
	}
	// Once: the account's page and view are masked again.
	if r := kf.get("/api/v1/admin/accounts/" + ref); strings.Contains(r.Raw, c.IDNumber) {
		t.Errorf("the view shows the ID number after the unmasking")
	}

	// On the page: shown once, the page not cached.
	page := kf.form("/admin/accounts/"+ref+"/unmask", url.Values{"field": {"phone"}, "reason": {"来电核实手机号"}})
	if page.Status != http.StatusOK || !strings.Contains(page.Raw, c.Phone) || page.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("unmask page: %d %v", page.Status, page.Header)
	}
	if p := kf.get("/admin/accounts/" + ref); strings.Contains(p.Raw, c.Phone) {
		t.Errorf("the page shows the phone after the unmasking")
	}
	if p := kf.form("/admin/accounts/"+ref+"/unmask", url.Values{"field": {"phone"}}); p.Status != http.StatusBadRequest ||
		strings.Contains(p.Raw, c.Phone) || !strings.Contains(p.Raw, "请填写操作原因") {
		t.Errorf("unmask page without a reason: %d", p.Status)
	}

	// A legal account's representative.
	lref := lookupRef(t, kf, "credit_code", e.CreditCode)
	if r := kf.post("/api/v1/admin/accounts/"+lref+"/unmask", map[string]string{"field": "rep_id_number", "reason": "核实法定代表人"}); r.Status != http.StatusOK ||
		r.str("value") != e.RepID {
		t.Errorf("unmask rep_id_number: %d %s", r.Status, r.Raw)
	}

	// Another session's reference opens nothing.
	kf2 := b.staffBrowser(t, "kf.other", "kefu")
	if r := kf2.post(path, map[string]string{"field": "name", "reason": "核实姓名"}); r.Status != http.StatusNotFound ||
		r.str("error") != "case_expired" || strings.Contains(r.Raw, c.Name) {
		t.Errorf("another session's reference: %d %s", r.Status, r.Raw)
	}

	// At most 20 an hour (3 so far), even asked all at once: the rest and
	// 3 more at the same time, 3 refused (429, audited, no value).
	left := maxUnmaskPerHour - unmasks()
	got := make(chan response, left+3)
	var wg sync.WaitGroup
	for range left + 3 {
		wg.Go(func() { got <- kf.post(path, map[string]string{"field": "name", "reason": "核实姓名"}) })
	}
	wg.Wait()
	close(got)
	statuses := map[int]int{}
	for r := range got {
		statuses[r.Status]++
		if r.Status == http.StatusTooManyRequests && (r.str("error") != "unmask_limit" || strings.Contains(r.Raw, c.Name)) {
			t.Errorf("an unmask over the bound: %s", r.Raw)
		}
	}
	if statuses[http.StatusOK] != left || statuses[http.StatusTooManyRequests] != 3 {
		t.Errorf("unmasks up to and over the bound: %v, want %d ok and 3 refused", statuses, left)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_unmask' AND outcome = 'refused' AND subject = 'kf.unmask'
		AND detail LIKE '%reason=核实姓名; field=name; limit'`); n != 3 {
		t.Errorf("%d refused unmaskings audited, want 3", n)
	}
	// Another staff member is not bound by it; an hour later, neither is
	// this one.
	if r := kf2.post("/api/v1/admin/accounts/"+lookupRef(t, kf2, "id_number", c.IDNumber)+"/unmask",
		map[string]string{"field": "name", "reason": "核实姓名"}); r.Status != http.StatusOK {
		t.Errorf("another staff member's unmask: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(time.Hour)
	kf = signIn()
	ref = lookupRef(t, kf, "id_number", c.IDNumber)
	if r := kf.post("/api/v1/admin/accounts/"+ref+"/unmask", map[string]string{"field": "name", "reason": "核实姓名"}); r.Status != http.StatusOK ||
		r.str("value") != c.Name {
		t.Errorf("unmask an hour later: %d %s", r.Status, r.Raw)
	}
}
