package authsvc

// The agent's side of an authorization (经办人, 2.2.7 第三步, 2.3): the
// confirmation page of the link the agent got (授权验证: 接受 or 拒绝), the
// identity chooser after a login and its 切换 (选择登录身份: 个人身份 or an
// enterprise the person acts for), and the personal center's 企业授权.
// Every state change is changeAgent's; every switch starts a new session
// and ends the old one's business systems.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/schemas"
)

var (
	// errAgentLink: the link of an authorization is unknown, answered
	// already, or past its 24 hours.
	errAgentLink = errors.New("agent link unknown, answered or expired")
	// errAgentNotYours: the link was sent to another person than the one
	// signed in.
	errAgentNotYours = errors.New("agent link of another account")
	// errIdentityUnavailable: the identity asked for is not the session's
	// account's to take (no enabled authorization of it, or a legal
	// account).
	errIdentityUnavailable = errors.New("identity not available")
	// errActingIdentity: a page of the person's own identity asked while
	// acting for an enterprise.
	errActingIdentity = errors.New("only in the person's own identity")
)

// identityPath is the chooser's path, going on to returnTo (a path of
// this service) after the choice.
func identityPath(returnTo string) string {
	if to := safeReturn(returnTo); to != "" {
		return "/identity?next=" + url.QueryEscape(to)
	}
	return "/identity"
}

// identityHeader is the identity a natural person's signed-in pages show
// in their header: 当前身份 and 切换.
type identityHeader struct {
	// Acting is the name of the enterprise the session acts for; "" for
	// 个人身份.
	Acting string
	// Switch: the person holds enabled authorizations, so has identities
	// to switch between.
	Switch bool
}

type identityKey struct{}

// withIdentity gives r the header identity of a natural person's session
// (full sets it for every natural account; a legal one has none).
// The session loader read the header's values with the session (no
// query of its own on every page).
func (s *Server) withIdentity(r *http.Request, sess *session) *http.Request {
	h := &identityHeader{Acting: sess.actingName, Switch: sess.canSwitch}
	return r.WithContext(context.WithValue(r.Context(), identityKey{}, h))
}

// identityOf is the header identity of r: ok false for a legal account's
// session (or a request without a full session).
func identityOf(r *http.Request) (*identityHeader, bool) {
	h, ok := r.Context().Value(identityKey{}).(*identityHeader)
	return h, ok
}

// 授权验证: the agent's answer to the link.

// agentLink is a pending authorization as its link shows it.
type agentLink struct {
	id         int64
	agentID    int64
	expires    time.Time
	AgentName  string `json:"agent_name"`
	Grantor    string `json:"grantor"`
	Enterprise string `json:"enterprise_name"`
	Message    string `json:"message"`
	Token      string `json:"-"`
}

