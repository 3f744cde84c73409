package authsvc

// 我的经办人 of the 企业中心 (2.2.7, 2.2.8): a legal account finds a
// natural person's account by 姓名 + 身份证号 + 手机号, all three exactly
// (创建经办人), authorizes it (授权: a pending authorization, its link by
// SMS and in the service's inbox), and lists and manages its agents
// (启用, 禁用, 撤销, each through changeAgent). The agent's side (the
// confirmation page, the identity chooser) is another unit's.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
)

// The limit of 创建经办人's searches: a legal account's searches that
// found nobody, counted over agentSearchWindow. Past it every search is
// refused, a right one too, until misses age out.
const (
	agentSearchTries  = 10
	agentSearchWindow = 24 * time.Hour
	// agentsPerPage is the list's page size.
	agentsPerPage = 10
)

var (
	// errAgentNotFound: no natural account has exactly the three values.
	errAgentNotFound = errors.New("no such person")
	// errAgentSearchLimit: the legal account's misses reached the limit.
	errAgentSearchLimit = errors.New("agent search limit reached")
	// errAgentExists: the pair has a live authorization already.
	errAgentExists = errors.New("the person has a live authorization")
	// errNotLegalAgents: 我的经办人 is a legal account's.
	errNotLegalAgents = errors.New("agents are a legal account's")
)

// agentNotFoundMessage answers a search that found nobody.
const agentNotFoundMessage = "未找到：请核对姓名、身份证号、手机号码，三项须与其个人账号完全一致（若对方没有个人账号，请先注册）"

// agentQuery is what 创建经办人 names a person by.
type agentQuery struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	Phone    string `json:"phone"`
}

func (q agentQuery) check() error {
	fe := fieldErrors{}
	if strings.TrimSpace(q.Name) == "" {
		fe["name"] = "请输入姓名"
	}
	if strings.TrimSpace(q.IDNumber) == "" {
		fe["id_number"] = "请输入身份证号"
	}
	if strings.TrimSpace(q.Phone) == "" {
		fe["phone"] = "请输入手机号码"
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

// agentPerson is a found person or an agent as the pages show them:
// masked as the seed's list (hi****, 韩****, 130****0000, 139****9071).
type agentPerson struct {
	Username  string `json:"username"`
	Name      string `json:"name"`
	IDHint    string `json:"id_hint"`
	PhoneHint string `json:"phone_hint"`
}

func (s *Server) agentPersonOf(username *string, name string, idSealed []byte, phoneHint string) (agentPerson, error) {
	p := agentPerson{Name: pii.MaskPersonName(name), PhoneHint: phoneHint}
	if username != nil {
		p.Username = pii.MaskName(*username)
	}
	id, err := account.OpenID(s.cfg.Keyring, idSealed)
	if err != nil {
		return p, err
	}
	p.IDHint = pii.MaskPhone(id)
	return p, nil
}

// legalOf is the session's legal account; errNotLegalAgents when it is a
// citizen's.
func (s *Server) legalOf(ctx context.Context, sess *session) (*account.Account, error) {
	a, err := s.legalAccountOf(ctx, sess)
	if errors.Is(err, errNotLegal) {
		return nil, errNotLegalAgents
	}
	return a, err
}

// findAgent is one search of legal in tx: under a lock on the legal
// account, the misses of the window are counted first (at the limit the
// search is refused, unsearched), then the natural account with exactly
// the three values is looked for; a miss is recorded as a try. Every
// search is audited in tx. The refusal (errAgentSearchLimit,
// errAgentNotFound) is returned apart from err so that the caller commits
// the try and the audit row.
func (s *Server) findAgent(ctx context.Context, tx pgx.Tx, r *http.Request, legal *account.Account, q agentQuery, now time.Time) (found *account.Account, refused, err error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('agent-search:' || $1::bigint, 7))`, legal.ID); err != nil {
		return nil, nil, err
	}
	e := auditEvent{event: "agent_search", outcome: "ok", account: legal.ID, bidx: legal.IDBidx, subject: legal.IDHint, ip: clientIP(r)}
	var misses int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM agent_search_try WHERE legal_account_id = $1 AND at > $2`,
		legal.ID, now.Add(-agentSearchWindow)).Scan(&misses); err != nil {
		return nil, nil, err
	}
	if misses >= agentSearchTries {
		e.outcome, e.detail = "limited", fmt.Sprintf("%d misses in 24h", misses)
		return nil, errAgentSearchLimit, s.auditIn(ctx, tx, e)
	}
	a, err := account.ByIDIndex(ctx, tx, s.idIndex(q.IDNumber))
	if err != nil {
		return nil, nil, err
	}
	phone := account.NormalizePhone(q.Phone)
	if a == nil || a.IsLegal() || strings.TrimSpace(q.Name) != a.Name ||
		!account.ValidPhone(phone) || string(a.PhoneBidx) != string(account.PhoneIndex(s.cfg.Keyring, phone)) {
		if _, err := tx.Exec(ctx, `INSERT INTO agent_search_try (legal_account_id, legal_account_bidx, at) VALUES ($1, $3, $2)`, legal.ID, now, legal.IDBidx); err != nil {
			return nil, nil, err
		}
		e.outcome, e.detail = "fail", fmt.Sprintf("not found (miss %d of %d)", misses+1, agentSearchTries)
		return nil, errAgentNotFound, s.auditIn(ctx, tx, e)
	}
	e.detail = fmt.Sprintf("found account %d", a.ID)
	return a, nil, s.auditIn(ctx, tx, e)
}

