package authsvc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/idfusion/idfusion/internal/feedback"
	"github.com/idfusion/idfusion/internal/report"
)

// opsRun inserts a committed run of two files (gongan's and minzheng's)
// with its ledger, as an import leaves it: its id.
func opsRun(t *testing.T, b *testBundle) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := b.pool.QueryRow(ctx, `
		WITH d AS (INSERT INTO department (code, name, priority) VALUES ('gongan', '公安局', 1), ('minzheng', '民政局', 2)
		           ON CONFLICT DO NOTHING),
		     r AS (INSERT INTO import_run (started_at, finished_at, trigger, forced, ledger)
		           VALUES (now() - interval '1 minute', now(), 'schedule', false,
		                   '{"persons": 5, "new": 4, "updated": 1, "unchanged": 0, "conflicts": 1}') RETURNING id)
		SELECT id FROM r`).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range []struct{ dept, name string }{{"gongan", "gongan_2026-11.csv"}, {"minzheng", "minzheng_2026-11.xlsx"}} {
		if _, err := b.pool.Exec(ctx, `
			WITH s AS (INSERT INTO source_file (dept, sha256) VALUES ($2, $3) RETURNING id)
			INSERT INTO import_file (run_id, file_id, dept, sha256, name, format, encoding, rows_read, rows_accepted, rows_rejected, warnings)
			SELECT $1, s.id, $2, $3, $4, 'csv', 'utf-8', 3, 3 - $5, $5, 1 FROM s`, id, f.dept, strings.Repeat(strconv.Itoa(i), 64), f.name, i); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// TestConsoleOpsRuns: 运维 sees the runs with their totals, a run's files
// and ledger, the departments with their last runs, and downloads a
// run's feedback workbooks from the feedback folder (audited), nothing
// outside it.
func TestConsoleOpsRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := setup(t, func(c *Config) { c.FeedbackDir = dir })
	br := b.staffBrowser(t, "ops.runs", roleYunwei)
	id := opsRun(t, b)
	run := strconv.FormatInt(id, 10)

	// 运维's only.
	for _, rt := range b.svc.opsRoutes() {
		if !slices.Equal(rt.roles, []string{roleYunwei}) {
			t.Errorf("%s: roles %v, want 运维's only", rt.pattern, rt.roles)
		}
	}
	if r := b.staffBrowser(t, "ops.kefu", roleKefu, roleShenhe, roleShenji).get("/api/v1/admin/ops/runs/" + run); r.Status != http.StatusForbidden {
		t.Errorf("a run to 客服/审核/审计: %d", r.Status)
	}

	r := br.get("/api/v1/admin/ops/runs")
	runs, _ := r.Body["runs"].([]any)
	if r.Status != http.StatusOK || len(runs) != 1 {
		t.Fatalf("runs: %d %s", r.Status, r.Raw)
	}
	got, _ := runs[0].(map[string]any)
	if got["run_id"] != float64(id) || got["files"] != float64(2) || got["rows_read"] != float64(6) || got["rows_rejected"] != float64(1) ||
		got["trigger"] != "schedule" || got["persons"] != float64(5) || got["conflicts"] != float64(1) {
		t.Errorf("run: %s", r.Raw)
	}
	if p := br.get("/admin/ops/runs"); p.Status != http.StatusOK || !strings.Contains(p.Raw, `href="/admin/ops/runs/`+run+`"`) || !strings.Contains(p.Raw, "定时") {
		t.Errorf("runs page: %d %.500s", p.Status, p.Raw)
	}

	// The run's page: its files and ledger; no feedback folder for it yet.
	r = br.get("/api/v1/admin/ops/runs/" + run)
	detail, _ := r.Body["run"].(map[string]any)
	files, _ := detail["file_ledgers"].([]any)
	if r.Status != http.StatusOK || len(files) != 2 || r.Body["feedback_configured"] != true {
		t.Fatalf("run: %d %s", r.Status, r.Raw)
	}
	if f, _ := files[0].(map[string]any); f["name"] != "gongan_2026-11.csv" || f["dept"] != "gongan" || f["rows_read"] != float64(3) || f["warnings"] != float64(1) {
		t.Errorf("first file: %v", f)
	}
	if fb, _ := r.Body["feedback"].([]any); len(fb) != 0 {
		t.Errorf("feedback without the run's folder: %v", fb)
	}
	if p := br.get("/admin/ops/runs/" + run); !strings.Contains(p.Raw, "minzheng_2026-11.xlsx") || !strings.Contains(p.Raw, `id="feedback-none"`) {
		t.Errorf("run page: %.800s", p.Raw)
	}
	for _, bad := range []string{"0", "x", "999999"} {
		if r := br.get("/api/v1/admin/ops/runs/" + bad); r.Status != http.StatusNotFound {
			t.Errorf("run %s: %d", bad, r.Status)
		}
	}

	// The feedback folder: the run's workbooks are offered, a symlink out
	// of the folder and files of no department of the run are not.
	if feedbackName("gongan") != feedback.Name("gongan") {
		t.Errorf("feedbackName = %q, feedback.Name = %q", feedbackName("gongan"), feedback.Name("gongan"))
	}
	outside := filepath.Join(t.TempDir(), "secret.txt")
	runDir := filepath.Join(dir, "run-"+run)
	for name, content := range map[string]string{"gongan-feedback.xlsx": "PK-workbook", "gongan-feedback-rejects.csv": "row,reason\n",
		"other-feedback.xlsx": "x", "notes.txt": "x", "../secret-in-dir.txt": "dir secret", outside: "outside secret"} {
		p := filepath.Join(runDir, name)
		if filepath.IsAbs(name) {
			p = name
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(runDir, "minzheng-feedback.xlsx")); err != nil {
		t.Fatal(err)
	}
	r = br.get("/api/v1/admin/ops/runs/" + run)
	if fb, _ := r.Body["feedback"].([]any); len(fb) != 2 || fb[0] != "gongan-feedback-rejects.csv" || fb[1] != "gongan-feedback.xlsx" {
		t.Errorf("feedback: %s", r.Raw)
	}
	if p := br.get("/admin/ops/runs/" + run); !strings.Contains(p.Raw, `action="/admin/ops/runs/`+run+`/feedback/gongan-feedback.xlsx"`) {
		t.Errorf("run page without the workbook's link: %.800s", p.Raw)
	}
	download := func(name string) response {
		t.Helper()
		return br.form("/admin/ops/runs/"+run+"/feedback/"+name, url.Values{"reason": {"核对部门退回原因"}})
	}
	if r := br.form("/admin/ops/runs/"+run+"/feedback/gongan-feedback.xlsx", url.Values{}); r.Status != http.StatusBadRequest || r.Raw == "PK-workbook" {
		t.Errorf("download without a reason: %d", r.Status)
	}
	dl := download("gongan-feedback.xlsx")
	if dl.Status != http.StatusOK || dl.Raw != "PK-workbook" || !strings.Contains(dl.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %d %q %v", dl.Status, dl.Raw, dl.Header)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_feedback_download' AND subject = 'ops.runs'
		AND detail = 'staff=ops.runs; role=yunwei; target=run '||$1||'; reason=核对部门退回原因; file=gongan-feedback.xlsx'`, run); n != 1 {
		t.Errorf("%d admin_feedback_download rows", n)
	}
	for _, bad := range []string{"minzheng-feedback.xlsx", "other-feedback.xlsx", "notes.txt", "..%2Fsecret-in-dir.txt", "..%2F..%2Frun-" + run + "%2Fgongan-feedback.xlsx",
		url.PathEscape(outside), "%2Fetc%2Fpasswd", "gongan-feedback-..%2F..%2Fsecret-in-dir.csv"} {
		if r := download(bad); r.Status == http.StatusOK || strings.Contains(r.Raw, "secret") || strings.Contains(r.Raw, "root:") {
			t.Errorf("feedback %s: %d %.200s", bad, r.Status, r.Raw)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_feedback_download'`); n != 1 {
		t.Errorf("%d admin_feedback_download rows after the refusals, want 1", n)
	}

	// The departments with their last runs.
	r = br.get("/api/v1/admin/ops/departments")
	depts, _ := r.Body["departments"].([]any)
	if r.Status != http.StatusOK || len(depts) < 2 {
		t.Fatalf("departments: %d %s", r.Status, r.Raw)
	}
	for _, d := range depts {
		d, _ := d.(map[string]any)
		if (d["code"] == "gongan" || d["code"] == "minzheng") && (d["last_run_id"] != float64(id) || d["last_scheduled_finished_at"] == nil) {
			t.Errorf("department: %v", d)
		}
	}
	if p := br.get("/admin/ops/departments"); !strings.Contains(p.Raw, "公安局") {
		t.Errorf("departments page: %.500s", p.Raw)
	}

	// Without a feedback folder the run says so and offers nothing.
	b.svc.cfg.FeedbackDir = ""
	if p := br.get("/admin/ops/runs/" + run); !strings.Contains(p.Raw, `id="feedback-off"`) {
		t.Errorf("run page without a feedback folder: %.800s", p.Raw)
	}
	if r := download("gongan-feedback.xlsx"); r.Status != http.StatusNotFound {
		t.Errorf("download without a feedback folder: %d", r.Status)
	}
}

// rpOf is a relying party for the registered client id with secret.
func (b *testBundle) rpOf(t *testing.T, id, secret string) *relyingParty {
	t.Helper()
	ctx := gooidc.ClientContext(context.Background(), b.ts.Client())
	p, err := gooidc.NewProvider(ctx, b.ts.URL+"/oidc")
	if err != nil {
		t.Fatal(err)
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	return &relyingParty{t: t, b: b, ctx: ctx, provider: p, conf: oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: ep,
		RedirectURL: rpRedirect, Scopes: []string{gooidc.ScopeOpenID}}}
}

// TestConsoleOpsClients: 运维 registers a business system (the secret
// shown once), rotates its secret (the old one refused at the token
// endpoint, the new one accepted) and disables it (its authorization and
// token requests refused, its tokens inactive), each audited with a
// reason; and rotates the signing key (a new kid in the JWKS).
func TestConsoleOpsClients(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	br := b.staffBrowser(t, "ops.clients", roleYunwei)
	audited := func(action, target, reason string) {
		t.Helper()
		if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = $1 AND subject = 'ops.clients' AND outcome = 'ok'
			AND detail LIKE 'staff=ops.clients; role=yunwei; target=' || $2 || '; reason=' || $3 || '%'`, "admin_"+action, target, reason); n != 1 {
			t.Errorf("%d admin_%s rows for %s", n, action, target)
		}
	}

	add := map[string]any{"id": "portal", "name": "门户", "redirect_uris": []string{rpRedirect}}
	if r := br.post("/api/v1/admin/ops/clients", add); r.Status != http.StatusBadRequest || r.str("error") != "reason_required" {
		t.Errorf("add without a reason: %d %s", r.Status, r.Raw)
	}
	add["reason"] = "门户上线"
	r := br.post("/api/v1/admin/ops/clients", add)
	first := r.str("client_secret")
	if r.Status != http.StatusCreated || first == "" {
		t.Fatalf("add: %d %s", r.Status, r.Raw)
	}
	audited("client_add", "portal", "门户上线")
	if r := br.post("/api/v1/admin/ops/clients", add); r.Status != http.StatusConflict || r.str("error") != "client_exists" {
		t.Errorf("add again: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/admin/ops/clients", map[string]any{"id": "bad", "redirect_uris": []string{"http://rp.example/cb"}, "reason": "测试"}); r.Status != http.StatusBadRequest || r.str("error") != "client_invalid" {
		t.Errorf("add with an http redirect: %d %s", r.Status, r.Raw)
	}
	for _, id := range []string{"", "a/b", "x y", "../x", "<i>"} {
		if r := br.post("/api/v1/admin/ops/clients", map[string]any{"id": id, "redirect_uris": []string{"https://rp.example/cb"}, "reason": "测试"}); r.Status != http.StatusBadRequest ||
			r.str("error") != "client_invalid" {
			t.Errorf("client id %q: %d %s", id, r.Status, r.Raw)
		}
	}
	if r := br.get("/api/v1/admin/ops/clients"); !strings.Contains(r.Raw, `"ID":"portal"`) || strings.Contains(r.Raw, first) {
		t.Errorf("clients: %s", r.Raw)
	}

	// The secret works; rotated, the old one is refused and the new one
	// accepted for the same code.
	c := b.active(t, "周九", "13700137000", "Xy7#pQ2!wL")
	cit := b.browser(t)
	rp := b.rpOf(t, "portal", first)
	tok, _ := rp.signedIn(cit, c)
	if r := br.post("/api/v1/admin/ops/clients/portal/rotate", map[string]string{}); r.Status != http.StatusBadRequest || r.str("error") != "reason_required" {
		t.Errorf("rotate without a reason: %d %s", r.Status, r.Raw)
	}
	r = br.post("/api/v1/admin/ops/clients/portal/rotate", map[string]string{"reason": "密钥泄露"})
	second := r.str("client_secret")
	if r.Status != http.StatusOK || second == "" || second == first {
		t.Fatalf("rotate: %d %s", r.Status, r.Raw)
	}
	audited("client_rotate", "portal", "密钥泄露")
	code, verifier := rp.again(cit)
	if _, err := rp.exchange(code, verifier); err == nil {
		t.Error("the old secret was accepted after the rotation")
	}
	rp.conf.ClientSecret = second
	fresh, err := rp.exchange(code, verifier)
	if err != nil {
		t.Fatalf("the new secret: %v", err)
	}
	ep := rp.endpoints()
	if status, body, raw := rp.post(ep.Introspection, url.Values{"token": {fresh.AccessToken}}); status != http.StatusOK || body["active"] != true {
		t.Errorf("introspection before disabling: %d %s", status, raw)
	}

	// Disabled: a pending code is refused, the tokens are inactive, a new
	// authorization does not reach the client.
	code, verifier = rp.again(cit)
	if r := br.post("/api/v1/admin/ops/clients/portal/disable", map[string]string{"reason": "x"}); r.Status != http.StatusBadRequest {
		t.Errorf("disable with a one-letter reason: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/admin/ops/clients/portal/disable", map[string]string{"reason": "系统下线"}); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Raw)
	}
	audited("client_disable", "portal", "系统下线")
	if _, err := rp.exchange(code, verifier); err == nil {
		t.Error("a disabled client's code was exchanged")
	}
	if status, body, raw := rp.post(ep.Introspection, url.Values{"token": {fresh.AccessToken}}); status == http.StatusOK && body["active"] == true {
		t.Errorf("introspection after disabling: %d %s", status, raw)
	}
	if _, err := rp.userinfo(tok); err == nil {
		t.Error("userinfo with a disabled client's token succeeded")
	}
	if u, _ := cit.follow(rp.conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))); u.Host == "rp.example" && u.Query().Get("code") != "" {
		t.Errorf("a disabled client got a code: %s", u)
	}
	if r := br.post("/api/v1/admin/ops/clients/portal/rotate", map[string]string{"reason": "再次更换"}); r.Status != http.StatusConflict {
		t.Errorf("rotate a disabled client: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/admin/ops/clients/nobody/disable", map[string]string{"reason": "测试"}); r.Status != http.StatusNotFound {
		t.Errorf("disable an unknown client: %d %s", r.Status, r.Raw)
	}

	// The page: the secret shown once, on the answer to the form only.
	p := br.form("/admin/ops/clients", url.Values{"id": {"hr"}, "redirect_uris": {"https://hr.example/cb"}, "reason": {"人事系统"}})
	if p.Status != http.StatusOK || !strings.Contains(p.Raw, `id="secret-value"`) {
		t.Errorf("add by the form: %d %.800s", p.Status, p.Raw)
	}
	audited("client_add", "hr", "人事系统")
	if p := br.get("/admin/ops/clients"); strings.Contains(p.Raw, `id="secret-value"`) || !strings.Contains(p.Raw, "已停用") {
		t.Errorf("clients page: %.800s", p.Raw)
	}
	if p := br.form("/admin/ops/clients/hr/rotate", url.Values{}); p.Status != http.StatusBadRequest || !strings.Contains(p.Raw, "请填写操作原因") {
		t.Errorf("rotate by the form without a reason: %d", p.Status)
	}

	// Signing keys: the rotation puts a new kid in the JWKS; the old one
	// stays there, retiring.
	var disc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := rp.provider.Claims(&disc); err != nil {
		t.Fatal(err)
	}
	kids := func() []string {
		t.Helper()
		resp, err := b.ts.Client().Get(disc.JWKS)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, &set); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range set.Keys {
			out = append(out, k.Kid)
		}
		return out
	}
	before := kids()
	if r := br.post("/api/v1/admin/ops/keys/rotate", map[string]string{}); r.Status != http.StatusBadRequest || r.str("error") != "reason_required" {
		t.Errorf("key rotation without a reason: %d %s", r.Status, r.Raw)
	}
	r = br.post("/api/v1/admin/ops/keys/rotate", map[string]string{"reason": "例行轮换"})
	kid := r.str("kid")
	if r.Status != http.StatusOK || kid == "" || slices.Contains(before, kid) {
		t.Fatalf("key rotation: %d %s (before %v)", r.Status, r.Raw, before)
	}
	audited("key_rotate", kid, "例行轮换")
	after := kids()
	if !slices.Contains(after, kid) || len(before) == 0 || !slices.Contains(after, before[0]) {
		t.Errorf("JWKS after the rotation: %v, before %v", after, before)
	}
	r = br.get("/api/v1/admin/ops/keys")
	keys, _ := r.Body["keys"].([]any)
	if len(keys) != 2 {
		t.Fatalf("keys: %s", r.Raw)
	}
	if k, _ := keys[0].(map[string]any); k["kid"] != kid || k["active"] != true {
		t.Errorf("newest key: %v", k)
	}
	if k, _ := keys[1].(map[string]any); k["retiring"] != true {
		t.Errorf("old key: %v", k)
	}
	if p := br.form("/admin/ops/keys/rotate", url.Values{"reason": {"页面轮换"}}); p.Status != http.StatusOK || !strings.Contains(p.Raw, `id="rotated"`) {
		t.Errorf("key rotation by the form: %d %.500s", p.Status, p.Raw)
	}
}

// TestMaskConflict: the conflicts list masks a person's name and a name's
// candidates, a birth date's month and day, and no account id; an
// enterprise's name and a gender stay.
func TestMaskConflict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind, field, name, value, wantName, wantValue string
	}{
		{"natural", "name", "韩洪阳", "韩红阳", "韩****", "韩****"},
		{"natural", "birth_date", "韩洪阳", "1990-03-07", "韩****", "1990-**-**"},
		{"natural", "gender", "韩洪阳", "女", "韩****", "女"},
		{"legal", "rep_name", "海南椰风科技有限公司", "吴斌", "海南椰风科技有限公司", "吴****"},
	} {
		c := report.Conflict{AccountID: 7, Kind: tc.kind, Field: tc.field, Name: tc.name, Candidates: []report.Candidate{{Value: tc.value}}}
		maskConflict(&c)
		if c.Name != tc.wantName || c.Candidates[0].Value != tc.wantValue || c.AccountID != 0 {
			t.Errorf("%s %s: %+v", tc.kind, tc.field, c)
		}
	}
}