// agentLinkOf is the pending authorization of the link token, for the
// signed-in person it was sent to. An unknown, answered or expired link
// is errAgentLink, another person's errAgentNotYours; both are audited.
func (s *Server) agentLinkOf(ctx context.Context, r *http.Request, sess *session, token string) (*agentLink, error) {
	fail := auditEvent{event: "agent_link", outcome: "refused", account: sess.accountID, ip: clientIP(r), detail: "unknown or answered"}
	l := &agentLink{Token: token}
	// The lookup by the link's hash first, then the authorization by its
	// key (docs/scale-out.md §3.2).
	hash := hashToken(token)
	var bidx []byte
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT legal_account_bidx, authorization_id FROM agent_link WHERE link_hash = $1`, hash).Scan(&bidx, &id)
	if err == nil {
		err = s.pool.QueryRow(ctx, `SELECT g.id, g.agent_account_id, g.expires_at, p.name, coalesce(nullif(e.rep_name, ''), e.name), e.name
			FROM agent_authorization g JOIN account e ON e.id = g.legal_account_id JOIN account p ON p.id = g.agent_account_id
			WHERE g.legal_account_bidx = $1 AND g.id = $2 AND g.state = 'pending'`, bidx, id).Scan(&l.id, &l.agentID, &l.expires, &l.AgentName, &l.Grantor, &l.Enterprise)
	}
	switch {
	case errors.Is(database.Translate(err), database.ErrNotFound):
		s.audit(ctx, fail)
		return nil, errAgentLink
	case err != nil:
		return nil, err
	case !s.cfg.Now().Before(l.expires):
		fail.detail = fmt.Sprintf("authorization %d expired", l.id)
		s.audit(ctx, fail)
		return nil, errAgentLink
	case l.agentID != sess.accountID:
		fail.detail = fmt.Sprintf("authorization %d: another account", l.id)
		s.audit(ctx, fail)
		return nil, errAgentNotYours
	}
	l.Message = fmt.Sprintf("%s您好，%s授权您为%s的经办人，可以代为办理公司事项", l.AgentName, l.Grantor, l.Enterprise)
	return l, nil
}

// answerAgent makes the agent's answer (accept or refuse) to the link's
// authorization, as the signed-in person.
func (s *Server) answerAgent(ctx context.Context, r *http.Request, sess *session, token, answer string) (AgentState, error) {
	action, ok := agentActionOf(answer)
	if !ok || agentTransitions[action].party != partyAgent {
		return "", fieldErrors{"action": "请选择接受或拒绝"}
	}
	l, err := s.agentLinkOf(ctx, r, sess, token)
	if err != nil {
		return "", err
	}
	st, err := s.changeAgent(ctx, l.id, action, sess.accountID, s.cfg.Now())
	if errors.Is(err, errAgentTransition) {
		return "", errAgentLink
	}
	return st, err
}

func (s *Server) agentConfirmPage(w http.ResponseWriter, r *http.Request, sess *session) {
	l, err := s.agentLinkOf(r.Context(), r, sess, r.URL.Query().Get("t"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "agent_confirm.html", pageData{Title: "授权验证", AgentLink: l})
}

func (s *Server) agentConfirmForm(w http.ResponseWriter, r *http.Request, sess *session) {
	st, err := s.answerAgent(r.Context(), r, sess, r.PostFormValue("t"), r.PostFormValue("action"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if st == AgentEnabled {
		http.Redirect(w, r, "/identity?done=accepted", http.StatusSeeOther)
		return
	}
	s.render(w, r, "agent_confirm.html", pageData{Title: "授权验证", Notice: refusedNotice})
}

// The notices of an answer.
const (
	acceptedNotice = "已接受授权，您可以选择以企业经办人身份登录"
	refusedNotice  = "已拒绝授权"
)

func (s *Server) apiAgentConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	l, err := s.agentLinkOf(r.Context(), r, sess, r.URL.Query().Get("t"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) apiAgentAnswer(w http.ResponseWriter, r *http.Request, sess *session) {
	var in struct {
		Token  string `json:"t"`
		Action string `json:"action"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.answerAgent(r.Context(), r, sess, in.Token, in.Action)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]string{"state": string(st), "state_label": st.Label(), "message": refusedNotice}
	if st == AgentEnabled {
		out["message"], out["next"] = acceptedNotice, "/identity"
	}
	writeJSON(w, http.StatusOK, out)
}

// 选择登录身份 (2.3.2) and 切换 (2.3.3).

// identityOption is one identity a person may take.
type identityOption struct {
	// ID is the authorization acted under; 0 for 个人身份.
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	CreditCodeHint string `json:"credit_code_hint,omitempty"`
	Current        bool   `json:"current"`
}