// searchAgent is 创建经办人's 查找: the person masked, or the refusal.
func (s *Server) searchAgent(ctx context.Context, r *http.Request, sess *session, q agentQuery) (agentPerson, error) {
	legal, err := s.legalOf(ctx, sess)
	if err != nil {
		return agentPerson{}, err
	}
	if err := q.check(); err != nil {
		return agentPerson{}, err
	}
	ctx = context.WithoutCancel(ctx)
	var found *account.Account
	var refused error
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) (err error) {
		found, refused, err = s.findAgent(ctx, tx, r, legal, q, s.cfg.Now())
		return err
	})
	if err != nil {
		return agentPerson{}, err
	}
	if refused != nil {
		return agentPerson{}, refused
	}
	return s.agentPersonOf(found.Username, found.Name, found.IDSealed, found.PhoneHint)
}

// authorizeAgent is 授权: the person is searched again (the same limit),
// and in the same transaction a pending authorization is inserted with
// the hash of its link's token, expiring in AgentLinkTTL, and its notice
// put in the agent's inbox; a pair with a live authorization is refused.
// After the commit the agent gets the SMS with the link.
func (s *Server) authorizeAgent(ctx context.Context, r *http.Request, sess *session, q agentQuery) (int64, error) {
	legal, err := s.legalOf(ctx, sess)
	if err != nil {
		return 0, err
	}
	if err := q.check(); err != nil {
		return 0, err
	}
	token, hash, err := newToken()
	if err != nil {
		return 0, err
	}
	link := s.cfg.BaseURL + "/agent/confirm?t=" + token
	ctx = context.WithoutCancel(ctx)
	now := s.cfg.Now()
	var found *account.Account
	var refused error
	var id int64
	var notice string
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) (err error) {
		found, refused, err = s.findAgent(ctx, tx, r, legal, q, now)
		if err != nil || refused != nil {
			return err
		}
		// A pending one past its 24 hours no longer holds the pair.
		if err := expireAgents(ctx, tx, now); err != nil {
			return err
		}
		e := auditEvent{event: "agent_authorize", outcome: "ok", account: legal.ID, bidx: legal.IDBidx, subject: legal.IDHint, ip: clientIP(r)}
		id, notice, err = insertAuthorization(ctx, tx, legal, found, hash, link, now)
		if errors.Is(err, errAgentExists) {
			refused = errAgentExists
			e.outcome, e.detail = "refused", fmt.Sprintf("account %d: a live authorization exists", found.ID)
			return s.auditIn(ctx, tx, e)
		}
		if err != nil {
			return err
		}
		e.detail = fmt.Sprintf("authorization %d of account %d", id, found.ID)
		return s.auditIn(ctx, tx, e)
	})
	if err != nil {
		return 0, err
	}
	if refused != nil {
		return 0, refused
	}
	phone, err := account.OpenPhone(s.cfg.Keyring, found.PhoneSealed)
	if err != nil {
		return 0, err
	}
	// The inbox holds the notice whatever the gateway does.
	if err := s.cfg.SMS.Send(ctx, phone, "【统一身份认证】"+notice+"请在24小时内点击链接确认："+link); err != nil {
		s.cfg.Logger.Warn("agent_sms_failed", errAttr(err))
	}
	return id, nil
}

