package authsvc

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// agentLink inserts a pending authorization of agent by legal whose link
// has token, made at the bundle's now.
func (b *testBundle) agentLink(t testing.TB, legal, agent int64, token string) int64 {
	t.Helper()
	id := b.authorize(t, legal, agent, AgentPending)
	if _, err := b.pool.Exec(context.Background(), `WITH g AS (UPDATE agent_authorization SET link_hash = $2 WHERE id = $1)
		UPDATE agent_link SET link_hash = $2 WHERE authorization_id = $1`, id, hashToken(token)); err != nil {
		t.Fatal(err)
	}
	return id
}

// actingFor is the acting_for of the browser's session (0: its own
// identity; -1: no live session).
func (b *testBundle) actingFor(t testing.TB, br *browser) int64 {
	t.Helper()
	var acting *int64
	err := b.pool.QueryRow(context.Background(), `SELECT acting_for FROM auth_session WHERE id_hash = $1 AND revoked_at IS NULL`,
		hashToken(br.cookie())).Scan(&acting)
	if err != nil {
		return -1
	}
	if acting == nil {
		return 0
	}
	return *acting
}

// TestAgentConfirm: the link's 授权验证 (2.2.7 第三步) asks for a login
// first, shows the seed's text to the person it was sent to, and takes
// their 接受 or 拒绝 once; another person (or a legal account) is refused
// and audited; after 24 hours, answered, or unknown, one message.
func TestAgentConfirm(t *testing.T) {
	t.Parallel()
	b := setup(t)
	legal := b.activeLegal(t, "海南椰风科技有限公司", "13912360001", goodPassword)
	agent := b.active(t, "韩洪阳", "13912360002", goodPassword)
	other := b.active(t, "张三", "13912360003", goodPassword)
	id := b.agentLink(t, legal.id, agent.id, "tok-accept")

	// Not logged in: the login page, coming back here.
	anon := b.browser(t)
	r := anon.get("/agent/confirm?t=tok-accept")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login?return_to="+url.QueryEscape("/agent/confirm?t=tok-accept") {
		t.Fatalf("not logged in: %d %s", r.Status, r.Header.Get("Location"))
	}
	// Another person, and the legal account itself: refused, audited,
	// nothing changed.
	ob, lb := b.browser(t), b.browser(t)
	b.signInAs(t, ob, other.id)
	b.signInAs(t, lb, legal.id)
	for who, br := range map[string]*browser{"another person": ob, "the legal account": lb} {
		if r := br.get("/api/v1/agent/confirm?t=tok-accept"); r.Status != http.StatusForbidden || r.str("error") != "agent_link_other_account" {
			t.Errorf("%s reads the link: %d %s", who, r.Status, r.Raw)
		}
		if r := br.post("/api/v1/agent/confirm", map[string]string{"t": "tok-accept", "action": "accept"}); r.Status != http.StatusForbidden {
			t.Errorf("%s accepts: %d %s", who, r.Status, r.Raw)
		}
	}
	if st := b.agentState(t, id); st != AgentPending {
		t.Fatalf("after another's answer: %s", st)
	}
	if n := len(b.column(t, `SELECT outcome FROM auth_audit WHERE event = 'agent_link' AND outcome = 'refused' AND account_id = $1`, other.id)); n != 2 {
		t.Errorf("another person's tries audited %d times, want 2", n)
	}

	// The person: the seed's text, then 接受 → enabled, and the chooser.
	ab := b.browser(t)
	b.signInAs(t, ab, agent.id)
	page := ab.get("/agent/confirm?t=tok-accept")
	if want := "韩洪阳您好，吴斌授权您为海南椰风科技有限公司的经办人，可以代为办理公司事项"; page.Status != http.StatusOK || !strings.Contains(page.Raw, want) {
		t.Fatalf("confirm page: %d, want %q in %s", page.Status, want, page.Raw)
	}
	r = ab.form("/agent/confirm", url.Values{"t": {"tok-accept"}, "action": {"accept"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/identity?done=accepted" {
		t.Fatalf("accept: %d %s", r.Status, r.Header.Get("Location"))
	}
	if st := b.agentState(t, id); st != AgentEnabled {
		t.Fatalf("after 接受: %s", st)
	}
	// Twice: answered.
	for _, action := range []string{"accept", "refuse"} {
		if r := ab.post("/api/v1/agent/confirm", map[string]string{"t": "tok-accept", "action": action}); r.Status != http.StatusGone || r.str("error") != "agent_link_invalid" {
			t.Errorf("%s again: %d %s", action, r.Status, r.Raw)
		}
	}
	if st := b.agentState(t, id); st != AgentEnabled {
		t.Errorf("after answering twice: %s", st)
	}

	// 拒绝.
	legal2 := b.activeLegal(t, "海南椰林贸易有限公司", "13912360004", goodPassword)
	id2 := b.agentLink(t, legal2.id, agent.id, "tok-refuse")
	if r := ab.get("/api/v1/agent/confirm?t=tok-refuse"); r.Status != http.StatusOK || r.str("enterprise_name") != "海南椰林贸易有限公司" {
		t.Errorf("read the link: %d %s", r.Status, r.Raw)
	}
	if r := ab.post("/api/v1/agent/confirm", map[string]string{"t": "tok-refuse", "action": "refuse"}); r.Status != http.StatusOK || r.str("state") != "refused" {
		t.Errorf("refuse: %d %s", r.Status, r.Raw)
	}
	if st := b.agentState(t, id2); st != AgentRefused {
		t.Errorf("after 拒绝: %s", st)
	}
	// Not an agent's action.
	legal3 := b.activeLegal(t, "海南椰岛实业有限公司", "13912360005", goodPassword)
	id3 := b.agentLink(t, legal3.id, agent.id, "tok-late")
	if r := ab.post("/api/v1/agent/confirm", map[string]string{"t": "tok-late", "action": "revoke"}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("revoke by the agent: %d %s", r.Status, r.Raw)
	}
	// After 24 hours: the one message, reading or answering.
	b.clock.Advance(AgentLinkTTL)
	b.signInAs(t, ab, agent.id) // a fresh session on the advanced clock
	if r := ab.get("/agent/confirm?t=tok-late"); r.Status != http.StatusGone || !strings.Contains(r.Raw, "授权链接无效、已过期或已处理") {
		t.Errorf("after 24 hours, the page: %d %s", r.Status, r.Raw)
	}
	if r := ab.post("/api/v1/agent/confirm", map[string]string{"t": "tok-late", "action": "accept"}); r.Status != http.StatusGone {
		t.Errorf("accept after 24 hours: %d %s", r.Status, r.Raw)
	}
	if st := b.agentState(t, id3); st != AgentPending && st != AgentExpired {
		t.Errorf("after 24 hours: %s", st)
	}
	if r := ab.get("/api/v1/agent/confirm?t=nonsense"); r.Status != http.StatusGone {
		t.Errorf("an unknown link: %d %s", r.Status, r.Raw)
	}
}

// TestAgentIdentity: the chooser follows a login only with enabled
// authorizations (keeping where the login was going); a choice rotates
// the session (the old cookie is dead) acting for the enterprise, shown
// in the header, with 企业授权 hidden; another enterprise's or another
// person's authorization cannot be taken; back to 个人身份 shows 企业授权
// with every state; a disable by the legal person ends the acting session
// at once, and the person's own identity works after a new login.
func TestAgentIdentity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	agent := b.active(t, "韩洪阳", "13912360011", goodPassword)
	other := b.active(t, "张三", "13912360012", goodPassword)
	e1 := b.activeLegal(t, "海南椰风科技有限公司", "13912360013", goodPassword)
	e2 := b.activeLegal(t, "海南椰林贸易有限公司", "13912360014", goodPassword)
	e3 := b.activeLegal(t, "海南椰岛实业有限公司", "13912360015", goodPassword)
	e4 := b.activeLegal(t, "海南椰树食品有限公司", "13912360016", goodPassword)
	b.authorize(t, e3.id, agent.id, AgentPending)
	disabled := b.authorize(t, e4.id, agent.id, AgentDisabled)
	br := b.browser(t)
	// Only pending ones: no chooser.
	if r := br.passwordLogin(agent, goodPassword); r.Status != http.StatusOK || r.str("next") != "/center" {
		t.Fatalf("login with a pending authorization: %d %s", r.Status, r.Raw)
	}
	a1 := b.authorize(t, e1.id, agent.id, AgentEnabled)
	a2 := b.authorize(t, e2.id, agent.id, AgentEnabled)
	others := b.authorize(t, e2.id, other.id, AgentEnabled) // another person's
	if r := br.passwordLogin(agent, goodPassword); r.Status != http.StatusOK || r.str("next") != "/identity" {
		t.Fatalf("login with enabled authorizations: %d %s", r.Status, r.Raw)
	}
	to := "/center#addresses"
	r := br.post("/api/v1/login/password", map[string]string{"id_number": agent.IDNumber, "password": goodPassword, "return_to": to})
	if r.Status != http.StatusOK || r.str("next") != "/identity?next="+url.QueryEscape(to) {
		t.Fatalf("login going to %s: %d %s", to, r.Status, r.Raw)
	}
	if r := br.get("/api/v1/identity"); r.Status != http.StatusOK || strings.Count(r.Raw, `"id":`) != 3 || !strings.Contains(r.Raw, "海南椰林贸易有限公司") {
		t.Errorf("identities: %d %s", r.Status, r.Raw)
	}
	// Choose 海南椰风科技: rotated, acting for it.
	old := br.cookie()
	end := b.column(t, `SELECT expires_at::text FROM auth_session WHERE id_hash = $1`, hashToken(old))
	b.clock.Advance(time.Minute)
	r = br.form("/identity", url.Values{"identity": {itoa(a1)}, "next": {to}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != to {
		t.Fatalf("choose: %d %s", r.Status, r.Header.Get("Location"))
	}
	if br.cookie() == old {
		t.Fatal("the session was not rotated")
	}
	if got := b.actingFor(t, br); got != a1 {
		t.Errorf("acting for %d, want %d", got, a1)
	}
	stale := b.browser(t)
	stale.hc.Jar.SetCookies(mustURL(b.ts.URL), []*http.Cookie{{Name: cookieName, Value: old, Path: "/", Secure: true}})
	if r := stale.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("the old cookie after the switch: %d", r.Status)
	}
	center := br.get("/center")
	if !strings.Contains(center.Raw, "当前身份：海南椰风科技有限公司（经办人）") || !strings.Contains(center.Raw, `id="switch-identity"`) ||
		!strings.Contains(center.Raw, "用户中心") || strings.Contains(center.Raw, `id="enterprises"`) {
		t.Errorf("the center acting for the enterprise: %s", center.Raw)
	}
	if r := br.get("/api/v1/me"); r.str("acting_enterprise") != e1.Name || r.str("name") != "韩****" {
		t.Errorf("me acting for the enterprise: %s", r.Raw)
	}
	if r := br.get("/api/v1/settings/enterprises"); r.Status != http.StatusForbidden {
		t.Errorf("企业授权 while acting: %d %s", r.Status, r.Raw)
	}
	// The new session keeps the login's absolute end.
	if got := b.column(t, `SELECT expires_at::text FROM auth_session WHERE id_hash = $1`, hashToken(br.cookie())); len(got) != 1 || got[0] != end[0] {
		t.Errorf("the switch changed the session's absolute end: %v, was %v", got, end)
	}
	// Another person's authorization, a disabled one, none: refused and
	// audited, the session lives on.
	for _, id := range []int64{others, disabled, a2 + 1000} {
		if r := br.post("/api/v1/identity", map[string]any{"identity": id}); r.Status != http.StatusForbidden || r.str("error") != "identity_unavailable" {
			t.Errorf("take authorization %d: %d %s", id, r.Status, r.Raw)
		}
	}
	if got := b.actingFor(t, br); got != a1 {
		t.Errorf("after refused switches: acting for %d", got)
	}
	if n := len(b.column(t, `SELECT id FROM auth_audit WHERE event = 'identity_switch' AND outcome = 'refused' AND account_id = $1`, agent.id)); n != 3 {
		t.Errorf("%d refused switches audited, want 3", n)
	}
	// To the other enterprise, then back to 个人身份.
	old = br.cookie()
	if r := br.post("/api/v1/identity", map[string]any{"identity": a2}); r.Status != http.StatusOK || b.actingFor(t, br) != a2 || br.cookie() == old {
		t.Errorf("switch to the other enterprise: %d %s, acting for %d", r.Status, r.Raw, b.actingFor(t, br))
	}
	old = br.cookie()
	if r := br.post("/api/v1/identity", map[string]any{"identity": 0}); r.Status != http.StatusOK || b.actingFor(t, br) != 0 || br.cookie() == old {
		t.Errorf("switch to 个人身份: %d %s, acting for %d", r.Status, r.Raw, b.actingFor(t, br))
	}
	center = br.get("/center")
	if !strings.Contains(center.Raw, "当前身份：个人") || !strings.Contains(center.Raw, `id="enterprises"`) || strings.Count(center.Raw, `class="enterprise"`) != 4 {
		t.Errorf("the center in the person's own identity: %s", center.Raw)
	}
	list := br.get("/api/v1/settings/enterprises")
	for _, want := range []string{`"state_label":"启用"`, `"state_label":"验证中"`, `"state_label":"禁用"`, e1.Name, e3.Name, e4.Name} {
		if !strings.Contains(list.Raw, want) {
			t.Errorf("企业授权 lacks %s: %s", want, list.Raw)
		}
	}
	if strings.Contains(list.Raw, e1.CreditCode) {
		t.Errorf("企业授权 shows a whole credit code: %s", list.Raw)
	}

	// A disable by the legal person ends the acting session at once.
	if r := br.post("/api/v1/identity", map[string]any{"identity": a1}); r.Status != http.StatusOK {
		t.Fatalf("choose again: %d %s", r.Status, r.Raw)
	}
	if _, err := b.svc.changeAgent(context.Background(), a1, agentDisable, e1.id, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if r := br.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("acting under a disabled authorization: %d", r.Status)
	}
	if r := br.passwordLogin(agent, goodPassword); r.Status != http.StatusOK || r.str("next") != "/identity" {
		t.Fatalf("login after the disable: %d %s", r.Status, r.Raw)
	}
	if r := br.get("/api/v1/identity"); strings.Contains(r.Raw, e1.Name) {
		t.Errorf("a disabled authorization offered: %s", r.Raw)
	}
	if r := br.get("/api/v1/me"); r.Status != http.StatusOK {
		t.Errorf("the person's own identity after the disable: %d", r.Status)
	}
	// After the completion too, the chooser comes first.
	if r := br.get("/complete/done?next=%2Fcenter"); !strings.Contains(r.Raw, `href="/identity?next=%2fcenter"`) && !strings.Contains(r.Raw, `href="/identity?next=%2Fcenter"`) {
		t.Errorf("the completion's 完成 page: %s", r.Raw)
	}
	// A legal account has no identities to choose.
	lb := b.browser(t)
	b.signInAs(t, lb, e1.id)
	for _, path := range []string{"/api/v1/identity", "/identity", "/api/v1/settings/enterprises"} {
		if r := lb.get(path); r.Status != http.StatusForbidden {
			t.Errorf("a legal account's %s: %d", path, r.Status)
		}
	}
	if r := lb.post("/api/v1/identity", map[string]any{"identity": 0}); r.Status != http.StatusForbidden {
		t.Errorf("a legal account switches: %d %s", r.Status, r.Raw)
	}
}

// TestAgentSwitchEndsTokens: the return_to of a single sign-on survives
// the chooser, and a switch ends the business systems of the previous
// identity: its tokens stop working.
func TestAgentSwitchEndsTokens(t *testing.T) {
	t.Parallel()
	b, rp := oidcSetup(t, Client{ID: "portal"})
	agent := b.active(t, "韩洪阳", "13912360021", goodPassword)
	e1 := b.activeLegal(t, "海南椰风科技有限公司", "13912360022", goodPassword)
	a1 := b.authorize(t, e1.id, agent.id, AgentEnabled)
	br := b.browser(t)
	returnTo, verifier := rp.start(br)
	r := br.post("/api/v1/login/password", map[string]string{"id_number": agent.IDNumber, "password": goodPassword, "return_to": returnTo})
	if r.Status != http.StatusOK || r.str("next") != identityPath(returnTo) {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	r = br.post("/api/v1/identity", map[string]any{"identity": a1, "next": returnTo})
	if r.Status != http.StatusOK || r.str("next") != returnTo {
		t.Fatalf("choose: %d %s", r.Status, r.Raw)
	}
	tok, err := rp.exchange(rp.code(br, returnTo), verifier)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := rp.userinfoStatus(tok.AccessToken); st != http.StatusOK {
		t.Fatalf("userinfo acting for the enterprise: %d", st)
	}
	if r := br.post("/api/v1/identity", map[string]any{"identity": 0}); r.Status != http.StatusOK {
		t.Fatalf("switch back: %d %s", r.Status, r.Raw)
	}
	if st, _ := rp.userinfoStatus(tok.AccessToken); st != http.StatusUnauthorized {
		t.Errorf("the previous identity's token after the switch: %d", st)
	}
	tok = rp.signedInAgain(br)
	if st, _ := rp.userinfoStatus(tok.AccessToken); st != http.StatusOK {
		t.Errorf("a token of the new identity: %d", st)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