// identitiesOf are the identities the session's person may take: 个人身份
// first, then each enterprise whose authorization is enabled.
func (s *Server) identitiesOf(ctx context.Context, sess *session) ([]identityOption, error) {
	rows, err := s.pool.Query(ctx, `SELECT g.id, e.name, e.id_hint FROM agent_authorization g JOIN account e ON e.id = g.legal_account_id
		WHERE g.agent_account_id = $1 AND `+actableSQL("g")+` ORDER BY g.id`, sess.accountID)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (identityOption, error) {
		var o identityOption
		err := row.Scan(&o.ID, &o.Name, &o.CreditCodeHint)
		return o, err
	})
	if err != nil {
		return nil, err
	}
	out := append([]identityOption{{Name: "个人身份"}}, list...)
	for i := range out {
		out[i].Current = out[i].ID == sess.actingFor
	}
	return out, nil
}

// switchIdentity ends sess and starts its successor acting for the
// authorization to (0: 个人身份), in one transaction: one statement ends
// the old session and inserts the new one only when to is enabled and
// the session's account (as stored) is its agent (the authorization's row locked
// against a concurrent disable), keeping the old one's authentication
// (created_at, amr) and absolute end. The old session's business systems
// are ended with it: the tokens of the previous identity stop working.
// It returns the front-channel logout URLs of those systems.
func (s *Server) switchIdentity(ctx context.Context, w http.ResponseWriter, r *http.Request, sess *session, to int64) ([]string, error) {
	if _, natural := identityOf(r); !natural {
		return nil, errIdentityUnavailable
	}
	token, hash, err := newToken()
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	var acting *int64
	if to != 0 {
		acting = &to
	}
	e := auditEvent{event: "identity_switch", outcome: "ok", account: sess.accountID, ip: clientIP(r),
		detail: fmt.Sprintf("from %d to %d", sess.actingFor, to)}
	var ended []endedClient
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.auditIn(ctx, tx, e); err != nil {
			return err
		}
		var n int
		err := tx.QueryRow(ctx, `WITH old AS (
				UPDATE auth_session SET revoked_at = $2, expires_at = LEAST(expires_at, $2)
				WHERE id_hash = $1 AND revoked_at IS NULL
				  AND ($3::bigint IS NULL OR EXISTS (SELECT 1 FROM agent_authorization g
					WHERE g.id = $3 AND g.agent_account_id = auth_session.account_id AND `+actableSQL("g")+` FOR SHARE OF g))
				RETURNING account_id, created_at, return_to, amr),
			started AS (INSERT INTO auth_session (id_hash, account_id, kind, created_at, last_seen_at, expires_at, return_to, amr, acting_for)
				SELECT $4, account_id, 'full', created_at, $2, $5, return_to, amr, $3 FROM old RETURNING 1)
			SELECT count(*) FROM started`, sess.hash, now, acting, hash, sess.expires).Scan(&n)
		if err != nil {
			return err
		}
		if n != 1 {
			return errIdentityUnavailable
		}
		ended, err = endProviderSessionsIn(ctx, tx, [][]byte{sess.hash}, now)
		return err
	})
	if errors.Is(err, errIdentityUnavailable) {
		e.outcome = "refused"
		s.audit(ctx, e)
	}
	if err != nil {
		return nil, err
	}
	setSessionCookie(w, token, sess.expires.Sub(now))
	s.kickLogouts()
	return s.frontchannelURLs(ctx, ended)
}

// identityNotices are the chooser's notices (?done=).
var identityNotices = map[string]string{"accepted": acceptedNotice}

func (s *Server) identityPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderIdentity(w, r, sess, pageData{Notice: identityNotices[r.URL.Query().Get("done")], Next: safeReturn(r.URL.Query().Get("next"))})
}

func (s *Server) renderIdentity(w http.ResponseWriter, r *http.Request, sess *session, d pageData) {
	if _, natural := identityOf(r); !natural {
		s.fail(w, r, errIdentityUnavailable)
		return
	}
	list, err := s.identitiesOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Title, d.Identities = "选择登录身份", list
	s.render(w, r, "identity.html", d)
}