// insertAuthorization inserts, in tx, a pending authorization of agent by
// legal with the hash of its link's token, expiring in AgentLinkTTL, and
// its notice in the agent's inbox; errAgentExists when the pair has a live
// authorization.
func insertAuthorization(ctx context.Context, tx pgx.Tx, legal, agent *account.Account, linkHash []byte, link string, now time.Time) (id int64, notice string, err error) {
	err = tx.QueryRow(ctx, `INSERT INTO agent_authorization (legal_account_id, legal_account_bidx, agent_account_id, state, link_hash, created_at, expires_at, changed_at)
		VALUES ($1, $6, $2, 'pending', $3, $4, $5, $4)
		ON CONFLICT (legal_account_bidx, legal_account_id, agent_account_id) WHERE state IN ('pending', 'enabled', 'disabled') DO NOTHING
		RETURNING id`, legal.ID, agent.ID, linkHash, now, now.Add(AgentLinkTTL), legal.IDBidx).Scan(&id)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return 0, "", errAgentExists
	}
	if err != nil {
		return 0, "", err
	}
	// The link is found by its hash alone: its lookup row (docs/scale-out.md §3.2).
	if _, err := tx.Exec(ctx, `INSERT INTO agent_link (link_hash, legal_account_bidx, authorization_id) VALUES ($1, $2, $3)`,
		linkHash, legal.IDBidx, id); err != nil {
		return 0, "", err
	}
	notice = agentNotice(agent, legal)
	if _, err := tx.Exec(ctx, `INSERT INTO inbox_message (account_id, account_bidx, body, link, created_at) VALUES ($1, $5, $2, $3, $4)`,
		agent.ID, notice, link, now, agent.IDBidx); err != nil {
		return 0, "", err
	}
	return id, notice, nil
}

