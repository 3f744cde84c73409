package authsvc

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
)

// Consent: a business system gets the full ID number (ScopeIDCard) or the
// phone ("phone") only after the citizen saw, on the consent page (授权确认)
// between the login and the code, which system asks and what it receives,
// and pressed 同意授权. The approval is remembered per account and client
// (oidc_consent), so the next login asks only for scopes not yet approved;
// the citizen revokes it in the personal center, which also revokes the
// client's live tokens for the account. 拒绝 ends the request at the
// client with access_denied. The release itself (userinfo) checks the
// consent again: a consent revoked since a token was issued stops it.

// sensitiveScopes are the scopes that need the citizen's consent.
var sensitiveScopes = []string{ScopeIDCard, oidc.ScopePhone}

// sensitive are the scopes among scopes that need the citizen's consent.
func sensitive(scopes []string) []string {
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return !slices.Contains(sensitiveScopes, s) })
}

var (
	// errConsentMissing refuses a release the citizen's consent does not
	// (or no longer) cover.
	errConsentMissing = errors.New("the citizen's consent does not cover the scopes")
	// errConsentUnknown: no consent of this account for the client.
	errConsentUnknown = errors.New("no such consent")
)

// consentCovers: the account approved every sensitive scope among scopes
// for the client (true when there is none).
func (s *Server) consentCovers(ctx context.Context, accountID int64, clientID string, scopes []string) (bool, error) {
	want := sensitive(scopes)
	if len(want) == 0 {
		return true, nil
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM oidc_consent WHERE account_id = $1 AND client_id = $2 AND scopes @> $3)`,
		accountID, clientID, want).Scan(&ok)
	return ok, err
}

// released is what a client receives with scopes, as the citizen reads it.
func released(scopes []string) []string {
	out := []string{"姓名", "证件号码（部分隐藏）"}
	for _, sc := range scopes {
		if l := scopeLabel(sc); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// scopeLabel names in Chinese what a scope releases beyond the name and
// the masked ID number ("" for nothing more).
func scopeLabel(scope string) string {
	switch scope {
	case ScopeIDCard:
		return "证件号码（完整）及证件类型"
	case oidc.ScopePhone:
		return "手机号码"
	case oidc.ScopeOfflineAccess:
		return "长期访问（无需您再次登录即可持续获取以上信息）"
	}
	return ""
}

// consentView is what the consent page shows and posts back: the request,
// and the account the page was shown to (its subject), so that an
// approval after another login in the same browser does not count for an
// account that never saw the page.
type consentView struct {
	RequestID string
	Subject   string
	Client    string
	Items     []string
}

func (s *Server) consentPage(w http.ResponseWriter, r *http.Request, req *oidcAuthRequest, sess *session) {
	c, err := s.clientByID(r.Context(), req.clientID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "consent.html", pageData{Title: "授权确认",
		Consent: &consentView{RequestID: req.id, Subject: s.subject(sess.accountID), Client: c.name, Items: released(req.scopes)}})
}

// oidcConsentForm takes the answer of the consent page: for this
// browser's pending request (its bind cookie) and the account the page
// was shown to. 同意授权 records the consent, 拒绝 marks the request
// denied; either way the browser goes back to /oidc/resume, which issues
// the code or ends the request with access_denied. That hop leads off
// this origin, so it is made by a page (redirectAfterPost).
func (s *Server) oidcConsentForm(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	id := r.PostFormValue("id")
	req, browser, err := s.boundRequest(ctx, r, id)
	if err == nil && r.PostFormValue("account") != s.subject(sess.accountID) {
		err = errOIDCRequest
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	scopes := sensitive(req.scopes)
	switch r.PostFormValue("decision") {
	case "approve":
		err = s.grantConsent(ctx, sess.accountID, req.clientID, scopes)
		if err == nil {
			s.audit(ctx, auditEvent{event: "oidc_consent", outcome: "ok", account: sess.accountID, ip: clientIP(r), detail: req.clientID + " " + strings.Join(scopes, " ")})
		}
	case "deny":
		err = s.denyRequest(ctx, req.id, browser)
		if err == nil {
			s.audit(ctx, auditEvent{event: "oidc_consent", outcome: "refused", account: sess.accountID, ip: clientIP(r), detail: req.clientID + " " + strings.Join(scopes, " ")})
		}
	default:
		err = errBadRequest
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.redirectAfterPost(w, r, resumePath(id))
}

// grantConsent adds scopes to what the account approved for the client.
func (s *Server) grantConsent(ctx context.Context, accountID int64, clientID string, scopes []string) error {
	if len(scopes) == 0 {
		return nil
	}
	// The consent's row carries the account's blind index (its shard
	// key), from the account row.
	a, err := account.ByID(ctx, s.pool, accountID, false)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO oidc_consent (account_id, account_bidx, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (account_bidx, client_id) DO UPDATE
		SET scopes = ARRAY(SELECT DISTINCT sc FROM unnest(oidc_consent.scopes || EXCLUDED.scopes) sc ORDER BY sc), granted_at = EXCLUDED.granted_at`,
		a.ID, a.IDBidx, clientID, scopes, s.cfg.Now())
	return err
}

