package authsvc

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
)

// upstreamLinkView is one of the center's 第三方账号绑定: a provider the
// account is linked to.
type upstreamLinkView struct {
	Provider    string    `json:"provider"`
	Name        string    `json:"name"`
	LinkedAt    time.Time `json:"linked_at"`
	LastLoginAt time.Time `json:"last_login_at"`
}

// errUpstreamNotLinked: no link of the account to that provider.
var errUpstreamNotLinked = errors.New("no link to that upstream provider")

// upstreamLinks lists the account's links to upstream providers.
func (s *Server) upstreamLinks(ctx context.Context, accountID int64) ([]upstreamLinkView, error) {
	rows, err := s.pool.Query(ctx, `SELECT provider, linked_at, last_login_at FROM upstream_link WHERE account_id = $1 ORDER BY linked_at`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []upstreamLinkView{}
	for rows.Next() {
		var v upstreamLinkView
		if err := rows.Scan(&v.Provider, &v.LinkedAt, &v.LastLoginAt); err != nil {
			return nil, err
		}
		v.Name = v.Provider
		if rp := s.upstream[v.Provider]; rp != nil {
			v.Name = rp.p.Name
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// unlinkUpstream removes the account's link to a provider (解除绑定); the
// account stays.
func (s *Server) unlinkUpstream(ctx context.Context, r *http.Request, sess *session, provider string) error {
	// The subject goes with the link: it may then be linked again, to
	// this account or another.
	err := database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		var hash []byte
		err := tx.QueryRow(ctx, `DELETE FROM upstream_link WHERE account_id = $1 AND provider = $2 RETURNING subject_hash`, sess.accountID, provider).Scan(&hash)
		if errors.Is(database.Translate(err), database.ErrNotFound) {
			return errUpstreamNotLinked
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM upstream_subject WHERE subject_hash = $1`, hash)
		return err
	})
	if err != nil {
		return err
	}
	s.audit(ctx, auditEvent{event: "upstream_unlink", outcome: "ok", account: sess.accountID, ip: clientIP(r), detail: "provider=" + provider})
	return nil
}

func (s *Server) upstreamSettingsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	list, err := s.upstreamLinks(r.Context(), sess.accountID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := pageData{Title: "第三方账号绑定", UpstreamLinks: list}
	if r.URL.Query().Get("done") == "unlinked" {
		d.Notice = "已解除绑定"
	}
	s.render(w, r, "upstream_settings.html", d)
}

func (s *Server) upstreamUnlinkForm(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.unlinkUpstream(r.Context(), r, sess, r.PathValue("provider")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/upstream?done=unlinked", http.StatusSeeOther)
}

func (s *Server) apiUpstreamLinks(w http.ResponseWriter, r *http.Request, sess *session) {
	list, err := s.upstreamLinks(r.Context(), sess.accountID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": list})
}

func (s *Server) apiUpstreamUnlink(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.unlinkUpstream(r.Context(), r, sess, r.PathValue("provider")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// upstreamSettingsRoutes: the center's 第三方账号绑定.
func (s *Server) upstreamSettingsRoutes() []route {
	return []route{
		{"GET /settings/upstream", s.full(s.upstreamSettingsPage)},
		{"POST /settings/upstream/{provider}/delete", s.full(s.upstreamUnlinkForm)},
		{"GET /api/v1/settings/upstream", s.full(s.apiUpstreamLinks)},
		{"DELETE /api/v1/settings/upstream/{provider}", s.full(s.apiUpstreamUnlink)},
	}
}
