package authsvc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/idfusion/idfusion/internal/database"
)

// sessionKind is what a session may do.
type sessionKind string

const (
	// kindAnonymous is a login in progress: it only binds a face
	// challenge to the browser that asked for it.
	kindAnonymous sessionKind = "anonymous"
	// kindRestricted follows a first factor on an account pending
	// completion: it can read the completion status and do the next step,
	// nothing else.
	kindRestricted sessionKind = "restricted"
	// kindFull is a signed-in citizen.
	kindFull sessionKind = "full"
)

// cookieName has the __Host- prefix: browsers accept it only Secure, for
// this host alone and the whole path, so a sibling domain cannot plant one.
const cookieName = "__Host-idf_session"

// session is a session as stored; its token is only in the cookie.
type session struct {
	hash      []byte
	accountID int64 // 0 when anonymous
	kind      sessionKind
	created   time.Time
	lastSeen  time.Time
	expires   time.Time
	returnTo  string
	// actingFor is the agent's authorization the session acts under
	// (agent_authorization.id): 0 for the account's own identity (个人身份);
	// actingName is the name of the enterprise acted for, canSwitch
	// whether the account holds authorizations to act under (the header's
	// 当前身份 and 切换).
	actingFor  int64
	actingName string
	canSwitch  bool
}

var errNoSession = errors.New("no valid session")

// errSessionStale is errNoSession for a session a verification made
// stale: the citizen is told why they must log in again.
var errSessionStale = fmt.Errorf("%w: stale after a verification", errNoSession)

// staleMessage tells the holder of a stale session to log in again
// (2.2.5: 认证成功需要重新登录才可生效).
const staleMessage = "认证成功，请重新登录"

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// newToken returns a fresh session token and the hash that is stored.
func newToken() (token string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token), nil
}

func (s *Server) lifetime(kind sessionKind) time.Duration {
	if kind == kindFull {
		return s.cfg.SessionLifetime
	}
	return s.cfg.RestrictedLifetime
}

// setSessionCookie sets the session cookie. Max-Age, not Expires:
// relative to the browser's clock, whatever it says; the server enforces
// both timeouts anyway.
func setSessionCookie(w http.ResponseWriter, token string, life time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: token, Path: "/", MaxAge: int(life.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// startSession creates a session and sets its cookie. Every change of
// privilege (login, completion) gets a new session, never an upgraded one:
// an id planted or seen before it is worth nothing after.
func (s *Server) startSession(ctx context.Context, q querier, w http.ResponseWriter, kind sessionKind, accountID int64, returnTo string) (*session, error) {
	token, hash, err := newToken()
	if err != nil {
		return nil, err
	}
	now, life := s.cfg.Now(), s.lifetime(kind)
	sess := &session{hash: hash, accountID: accountID, kind: kind, created: now, lastSeen: now, expires: now.Add(life), returnTo: returnTo}
	var acc *int64
	if accountID != 0 {
		if err := holdAccount(ctx, q, accountID, nil); err != nil {
			return nil, err
		}
		acc = &accountID
	}
	if _, err := q.Exec(ctx, `INSERT INTO auth_session (id_hash, account_id, kind, created_at, last_seen_at, expires_at, return_to)
		VALUES ($1, $2, $3, $4, $4, $5, $6)`, sess.hash, acc, string(kind), now, sess.expires, returnTo); err != nil {
		return nil, err
	}
	setSessionCookie(w, token, life)
	return sess, nil
}

// errAccountGone: a session or flow was to be written for an account
// that does not exist.
var errAccountGone = errors.New("the account does not exist")

// holdAccount checks, in q's transaction, that the account a session is
// about to name exists, and keeps it from going until the transaction
// ends: what the foreign key auth_session → account did before it crossed
// the colocation groups (docs/scale-out.md §3.3). bidx, the account's
// blind index when the caller holds its row (nil if not), routes the
// check to the account's shard and must match.
func holdAccount(ctx context.Context, q querier, accountID int64, bidx []byte) error {
	var ok bool
	var err error
	if bidx != nil {
		err = q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM account WHERE id_bidx = $2 AND id = $1 FOR KEY SHARE)`, accountID, bidx).Scan(&ok)
	} else {
		err = q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM account WHERE id = $1 FOR KEY SHARE)`, accountID).Scan(&ok)
	}
	if err == nil && !ok {
		err = errAccountGone
	}
	return err
}

