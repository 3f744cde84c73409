package authsvc

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/pii"
)

// agentQ is the JSON of a search or an authorization of c.
func agentQ(name, id, phone string) map[string]string {
	return map[string]string{"name": name, "id_number": id, "phone": phone}
}

// idHint is an ID number as the agents' pages mask it: 130****0000.
func idHint(id string) string { return id[:3] + "****" + id[len(id)-4:] }

// legalBrowser is a browser signed in as the legal account.
func (b *testBundle) legalBrowser(t testing.TB, e enterprise) *browser {
	t.Helper()
	br := b.browser(t)
	b.signInAs(t, br, e.id)
	return br
}

// TestAgentSearchExact: 创建经办人 finds a natural account only by its
// name, ID number and phone, all three exactly (the ID number and phone
// as typed in any of their written forms); each partial or wrong field
// answers 未找到 and costs a try, audited; an empty field costs nothing; a
// legal account's data is never found; a citizen has no such search.
func TestAgentSearchExact(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	legal := b.activeLegal(t, "海南椰风科技有限公司", "13912360001", goodPassword)
	c := b.active(t, "韩洪阳", "13912360002", goodPassword)
	b.setUsername(t, c.id, "hiyang01")
	other := b.active(t, "张三", "13912360003", goodPassword)
	br := b.legalBrowser(t, legal)
	tries := func() int {
		return b.count(t, `SELECT count(*) FROM agent_search_try WHERE legal_account_id = $1`, legal.id)
	}
	misses := []struct {
		what string
		q    map[string]string
	}{
		{"part of the name", agentQ("韩洪", c.IDNumber, c.Phone)},
		{"another name", agentQ("张三", c.IDNumber, c.Phone)},
		{"part of the ID number", agentQ(c.Name, c.IDNumber[:14], c.Phone)},
		{"another's ID number", agentQ(c.Name, other.IDNumber, c.Phone)},
		{"part of the phone", agentQ(c.Name, c.IDNumber, c.Phone[:7])},
		{"another's phone", agentQ(c.Name, c.IDNumber, other.Phone)},
		{"the masked phone", agentQ(c.Name, c.IDNumber, pii.MaskPhone(c.Phone))},
		// The legal account's own values: its name, credit code, phone.
		{"the legal account", agentQ(legal.Name, legal.CreditCode, legal.Phone)},
	}
	for i, m := range misses {
		r := br.post("/api/v1/settings/agents/search", m.q)
		if r.Status != http.StatusNotFound || r.str("error") != "agent_not_found" || !strings.HasPrefix(r.str("message"), "未找到") {
			t.Errorf("%s: %d %s, want 未找到", m.what, r.Status, r.Raw)
		}
		if n := tries(); n != i+1 {
			t.Errorf("after %s: %d tries, want %d", m.what, n, i+1)
		}
	}
	// A legal account whose key were an ID number's index is no person.
	// (An account's key never changes in the service; the rows keyed by
	// it go first.)
	fake := residentID("19820303")
	if _, err := b.pool.Exec(ctx, `DELETE FROM agent_search_try WHERE legal_account_id = $1`, legal.id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, `UPDATE account SET id_bidx = $2 WHERE id = $1`, legal.id, account.IDIndex(b.keys, fake)); err != nil {
		t.Fatal(err)
	}
	if r := br.post("/api/v1/settings/agents/search", agentQ(legal.Name, fake, legal.Phone)); r.Status != http.StatusNotFound {
		t.Errorf("a legal account by an ID number: %d %s, want 未找到", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'agent_search' AND outcome = 'fail' AND account_id = $1`, legal.id); n != len(misses)+1 {
		t.Errorf("%d misses audited, want %d", n, len(misses)+1)
	}
	// An empty field is the form's error, not a try.
	before := tries()
	if r := br.post("/api/v1/settings/agents/search", agentQ(c.Name, "", c.Phone)); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("no ID number: %d %s", r.Status, r.Raw)
	}
	if tries() != before {
		t.Error("an empty field cost a try")
	}
	// The right three, the ID number in lower case and the phone with +86.
	r := br.post("/api/v1/settings/agents/search", agentQ(" 韩洪阳 ", strings.ToLower(c.IDNumber), "+86 "+c.Phone))
	if r.Status != http.StatusOK {
		t.Fatalf("the right three: %d %s", r.Status, r.Raw)
	}
	p, _ := r.Body["person"].(map[string]any)
	want := map[string]any{"username": "hi****", "name": "韩****", "id_hint": idHint(c.IDNumber), "phone_hint": pii.MaskPhone(c.Phone)}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("found %s = %v, want %v", k, p[k], v)
		}
	}
	if strings.Contains(r.Raw, c.IDNumber) || strings.Contains(r.Raw, c.Phone) || strings.Contains(r.Raw, "韩洪阳") {
		t.Errorf("the answer shows the person in clear: %s", r.Raw)
	}
	if tries() != before {
		t.Error("a hit cost a try")
	}
	// The page: 未找到, then the person with 授权.
	page := br.form("/settings/agents/search", url.Values{"name": {c.Name}, "id_number": {c.IDNumber}, "phone": {c.Phone}})
	if page.Status != http.StatusOK || !strings.Contains(page.Raw, `id="agent-authorize"`) || !strings.Contains(page.Raw, idHint(c.IDNumber)) {
		t.Errorf("the page's hit: %d %s", page.Status, page.Raw)
	}
	page = br.form("/settings/agents/search", url.Values{"name": {"韩洪"}, "id_number": {c.IDNumber}, "phone": {c.Phone}})
	if page.Status != http.StatusNotFound || !strings.Contains(page.Raw, "未找到") {
		t.Errorf("the page's miss: %d", page.Status)
	}
	// A citizen has no agents.
	cb := b.browser(t)
	b.signInAs(t, cb, other.id)
	if r := cb.post("/api/v1/settings/agents/search", agentQ(c.Name, c.IDNumber, c.Phone)); r.Status != http.StatusForbidden || r.str("error") != "not_legal" {
		t.Errorf("a citizen's search: %d %s", r.Status, r.Raw)
	}
	if r := cb.get("/api/v1/settings/agents"); r.Status != http.StatusForbidden {
		t.Errorf("a citizen's list: %d %s", r.Status, r.Raw)
	}
}

// TestAgentSearchLimit: a legal account's misses are limited (10 in 24
// hours), even when sent together; past the limit a right search and an
// authorization are refused too, audited; the limit is the legal
// account's, and it ends with the window.
func TestAgentSearchLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	legal := b.activeLegal(t, "海南椰风科技有限公司", "13912361001", goodPassword)
	otherLegal := b.activeLegal(t, "海南椰林贸易有限公司", "13912361002", goodPassword)
	c := b.active(t, "韩洪阳", "13912361003", goodPassword)
	br := b.legalBrowser(t, legal)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range agentSearchTries + 5 {
		wg.Go(func() {
			r := br.post("/api/v1/settings/agents/search", agentQ(c.Name, c.IDNumber, fmt.Sprintf("1391236%04d", 2000+i)))
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[http.StatusNotFound] != agentSearchTries || statuses[http.StatusTooManyRequests] != 5 {
		t.Errorf("parallel misses: %v, want %d 未找到 and 5 refused", statuses, agentSearchTries)
	}
	r := br.post("/api/v1/settings/agents/search", agentQ(c.Name, c.IDNumber, c.Phone))
	if r.Status != http.StatusTooManyRequests || r.str("error") != "agent_search_limit" {
		t.Errorf("the right three past the limit: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/settings/agents", agentQ(c.Name, c.IDNumber, c.Phone)); r.Status != http.StatusTooManyRequests {
		t.Errorf("授权 past the limit: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM agent_authorization WHERE legal_account_id = $1`, legal.id); n != 0 {
		t.Errorf("%d authorizations past the limit", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'agent_search' AND outcome = 'limited' AND account_id = $1`, legal.id); n != 7 {
		t.Errorf("%d refusals audited, want 7", n)
	}
	// Another legal account searches on.
	if r := b.legalBrowser(t, otherLegal).post("/api/v1/settings/agents/search", agentQ(c.Name, c.IDNumber, c.Phone)); r.Status != http.StatusOK {
		t.Errorf("another legal account: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(agentSearchWindow + time.Second)
	b.signInAs(t, br, legal.id)
	// The purge takes the misses that no longer count.
	if p, err := Purge(context.Background(), b.pool, b.clock.Now()); err != nil || p.AgentSearchTries != agentSearchTries {
		t.Errorf("purge: %d tries, %v", p.AgentSearchTries, err)
	}
	if r := br.post("/api/v1/settings/agents/search", agentQ(c.Name, c.IDNumber, c.Phone)); r.Status != http.StatusOK {
		t.Errorf("after 24 hours: %d %s", r.Status, r.Raw)
	}
}

var linkRE = regexp.MustCompile(`/agent/confirm\?t=([A-Za-z0-9_-]+)`)

// TestAgentAuthorize: 授权 makes a pending authorization for 24 hours
// whose link (its token's hash stored) the agent gets by SMS and in the
// service's inbox, with the seed's notice and never the ID number; a
// second 授权 of the pair is refused while one is live, and allowed once
// it expired; the form goes back to the list.
func TestAgentAuthorize(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	legal := b.activeLegal(t, "海南椰风科技有限公司", "13912362001", goodPassword)
	c := b.active(t, "韩洪阳", "13912362002", goodPassword)
	br := b.legalBrowser(t, legal)
	r := br.post("/api/v1/settings/agents", agentQ(c.Name, c.IDNumber, c.Phone))
	if r.Status != http.StatusCreated || r.str("state_label") != "验证中" {
		t.Fatalf("授权: %d %s", r.Status, r.Raw)
	}
	var sms string
	if err := b.pool.QueryRow(ctx, `SELECT body FROM sms_outbox WHERE phone_hint = $1 ORDER BY id DESC LIMIT 1`, pii.MaskPhone(c.Phone)).Scan(&sms); err != nil {
		t.Fatalf("no SMS to the agent: %v", err)
	}
	notice := "韩洪阳您好，吴斌授权您为海南椰风科技有限公司的经办人，可以代为办理公司事项。"
	if !strings.Contains(sms, notice) || !strings.Contains(sms, b.ts.URL+"/agent/confirm?t=") {
		t.Errorf("SMS %q", sms)
	}
	m := linkRE.FindStringSubmatch(sms)
	if m == nil {
		t.Fatalf("no link in %q", sms)
	}
	var state string
	var created, expires time.Time
	if err := b.pool.QueryRow(ctx, `SELECT state, created_at, expires_at FROM agent_authorization WHERE link_hash = $1 AND legal_account_id = $2 AND agent_account_id = $3`,
		hashToken(m[1]), legal.id, c.id).Scan(&state, &created, &expires); err != nil {
		t.Fatalf("the link's token is no authorization's: %v", err)
	}
	if state != "pending" || !created.Equal(b.clock.Now()) || expires.Sub(created) != AgentLinkTTL {
		t.Errorf("authorization %s from %s to %s", state, created, expires)
	}
	var body, link string
	if err := b.pool.QueryRow(ctx, `SELECT body, link FROM inbox_message WHERE account_id = $1`, c.id).Scan(&body, &link); err != nil {
		t.Fatalf("no inbox message: %v", err)
	}
	if body != notice || link != b.ts.URL+"/agent/confirm?t="+m[1] {
		t.Errorf("inbox %q %q", body, link)
	}
	for _, s := range []string{sms, body} {
		if strings.Contains(s, c.IDNumber) || strings.Contains(s, c.IDNumber[len(c.IDNumber)-4:]) {
			t.Errorf("the notice names the ID number: %q", s)
		}
	}
	dev := br.get("/dev/inbox")
	if dev.Status != http.StatusOK || !strings.Contains(dev.Raw, notice) || !strings.Contains(dev.Raw, pii.MaskPhone(c.Phone)) {
		t.Errorf("/dev/inbox: %d %s", dev.Status, dev.Raw)
	}
	// A second 授权 of the pair, by the page.
	again := br.form("/settings/agents", url.Values{"name": {c.Name}, "id_number": {c.IDNumber}, "phone": {c.Phone}})
	if again.Status != http.StatusConflict || !strings.Contains(again.Raw, "已是本企业的经办人") {
		t.Errorf("a second 授权: %d", again.Status)
	}
	if n := b.count(t, `SELECT count(*) FROM agent_authorization WHERE legal_account_id = $1`, legal.id); n != 1 {
		t.Errorf("%d authorizations", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'agent_authorize' AND outcome = 'refused' AND account_id = $1`, legal.id); n != 1 {
		t.Errorf("%d refusals audited", n)
	}
	// Unanswered for 24 hours: the pair may be authorized again.
	b.clock.Advance(AgentLinkTTL)
	b.signInAs(t, br, legal.id)
	r = br.form("/settings/agents", url.Values{"name": {c.Name}, "id_number": {c.IDNumber}, "phone": {c.Phone}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/center?done=agent#agents" {
		t.Fatalf("授权 after the first expired: %d %s", r.Status, r.Raw)
	}
	if got := b.column(t, `SELECT state FROM agent_authorization WHERE legal_account_id = $1 ORDER BY id`, legal.id); fmt.Sprint(got) != "[expired pending]" {
		t.Errorf("states %v", got)
	}
	if n := b.count(t, `SELECT count(*) FROM inbox_message WHERE account_id = $1`, c.id); n != 2 {
		t.Errorf("%d inbox messages", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'agent_authorize' AND outcome = 'ok' AND account_id = $1`, legal.id); n != 2 {
		t.Errorf("%d authorizations audited", n)
	}
}

// TestAgentList: the list (2.2.8) is the legal account's own
// authorizations, the oldest first, masked as the seed's (an account
// without a username shows none), 10 a page, each state's label (a pending
// one past 24 hours 已过期) and 操作.
func TestAgentList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	legal := b.activeLegal(t, "海南椰风科技有限公司", "13912363001", goodPassword)
	otherLegal := b.activeLegal(t, "海南椰林贸易有限公司", "13912363002", goodPassword)
	var people []citizen
	states := []AgentState{AgentPending, AgentEnabled, AgentDisabled, AgentRefused, AgentRevoked, AgentEnabled,
		AgentEnabled, AgentEnabled, AgentEnabled, AgentEnabled, AgentEnabled, AgentPending}
	for i, st := range states {
		c := b.fused(t, "韩洪阳", fmt.Sprintf("139123631%02d", i))
		people = append(people, c)
		b.authorize(t, legal.id, c.id, st)
		b.clock.Advance(time.Hour)
	}
	b.setUsername(t, people[1].id, "hiyang01")
	b.authorize(t, otherLegal.id, people[0].id, AgentEnabled)
	// The first pending one is past its 24 hours, the last not.
	b.clock.Advance(14 * time.Hour)
	br := b.legalBrowser(t, legal)
	r := br.get("/api/v1/settings/agents")
	if r.Status != http.StatusOK || r.Body["total"] != float64(12) || r.Body["pages"] != float64(2) || r.Body["page"] != float64(1) {
		t.Fatalf("page 1: %d %s", r.Status, r.Raw)
	}
	rows, _ := r.Body["agents"].([]any)
	if len(rows) != agentsPerPage {
		t.Fatalf("%d rows on page 1", len(rows))
	}
	wantState := []string{"已过期", "启用", "禁用", "已拒绝", "已撤销", "启用"}
	wantAction := []string{"", "禁用", "启用", "", "", "禁用"}
	for i, x := range rows {
		row := x.(map[string]any)
		c := people[i]
		if row["no"] != float64(i+1) || row["name"] != "韩****" || row["id_hint"] != idHint(c.IDNumber) || row["phone_hint"] != pii.MaskPhone(c.Phone) {
			t.Errorf("row %d: %v", i+1, row)
		}
		if i < len(wantState) && (row["state_label"] != wantState[i] || (row["action_label"] != nil && row["action_label"] != wantAction[i]) || (row["action_label"] == nil && wantAction[i] != "")) {
			t.Errorf("row %d: %v %v, want %s %s", i+1, row["state_label"], row["action_label"], wantState[i], wantAction[i])
		}
		if want := map[int]string{1: "hi****"}[i]; row["username"] != want {
			t.Errorf("row %d: username %q, want %q", i+1, row["username"], want)
		}
	}
	r = br.get("/api/v1/settings/agents?page=2")
	rows, _ = r.Body["agents"].([]any)
	if len(rows) != 2 || rows[0].(map[string]any)["no"] != float64(11) || rows[1].(map[string]any)["state_label"] != "验证中" ||
		rows[1].(map[string]any)["action_label"] != "撤销" {
		t.Errorf("page 2: %s", r.Raw)
	}
	if strings.Contains(r.Raw, people[11].IDNumber) || strings.Contains(r.Raw, people[11].Phone) {
		t.Error("the list shows an ID number or a phone in clear")
	}
	// The page: the table, its pages.
	page := br.get("/center")
	for _, want := range []string{`id="agent-list"`, "<th>序号</th><th>用户名</th><th>姓名</th><th>身份证号</th><th>手机号</th><th>账户状态</th><th>操作</th>",
		"hi****", idHint(people[2].IDNumber), `href="/center?page=2#agents"`, `id="create-agent"`} {
		if !strings.Contains(page.Raw, want) {
			t.Errorf("the center lacks %s", want)
		}
	}
	if page2 := br.get("/center?page=2"); !strings.Contains(page2.Raw, `id="agents-prev"`) || strings.Count(page2.Raw, `class="agent"`) != 2 {
		t.Errorf("the center's page 2: %s", page2.Raw)
	}
	// Another legal account sees its own only.
	if r := b.legalBrowser(t, otherLegal).get("/api/v1/settings/agents"); r.Body["total"] != float64(1) {
		t.Errorf("another legal account's list: %s", r.Raw)
	}
}

// TestAgentListActions: 禁用, 启用 and 撤销 from the list move the
// authorization through changeAgent as the legal account; another legal
// account's, an action not the legal person's, an unknown one and a
// citizen are refused, the state unchanged.
func TestAgentListActions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	legal := b.activeLegal(t, "海南椰风科技有限公司", "13912364001", goodPassword)
	otherLegal := b.activeLegal(t, "海南椰林贸易有限公司", "13912364002", goodPassword)
	c := b.active(t, "韩洪阳", "13912364003", goodPassword)
	d := b.active(t, "张三", "13912364004", goodPassword)
	enabled := b.authorize(t, legal.id, c.id, AgentEnabled)
	pending := b.authorize(t, legal.id, d.id, AgentPending)
	br, other := b.legalBrowser(t, legal), b.legalBrowser(t, otherLegal)
	act := func(br *browser, id int64, action string) response {
		return br.post(fmt.Sprintf("/api/v1/settings/agents/%d/%s", id, action), nil)
	}
	if r := act(other, enabled, "disable"); r.Status != http.StatusConflict || b.agentState(t, enabled) != AgentEnabled {
		t.Errorf("禁用 by another legal account: %d %s", r.Status, r.Raw)
	}
	if r := act(br, pending, "accept"); r.Status != http.StatusConflict || b.agentState(t, pending) != AgentPending {
		t.Errorf("接受 by the legal account: %d %s", r.Status, r.Raw)
	}
	if r := act(br, enabled, "delete"); r.Status != http.StatusConflict {
		t.Errorf("an unknown action: %d %s", r.Status, r.Raw)
	}
	cb := b.browser(t)
	b.signInAs(t, cb, c.id)
	if r := act(cb, enabled, "disable"); r.Status != http.StatusForbidden || b.agentState(t, enabled) != AgentEnabled {
		t.Errorf("禁用 by the agent: %d %s", r.Status, r.Raw)
	}
	// The agent acts for the enterprise in a session of its own.
	if _, err := b.pool.Exec(context.Background(), `UPDATE auth_session SET acting_for = $1 WHERE account_id = $2`, enabled, c.id); err != nil {
		t.Fatal(err)
	}
	if r := act(br, enabled, "disable"); r.Status != http.StatusOK || r.str("state_label") != "禁用" || b.agentState(t, enabled) != AgentDisabled {
		t.Errorf("禁用: %d %s", r.Status, r.Raw)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_session WHERE acting_for = $1 AND revoked_at IS NULL`, enabled); n != 0 {
		t.Errorf("禁用 from the list left %d acting sessions", n)
	}
	if r := act(br, enabled, "disable"); r.Status != http.StatusConflict {
		t.Errorf("禁用 twice: %d %s", r.Status, r.Raw)
	}
	r := br.form(fmt.Sprintf("/settings/agents/%d/enable", enabled), url.Values{})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/center?done=agent_enable#agents" || b.agentState(t, enabled) != AgentEnabled {
		t.Errorf("启用 by the page: %d %s", r.Status, r.Header.Get("Location"))
	}
	if page := br.get("/center?done=agent_enable"); !strings.Contains(page.Raw, "经办人已启用") {
		t.Error("no notice after 启用")
	}
	if r := act(br, pending, "revoke"); r.Status != http.StatusOK || b.agentState(t, pending) != AgentRevoked {
		t.Errorf("撤销: %d %s", r.Status, r.Raw)
	}
	if got := b.column(t, `SELECT event || ':' || outcome FROM auth_audit WHERE event LIKE 'agent\_%' AND event <> 'agent_search' ORDER BY id`); fmt.Sprint(got) !=
		"[agent_disable:refused agent_accept:refused agent_disable:ok agent_disable:refused agent_enable:ok agent_revoke:ok]" {
		t.Errorf("audited %v", got)
	}
}

// TestBrowserAgentAuthorize: the whole life of an agent in one browser.
// The legal person logs in on 法人登录, opens 我的经办人 → 创建经办人,
// searches with a wrong phone (未找到), then the right three, sees the
// person masked, clicks 授权, and is back at the list, which shows the
// person 验证中 with 撤销; the notice is in the development inbox. The
// legal person logs out; the citizen opens the link, logs in, accepts,
// chooses the enterprise, and switches back to 个人身份, where 企业授权
// shows the enterprise 启用.
func TestBrowserAgentAuthorize(t *testing.T) {
	t.Parallel()
	b := setup(t)
	legal := b.activeLegal(t, "海南椰风科技有限公司", "13912365001", goodPassword)
	c := b.active(t, "韩洪阳", "13912365002", goodPassword)
	p := newTab(t, b)
	p.open("/login?tab=legal", http.StatusOK, "/login")
	p.fill("#credit_code", legal.CreditCode)
	p.fill("#password", goodPassword)
	p.submit("#login", http.StatusOK, "/center")
	if got := p.text("#no-agents"); got != "暂无经办人" {
		t.Errorf("empty list says %q", got)
	}
	p.submit("#create-agent", http.StatusOK, "/settings/agents/new")
	p.fill("#agent-name", c.Name)
	p.fill("#agent-id", c.IDNumber)
	p.fill("#agent-phone", "13912365003")
	p.submit("#agent-search", http.StatusNotFound, "/settings/agents/search")
	if got := p.text("#error"); !strings.HasPrefix(got, "未找到") {
		t.Errorf("a wrong phone: %q", got)
	}
	p.fill("#agent-phone", c.Phone)
	p.submit("#agent-search", http.StatusOK, "/settings/agents/search")
	if got := p.text("#agent-found .agent-name") + " " + p.text("#agent-found .agent-id") + " " + p.text("#agent-found .agent-phone"); got != "韩**** "+idHint(c.IDNumber)+" 139****5002" {
		t.Errorf("found %q", got)
	}
	p.submit("#agent-authorize", http.StatusOK, "/center")
	if got := p.text("#notice"); got != "已发送授权通知，请经办人在24小时内确认" {
		t.Errorf("notice %q", got)
	}
	row := p.text("#agent-list tr.agent")
	for _, want := range []string{"1", "韩****", idHint(c.IDNumber), "139****5002", "验证中", "撤销"} {
		if !strings.Contains(row, want) {
			t.Errorf("the list's row %q lacks %q", row, want)
		}
	}
	p.noClearPII(c)
	inbox := p.newTab("inbox")
	inbox.open("/dev/inbox", http.StatusOK, "")
	if got := inbox.text("#inbox td.body"); got != "韩洪阳您好，吴斌授权您为海南椰风科技有限公司的经办人，可以代为办理公司事项。" {
		t.Errorf("inbox %q", got)
	}
	link := eval[string](inbox, `document.querySelector('#inbox a.link').getAttribute('href')`)
	if !strings.Contains(link, "/agent/confirm?t=") {
		t.Fatalf("inbox link %q", link)
	}

	// The citizen, in the same browser after the legal person left.
	p.submit("#logout", http.StatusOK, "")
	p.open(link[strings.Index(link, "/agent/confirm"):], http.StatusOK, "/login")
	p.fill("#id_number", c.IDNumber)
	p.fill("#password", goodPassword)
	p.submit("#login", http.StatusOK, "/agent/confirm")
	if got := p.text("#agent-message"); got != "韩洪阳您好，吴斌授权您为海南椰风科技有限公司的经办人，可以代为办理公司事项。" {
		t.Errorf("授权验证 says %q", got)
	}
	p.submit("#agent-accept", http.StatusOK, "/identity")
	if !eval[bool](p, `(() => { const e = [...document.querySelectorAll('input[name=identity]')].find(i => i.value !== "0"); if (e) e.checked = true; return !!e })()`) {
		t.Fatal("no enterprise to choose")
	}
	p.submit("#identity-submit", http.StatusOK, "/center")
	if got := p.text("#current-identity"); got != "当前身份：海南椰风科技有限公司（经办人）" {
		t.Errorf("acting: header %q", got)
	}
	if eval[bool](p, `document.querySelector('#enterprises') !== null`) {
		t.Error("企业授权 shown while acting for the enterprise")
	}
	p.submit("#switch-identity", http.StatusOK, "/identity")
	if !eval[bool](p, `(document.querySelector('input[name=identity][value="0"]').checked = true)`) {
		t.Fatal("no 个人身份 to choose")
	}
	p.submit("#identity-submit", http.StatusOK, "/center")
	if got := p.text("#current-identity"); got != "当前身份：个人" {
		t.Errorf("back to 个人身份: header %q", got)
	}
	if got := p.text("#enterprises .enterprise-state"); got != "启用" {
		t.Errorf("企业授权 state %q", got)
	}
}