// denyRequest marks this browser's pending request refused: it can never
// be done, and ends at the client with access_denied.
func (s *Server) denyRequest(ctx context.Context, id string, browser []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE oidc_auth_request SET denied = true WHERE id = $1 AND browser_hash = $2 AND NOT done AND NOT denied`, id, browser)
	if err == nil && tag.RowsAffected() == 0 {
		err = errOIDCRequest
	}
	return err
}

// consentEntry is a consent as the personal center lists it.
type consentEntry struct {
	ClientID  string    `json:"client_id"`
	Client    string    `json:"client"`
	Scopes    []string  `json:"scopes"`
	GrantedAt time.Time `json:"granted_at"`
}

// What names the scopes approved.
func (c consentEntry) What() string {
	var out []string
	for _, sc := range c.Scopes {
		out = append(out, scopeLabel(sc))
	}
	return strings.Join(out, "、")
}

// At is when the consent was given, in the province's time.
func (c consentEntry) At() string { return c.GrantedAt.In(shanghai).Format("2006-01-02 15:04") }

// consentsOf lists the account's consents, newest first.
func (s *Server) consentsOf(ctx context.Context, accountID int64) ([]consentEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.client_id, k.name, c.scopes, c.granted_at FROM oidc_consent c JOIN oidc_client k ON k.id = c.client_id
		WHERE c.account_id = $1 ORDER BY c.granted_at DESC, c.client_id`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (consentEntry, error) {
		var e consentEntry
		err := row.Scan(&e.ClientID, &e.Client, &e.Scopes, &e.GrantedAt)
		return e, err
	})
}

// revokeConsent deletes the account's consent for the client and revokes
// the client's live tokens for the account, in one transaction: what the
// consent released stops flowing at once, and the next request asks again.
func (s *Server) revokeConsent(ctx context.Context, r *http.Request, accountID int64, clientID string) error {
	now := s.cfg.Now()
	var tokens int64
	err := database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM oidc_consent WHERE account_id = $1 AND client_id = $2`, accountID, clientID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errConsentUnknown
		}
		tag, err = tx.Exec(ctx, `UPDATE oidc_token SET `+revokeSet(3)+` WHERE account_id = $1 AND client_id = $2 AND revoked_at IS NULL`, accountID, clientID, now)
		tokens = tag.RowsAffected()
		return err
	})
	outcome := "ok"
	if err != nil {
		outcome = "fail"
	}
	s.audit(ctx, auditEvent{event: "oidc_consent_revoke", outcome: outcome, account: accountID, ip: clientIP(r),
		detail: clientID + " tokens revoked: " + strconv.FormatInt(tokens, 10)})
	return err
}

func (s *Server) revokeConsentForm(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.revokeConsent(r.Context(), r, sess.accountID, r.PostFormValue("client_id")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/center", http.StatusSeeOther)
}

func (s *Server) apiConsents(w http.ResponseWriter, r *http.Request, sess *session) {
	list, err := s.consentsOf(r.Context(), sess.accountID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"consents": list})
}

func (s *Server) apiRevokeConsent(w http.ResponseWriter, r *http.Request, sess *session) {
	var in struct {
		ClientID string `json:"client_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.revokeConsent(r.Context(), r, sess.accountID, in.ClientID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