func (s *Server) identityForm(w http.ResponseWriter, r *http.Request, sess *session) {
	to, _ := strconv.ParseInt(r.PostFormValue("identity"), 10, 64)
	next := safeReturn(r.PostFormValue("next"))
	front, err := s.switchIdentity(r.Context(), w, r, sess, to)
	if err != nil {
		p := problemOf(err)
		if p.code != "identity_unavailable" {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(p.status)
		s.renderIdentity(w, r, sess, pageData{Error: p.message, Next: next})
		return
	}
	if next == "" {
		next = "/center"
	}
	if len(front) > 0 {
		s.renderLoggedOut(w, r, front, next)
		return
	}
	s.redirectAfterPost(w, r, next)
}

func (s *Server) apiIdentities(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, natural := identityOf(r); !natural {
		s.fail(w, r, errIdentityUnavailable)
		return
	}
	list, err := s.identitiesOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"identities": list})
}

func (s *Server) apiIdentitySwitch(w http.ResponseWriter, r *http.Request, sess *session) {
	var in struct {
		Identity int64  `json:"identity"`
		Next     string `json:"next"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	front, err := s.switchIdentity(r.Context(), w, r, sess, in.Identity)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	next := safeReturn(in.Next)
	if next == "" {
		next = "/center"
	}
	if front == nil {
		front = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"identity": in.Identity, "next": next, "frontchannel_logout": front})
}

// 企业授权 (2.3.4): every authorization of the person, in the personal
// center of the person's own identity.

// agencyEntry is one authorization of the person as the list shows it.
type agencyEntry struct {
	Type           string     `json:"legal_type"`
	Name           string     `json:"enterprise_name"`
	CreditCodeHint string     `json:"credit_code_hint"`
	State          AgentState `json:"state"`
	Label          string     `json:"state_label"`
}

// agenciesOf lists every authorization of the account as an agent, newest
// first, after marking the expired ones.
func (s *Server) agenciesOf(ctx context.Context, accountID int64) ([]agencyEntry, error) {
	if err := expireAgents(ctx, s.pool, s.cfg.Now()); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT coalesce(e.legal_type, ''), e.name, e.id_hint, g.state
		FROM agent_authorization g JOIN account e ON e.id = g.legal_account_id
		WHERE g.agent_account_id = $1 ORDER BY g.created_at DESC, g.id DESC`, accountID)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (agencyEntry, error) {
		var a agencyEntry
		err := row.Scan(&a.Type, &a.Name, &a.CreditCodeHint, &a.State)
		a.Type, a.Label = schemas.LegalType(a.Type).Label(), a.State.Label()
		return a, err
	})
	if out == nil {
		out = []agencyEntry{}
	}
	return out, err
}

func (s *Server) apiEnterprises(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, natural := identityOf(r); !natural {
		s.fail(w, r, errIdentityUnavailable)
		return
	}
	if sess.actingFor != 0 {
		s.fail(w, r, errActingIdentity)
		return
	}
	out, err := s.agenciesOf(r.Context(), sess.accountID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"enterprises": out})
}

// agentRoutes: the agent's confirmation of a link, the identity chooser,
// 企业授权; pages and JSON twins.
func (s *Server) agentRoutes() []route {
	return []route{
		{"GET /agent/confirm", s.limited(s.full(s.agentConfirmPage))},
		{"POST /agent/confirm", s.limited(s.full(s.agentConfirmForm))},
		{"GET /api/v1/agent/confirm", s.limited(s.full(s.apiAgentConfirm))},
		{"POST /api/v1/agent/confirm", s.limited(s.full(s.apiAgentAnswer))},
		{"GET /identity", s.full(s.identityPage)},
		{"POST /identity", s.full(s.identityForm)},
		{"GET /api/v1/identity", s.full(s.apiIdentities)},
		{"POST /api/v1/identity", s.full(s.apiIdentitySwitch)},
		{"GET /api/v1/settings/enterprises", s.full(s.apiEnterprises)},
	}
}