// rotate ends old (if any) and starts its successor in one transaction.
func (s *Server) rotate(ctx context.Context, q querier, w http.ResponseWriter, old *session, kind sessionKind, accountID int64) (*session, error) {
	returnTo := ""
	if old != nil {
		returnTo = old.returnTo
		if err := s.revoke(ctx, q, old); err != nil {
			return nil, err
		}
	}
	return s.startSession(ctx, q, w, kind, accountID, returnTo)
}

// revoke ends sess. Its expires_at comes back to the revocation if that is
// earlier, so expires_at is when a session ended or will end, and Purge
// finds every ended session by its index.
func (s *Server) revoke(ctx context.Context, q querier, sess *session) error {
	_, err := q.Exec(ctx, `UPDATE auth_session SET revoked_at = $2, expires_at = LEAST(expires_at, $2)
		WHERE id_hash = $1 AND revoked_at IS NULL`, sess.hash, s.cfg.Now())
	return err
}

// session returns the request's live session: errNoSession when there is
// none, it was revoked, or it timed out (idle or absolute). Use refreshes
// its idle clock (at most once a minute, to spare the database a write per
// request).
func (s *Server) session(ctx context.Context, r *http.Request) (*session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" || len(c.Value) > 64 {
		return nil, errNoSession
	}
	sess := &session{hash: hashToken(c.Value)}
	var acc *int64
	var kind string
	var stale *time.Time
	var acting *int64
	var actingLive bool
	err = s.pool.QueryRow(ctx, `SELECT s.account_id, s.kind, s.created_at, s.last_seen_at, s.expires_at, s.return_to, s.stale_at,
			s.acting_for, `+actingLiveSQL("s.acting_for", "s.account_id")+`,
			coalesce((SELECT e.name FROM agent_authorization g JOIN account e ON e.id = g.legal_account_id WHERE g.id = s.acting_for), ''),
			EXISTS (SELECT 1 FROM agent_authorization g WHERE g.agent_account_id = s.account_id AND `+actableSQL("g")+`)
		FROM auth_session s
		WHERE s.id_hash = $1 AND s.revoked_at IS NULL`, sess.hash).Scan(&acc, &kind, &sess.created, &sess.lastSeen, &sess.expires, &sess.returnTo, &stale,
		&acting, &actingLive, &sess.actingName, &sess.canSwitch)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	sess.kind = sessionKind(kind)
	if acc != nil {
		sess.accountID = *acc
	}
	now := s.cfg.Now()
	if stale != nil {
		// A verification changed the account (实名等级升级): it takes
		// effect at the next login.
		if err := s.revoke(ctx, s.pool, sess); err != nil {
			return nil, err
		}
		return nil, errSessionStale
	}
	if acting != nil {
		sess.actingFor = *acting
	}
	// A session acting for an enterprise whose authorization is no longer
	// enabled has ended (changeAgent ends it; this holds whatever wrote
	// the authorization).
	if !now.Before(sess.expires) || now.Sub(sess.lastSeen) >= s.cfg.IdleTimeout || (acting != nil && !actingLive) {
		if err := s.revoke(ctx, s.pool, sess); err != nil {
			return nil, err
		}
		return nil, errNoSession
	}
	if now.Sub(sess.lastSeen) >= time.Minute {
		if _, err := s.pool.Exec(ctx, `UPDATE auth_session SET last_seen_at = $2 WHERE id_hash = $1`, sess.hash, now); err != nil {
			return nil, err
		}
		sess.lastSeen = now
	}
	return sess, nil
}

func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