// SeedDemoAgent is `make demo`'s authorization: the legal account
// legalID authorizes the natural account agentID as 授权 does (a pending
// authorization, its notice in the agent's inbox, audited as the
// operator's seed), and returns the link the agent accepts at; "" when the
// pair has a live authorization already.
func SeedDemoAgent(ctx context.Context, pool *pgxpool.Pool, legalID, agentID int64, baseURL string, now time.Time) (link string, err error) {
	token, hash, err := newToken()
	if err != nil {
		return "", err
	}
	link = baseURL + "/agent/confirm?t=" + token
	err = database.Transact(ctx, pool, func(tx pgx.Tx) error {
		legal, err := account.ByID(ctx, tx, legalID, false)
		if err != nil {
			return err
		}
		agent, err := account.ByID(ctx, tx, agentID, false)
		if err != nil {
			return err
		}
		if !legal.IsLegal() || agent.IsLegal() {
			return errors.New("demo agent: a legal account authorizes a natural one")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome, account_id, account_bidx, subject, ip, detail) VALUES ($1, 'agent_authorize', 'ok', $2, $4, $3, '', 'make demo seed')`,
			now, legal.ID, legal.IDHint, legal.IDBidx); err != nil {
			return err
		}
		if err := expireAgents(ctx, tx, now); err != nil {
			return err
		}
		_, _, err = insertAuthorization(ctx, tx, legal, agent, hash, link, now)
		return err
	})
	if errors.Is(err, errAgentExists) {
		return "", nil
	}
	return link, err
}

// agentNotice is the seed's notice (2.2.7): "X您好，Y授权您为Z的经办人，
// 可以代为办理公司事项", X the agent's name, Y the representative's (or
// the legal person's), Z the legal person's. Never an ID number.
func agentNotice(agent, legal *account.Account) string {
	by := legal.Name
	if legal.Legal != nil && legal.Legal.RepName != "" {
		by = legal.Legal.RepName
	}
	return fmt.Sprintf("%s您好，%s授权您为%s的经办人，可以代为办理公司事项。", agent.Name, by, legal.Name)
}

// agentRow is one line of the list (2.2.8).
type agentRow struct {
	No int   `json:"no"`
	ID int64 `json:"id"`
	agentPerson
	State      AgentState `json:"state"`
	StateLabel string     `json:"state_label"`
	// Action is the list's 操作: 禁用 an enabled one, 启用 a disabled one,
	// 撤销 a pending one; "" for the ended.
	Action      agentAction `json:"action,omitempty"`
	ActionLabel string      `json:"action_label,omitempty"`
}

// agentListActions are the list's 操作 by state.
var agentListActions = map[AgentState]struct {
	action agentAction
	label  string
}{
	AgentEnabled:  {agentDisable, "禁用"},
	AgentDisabled: {agentEnable, "启用"},
	AgentPending:  {agentRevoke, "撤销"},
}

// agentsView is a page of the list.
type agentsView struct {
	Rows  []agentRow `json:"agents"`
	Page  int        `json:"page"`
	Pages int        `json:"pages"`
	Total int        `json:"total"`
}

// Prev and Next are the neighbouring pages, 0 for none.
func (v *agentsView) Prev() int {
	if v.Page > 1 {
		return v.Page - 1
	}
	return 0
}

func (v *agentsView) Next() int {
	if v.Page < v.Pages {
		return v.Page + 1
	}
	return 0
}

// agentsOf is page of legalID's authorizations, the oldest first, after
// marking expired the pending ones past their 24 hours.
func (s *Server) agentsOf(ctx context.Context, legalID int64, page int) (*agentsView, error) {
	if err := expireAgents(ctx, s.pool, s.cfg.Now()); err != nil {
		return nil, err
	}
	page = max(page, 1)
	v := &agentsView{Page: page, Rows: []agentRow{}}
	rows, err := s.pool.Query(ctx, `SELECT a.id, a.state, acc.username, acc.name, acc.id_sealed, acc.phone_hint, count(*) OVER ()
		FROM agent_authorization a JOIN account acc ON acc.id = a.agent_account_id
		WHERE a.legal_account_id = $1 ORDER BY a.created_at, a.id LIMIT $2 OFFSET $3`, legalID, agentsPerPage, (page-1)*agentsPerPage)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var row agentRow
		var username *string
		var name, phoneHint string
		var idSealed []byte
		if err := rows.Scan(&row.ID, &row.State, &username, &name, &idSealed, &phoneHint, &v.Total); err != nil {
			return nil, err
		}
		if row.agentPerson, err = s.agentPersonOf(username, name, idSealed, phoneHint); err != nil {
			return nil, err
		}
		row.No = (page-1)*agentsPerPage + len(v.Rows) + 1
		row.StateLabel = row.State.Label()
		if a, ok := agentListActions[row.State]; ok {
			row.Action, row.ActionLabel = a.action, a.label
		}
		v.Rows = append(v.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if v.Total == 0 && page > 1 {
		// Past the last page: the count comes from the first.
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM agent_authorization WHERE legal_account_id = $1`, legalID).Scan(&v.Total); err != nil {
			return nil, err
		}
	}
	v.Pages = (v.Total + agentsPerPage - 1) / agentsPerPage
	return v, nil
}

// agentAct is an 操作 of the list: action on authorization id by the
// session's legal account, through changeAgent (which refuses another
// legal account's authorization and a state the action does not leave).
func (s *Server) agentAct(ctx context.Context, sess *session, id int64, name string) (AgentState, error) {
	legal, err := s.legalOf(ctx, sess)
	if err != nil {
		return "", err
	}
	// The agent's actions are changeAgent's to refuse (and audit): the
	// legal account is never the agent.
	action, ok := agentActionOf(name)
	if !ok {
		return "", errAgentTransition
	}
	return s.changeAgent(context.WithoutCancel(ctx), id, action, legal.ID, s.cfg.Now())
}

// pageOf is the ?page= of a request, 1 when absent or not a number.
func pageOf(r *http.Request) int {
	p, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || p < 1 {
		return 1
	}
	return p
}

