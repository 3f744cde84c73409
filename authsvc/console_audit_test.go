package authsvc

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/pii"
)

// auditFixture writes audit rows as the owner: at is Asia/Shanghai.
func (b *testBundle) auditFixture(t testing.TB, at, event, outcome, subject, detail string, bidx []byte) int64 {
	t.Helper()
	when, err := time.ParseInLocation("2006-01-02 15:04", at, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if bidx == nil {
		bidx = make([]byte, 32)
	}
	var id int64
	if err := b.pool.QueryRow(context.Background(), `INSERT INTO auth_audit (at, event, outcome, subject, ip, detail, account_bidx)
		VALUES ($1, $2, $3, $4, '10.0.0.9', $5, $6) RETURNING id`, when, event, outcome, subject, detail, bidx).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func (b *testBundle) idBidx(t testing.TB, id int64) []byte {
	t.Helper()
	var out []byte
	if err := b.pool.QueryRow(context.Background(), `SELECT id_bidx FROM account WHERE id = $1`, id).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConsoleAuditSearch: 审计 finds exactly the rows of each filter
// (Asia/Shanghai dates, exact event, every staff action, staff member,
// outcome, account by its whole ID number or credit code), newest first,
// 100 a page; a partial ID number and a malformed date are refused; the
// staff fields are parsed from the detail; every search is audited with
// its filters, the account masked. The export's CSV parses, starts with a
// BOM, guards formula cells, and is audited.
func TestConsoleAuditSearch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "韩洪阳", "13812340001")
	e := b.fusedLegal(t, "海南椰风科技有限公司", "13812340002")
	au := b.staffBrowser(t, "aud.one", "shenji")

	r1 := b.auditFixture(t, "2026-11-20 23:30", "admin_unlock", "ok", "kf.a", "staff=kf.a; role=kefu; target=1*****1; reason=客户来电", b.idBidx(t, c.id))
	r2 := b.auditFixture(t, "2026-11-21 00:30", "admin_lookup", "none", "kf.b", "staff=kf.b; role=kefu; target=1*****2; by=id_number; found=0", nil)
	r3 := b.auditFixture(t, "2026-11-22 09:00", "login_password", "fail", "", "wrong password", b.idBidx(t, c.id))
	r4 := b.auditFixture(t, "2026-11-23 09:00", "admin_unlock", "ok", "kf.b", "staff=kf.b; role=kefu; target=9*****9; reason=法人来电", b.idBidx(t, e.id))
	r5 := b.auditFixture(t, "2026-11-24 09:00", "x_formula", "ok", "=1+2", "staff=@evil; role=kefu; target=+1; reason=-2+3", nil)

	// A search naming the account by its number is a POST (the number
	// never in a URL); the others are GETs.
	search := func(q string) response {
		t.Helper()
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		if v.Has("target") {
			body := map[string]string{}
			for k := range v {
				body[k] = v.Get(k)
			}
			return au.post("/api/v1/admin/audit", body)
		}
		return au.get("/api/v1/admin/audit?" + q)
	}
	ids := func(r response) []int64 {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("search: %d %s", r.Status, r.Raw)
		}
		var out []int64
		for _, e := range r.Body["entries"].([]any) {
			out = append(out, int64(e.(map[string]any)["id"].(float64)))
		}
		return out
	}
	const upTo = "&to=2026-11-26" // before the bundle's own rows (2026-11-27)
	for _, tc := range []struct {
		q    string
		want []int64
	}{
		{"event=admin_unlock", []int64{r4, r1}},
		{"event=admin_*" + upTo, []int64{r4, r2, r1}},
		{"staff=kf.b", []int64{r4, r2}},
		{"outcome=fail" + upTo, []int64{r3}},
		{"from=2026-11-21&to=2026-11-22", []int64{r3, r2}},
		{"to=2026-11-20", []int64{r1}},
		{"target=" + url.QueryEscape(" "+strings.ToLower(c.IDNumber)) + upTo, []int64{r3, r1}},
		{"target=" + e.CreditCode + upTo, []int64{r4}},
		{"event=admin_unlock&staff=kf.a", []int64{r1}},
		{"event=x_formula", []int64{r5}},
	} {
		if got := ids(search(tc.q)); !slices.Equal(got, tc.want) {
			t.Errorf("search %s: %v, want %v", tc.q, got, tc.want)
		}
	}
	r := search("event=admin_unlock&staff=kf.a")
	got := r.Body["entries"].([]any)[0].(map[string]any)
	if got["staff"] != "kf.a" || got["role"] != "kefu" || got["target"] != "1*****1" || got["reason"] != "客户来电" ||
		got["event_name"] != "解锁账号" || got["at"] != "2026-11-20 23:30:00" || !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(got["hash"].(string)) {
		t.Errorf("entry: %v", got)
	}
	for _, q := range []string{"target=" + c.IDNumber[:10], "target=" + e.CreditCode[:12]} {
		if r := search(q); r.Status != http.StatusBadRequest || r.str("error") != "lookup_partial" {
			t.Errorf("search %s: %d %s, want lookup_partial", q, r.Status, r.Raw)
		}
	}
	if r := search("from=2026/11/20"); r.Status != http.StatusBadRequest || r.str("error") != "audit_filter" {
		t.Errorf("malformed date: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_audit_search' AND subject = 'aud.one' AND outcome = 'ok'
		AND detail LIKE 'staff=aud.one; role=shenji; filters=%event=admin_unlock staff=kf.a%'`); n != 2 {
		t.Errorf("%d audited searches by event and staff, want 2", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_audit_search' AND (detail LIKE '%' || $1 || '%' OR detail LIKE '%' || $2 || '%')`,
		c.IDNumber, e.CreditCode); n != 0 {
		t.Errorf("%d search audit rows name a whole number", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_audit_search' AND detail LIKE '%account=' || $1 || '%'`, pii.MaskID(strings.ToUpper(c.IDNumber))); n != 1 {
		t.Errorf("%d search audit rows name the account masked, want 1", n)
	}

	// Pages: 100 rows, then the rest, no row twice.
	if _, err := b.pool.Exec(context.Background(), `INSERT INTO auth_audit (at, event, outcome) SELECT now(), 'page_test', 'ok' FROM generate_series(1, 150)`); err != nil {
		t.Fatal(err)
	}
	r = search("event=page_test")
	first, next := ids(r), int64(r.Body["next_before"].(float64))
	if len(first) != 100 || next != first[99] || !slices.IsSortedFunc(first, func(a, b int64) int { return int(b - a) }) {
		t.Fatalf("first page: %d rows, next %d", len(first), next)
	}
	r = search("event=page_test&before=" + itoa(next))
	if second := ids(r); len(second) != 50 || second[0] >= first[99] || r.Body["next_before"].(float64) != 0 {
		t.Errorf("second page: %d rows from %v, next %v", len(second), second[:1], r.Body["next_before"])
	}

	// The page.
	if r := au.get("/admin/audit?event=admin_unlock"); r.Status != http.StatusOK || !strings.Contains(r.Raw, "解锁账号") ||
		!strings.Contains(r.Raw, "客户来电") || !strings.Contains(r.Raw, "/admin/audit/export?event=admin_unlock") {
		t.Errorf("audit page: %d %.300s", r.Status, r.Raw)
	}

	// The export.
	r = au.get("/admin/audit/export?event=x_formula")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(r.Raw, "\uFEFF") {
		t.Fatalf("export: %d %q %.100q", r.Status, r.Header.Get("Content-Type"), r.Raw)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.Raw, "\uFEFF"))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("export CSV: %v, %d records", err, len(recs))
	}
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	if row["主体"] != "'=1+2" || row["工作人员"] != "'@evil" || row["对象"] != "'+1" || row["原因"] != "'-2+3" || row["事件"] != "x_formula" || row["编号"] != itoa(r5) {
		t.Errorf("export row: %v", row)
	}
	// The account's number never in a URL: a GET with it is refused; the
	// search's token of the account serves the export (in this session
	// only).
	if r := au.get("/api/v1/admin/audit?target=" + e.CreditCode); r.Status != http.StatusBadRequest || r.str("error") != "audit_target_in_url" {
		t.Errorf("search by number in the URL: %d %s", r.Status, r.Raw)
	}
	if r := au.get("/admin/audit/export?target=" + e.CreditCode); r.Status != http.StatusBadRequest {
		t.Errorf("export by number in the URL: %d", r.Status)
	}
	tok := search("target=" + e.CreditCode).str("account")
	if tok == "" || strings.Contains(tok, e.CreditCode) {
		t.Fatalf("no account token: %q", tok)
	}
	if r := b.staffBrowser(t, "aud.two", "shenji").get("/api/v1/admin/audit?account=" + tok); r.Status != http.StatusBadRequest {
		t.Errorf("another session's account token: %d %s", r.Status, r.Raw)
	}
	r = au.get("/admin/audit/export?event=admin_unlock&account=" + tok + upTo)
	if recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.Raw, "\uFEFF"))).ReadAll(); err != nil || len(recs) != 2 || recs[1][0] != itoa(r4) {
		t.Errorf("export by account: %v %v", err, recs)
	}
	// The page: the form posts the number and goes on to a URL without
	// it.
	r = au.form("/admin/audit", url.Values{"event": {"admin_unlock"}, "target": {c.IDNumber}, "to": {"2026-11-26"}})
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || strings.Contains(loc, c.IDNumber) || !strings.Contains(loc, "account=") {
		t.Fatalf("the page's search: %d %q", r.Status, loc)
	}
	if code, page := au.page(loc); code != http.StatusOK || strings.Contains(page, c.IDNumber) || !strings.Contains(page, "客户来电") ||
		strings.Contains(page, "法人来电") {
		t.Errorf("the page of the account's rows: %d", code)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_audit_export' AND subject = 'aud.one' AND outcome = 'ok'
		AND detail LIKE 'staff=aud.one; role=shenji; filters=%event=x_formula%'`); n != 1 {
		t.Errorf("%d audited exports, want 1", n)
	}
}

// TestConsoleAuditChain: 审计 checks the audit chain from the console:
// intact, then broken at the row an owner rewrote; each check audited.
func TestConsoleAuditChain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	au := b.staffBrowser(t, "aud.two", "shenji")
	r := au.post("/api/v1/admin/audit/verify", map[string]string{})
	if r.Status != http.StatusOK || r.Body["ok"] != true || r.Body["checked"].(float64) < 2 {
		t.Fatalf("verify: %d %s", r.Status, r.Raw)
	}
	id := b.auditFixture(t, "2026-11-20 10:00", "x_victim", "ok", "", "original", nil)
	b.auditFixture(t, "2026-11-20 10:01", "x_after", "ok", "", "", nil)
	if _, err := b.pool.Exec(context.Background(), `ALTER TABLE auth_audit DISABLE TRIGGER auth_audit_append_only;
		UPDATE auth_audit SET detail = 'rewritten' WHERE id = `+itoa(id)+`;
		ALTER TABLE auth_audit ENABLE TRIGGER auth_audit_append_only`); err != nil {
		t.Fatal(err)
	}
	r = au.post("/api/v1/admin/audit/verify", map[string]string{})
	if r.Status != http.StatusOK || r.Body["ok"] != false || int64(r.Body["broken_id"].(float64)) != id {
		t.Errorf("verify a broken chain: %d %s", r.Status, r.Raw)
	}
	if r := au.form("/admin/audit/verify", url.Values{}); r.Status != http.StatusOK || !strings.Contains(r.Raw, "审计链在第 "+itoa(id)+" 条记录处断裂") {
		t.Errorf("verify page: %d %.300s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_audit_verify' AND subject = 'aud.two' AND outcome = 'ok'
		AND detail LIKE 'staff=aud.two; role=shenji; checked=%'`); n != 1 {
		t.Errorf("%d audited intact checks, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_audit_verify' AND outcome = 'broken' AND detail LIKE '%broken_at=' || $1`, itoa(id)); n != 2 {
		t.Errorf("%d audited broken checks, want 2", n)
	}
}