// The pages.

// agentSearchView is 创建经办人's page: the form, and the person found.
type agentSearchView struct {
	In    agentQuery
	Found *agentPerson
}

func (s *Server) agentNewPage(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, err := s.legalOf(r.Context(), sess); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "agents.html", pageData{Title: "创建经办人", AgentSearch: &agentSearchView{}})
}

func agentForm(r *http.Request) agentQuery {
	return agentQuery{Name: r.PostFormValue("name"), IDNumber: r.PostFormValue("id_number"), Phone: r.PostFormValue("phone")}
}

// agentFormError shows the 创建经办人 page again with err.
func (s *Server) agentFormError(w http.ResponseWriter, r *http.Request, q agentQuery, err error) {
	p := problemOf(err)
	if p.status >= http.StatusInternalServerError || p.code == "unauthenticated" || p.code == "not_legal" {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.status)
	s.render(w, r, "agents.html", pageData{Title: "创建经办人", Error: p.message, Fields: p.fields, AgentSearch: &agentSearchView{In: q}})
}

func (s *Server) agentSearchForm(w http.ResponseWriter, r *http.Request, sess *session) {
	q := agentForm(r)
	found, err := s.searchAgent(r.Context(), r, sess, q)
	if err != nil {
		s.agentFormError(w, r, q, err)
		return
	}
	s.render(w, r, "agents.html", pageData{Title: "创建经办人", AgentSearch: &agentSearchView{In: q, Found: &found}})
}

func (s *Server) agentAuthorizeForm(w http.ResponseWriter, r *http.Request, sess *session) {
	q := agentForm(r)
	if _, err := s.authorizeAgent(r.Context(), r, sess, q); err != nil {
		s.agentFormError(w, r, q, err)
		return
	}
	http.Redirect(w, r, "/center?done=agent#agents", http.StatusSeeOther)
}

func (s *Server) agentActionForm(w http.ResponseWriter, r *http.Request, sess *session) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if _, err := s.agentAct(r.Context(), sess, id, r.PathValue("action")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/center?done=agent_"+r.PathValue("action")+"#agents", http.StatusSeeOther)
}

// The JSON twins.

func (s *Server) apiAgents(w http.ResponseWriter, r *http.Request, sess *session) {
	legal, err := s.legalOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.agentsOf(r.Context(), legal.ID, pageOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiAgentSearch(w http.ResponseWriter, r *http.Request, sess *session) {
	var q agentQuery
	if err := decodeJSON(r, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	found, err := s.searchAgent(r.Context(), r, sess, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"person": found})
}

func (s *Server) apiAgentAuthorize(w http.ResponseWriter, r *http.Request, sess *session) {
	var q agentQuery
	if err := decodeJSON(r, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.authorizeAgent(r.Context(), r, sess, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "state": AgentPending, "state_label": AgentPending.Label(),
		"message": centerNotices["agent"]})
}

func (s *Server) apiAgentAction(w http.ResponseWriter, r *http.Request, sess *session) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	st, err := s.agentAct(r.Context(), sess, id, r.PathValue("action"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "state": st, "state_label": st.Label()})
}

// agentRoutes: 我的经办人 of a legal account, pages and JSON twins. The
// searches and authorizations are credential-like checks: rate-limited
// by address besides the legal account's own limit.
func (s *Server) legalAgentRoutes() []route {
	return []route{
		{"GET /settings/agents/new", s.full(s.agentNewPage)},
		{"POST /settings/agents/search", s.limited(s.full(s.agentSearchForm))},
		{"POST /settings/agents", s.limited(s.full(s.agentAuthorizeForm))},
		{"POST /settings/agents/{id}/{action}", s.full(s.agentActionForm)},
		{"GET /api/v1/settings/agents", s.full(s.apiAgents)},
		{"POST /api/v1/settings/agents/search", s.limited(s.full(s.apiAgentSearch))},
		{"POST /api/v1/settings/agents", s.limited(s.full(s.apiAgentAuthorize))},
		{"POST /api/v1/settings/agents/{id}/{action}", s.full(s.apiAgentAction)},
	}
}
