package authsvc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/oauth2"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// UpstreamProvider is an upstream OpenID provider the province trusts to
// have verified a citizen (国家政务服务平台, 椰城市民云, 电子社保卡): the
// login service is its relying party (authorization code flow, PKCE S256,
// state and nonce) and signs in, or registers, the natural account of
// the resident ID number its ID token carries.
type UpstreamProvider struct {
	// ID names the provider in URLs (/login/upstream/{id}) and in the
	// link table: letters, digits, '-' or '_', at most 32. Required.
	ID string `yaml:"id"`
	// Name is what the login page and the audit call it (国家政务服务平台).
	// Required.
	Name string `yaml:"name"`
	// Issuer is the provider's issuer URL: its discovery document is read
	// from it, unless AuthURL, TokenURL and JWKSURL are all set (then no
	// discovery; the ID tokens' iss must still be Issuer). Required;
	// https outside Config.Dev, as the endpoints.
	Issuer   string `yaml:"issuer"`
	AuthURL  string `yaml:"auth_url"`
	TokenURL string `yaml:"token_url"`
	JWKSURL  string `yaml:"jwks_url"`
	// ClientID and ClientSecret are the service's registration with the
	// provider. Required.
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"-"`
	// Scopes asked besides openid. Default: profile, phone.
	Scopes []string `yaml:"scopes"`
	// Claims are the names of the ID token's claims that carry the
	// person. Defaults: id_type, id_number, name, phone_number.
	Claims UpstreamClaims `yaml:"claims"`
	// ResidentIDTypes are the values of Claims.IDType that mean a resident
	// identity card (居民身份证): any other is refused. Default: id_card.
	ResidentIDTypes []string `yaml:"resident_id_types"`
	// Level is the real-name level the provider's login warrants (LV1,
	// LV2, LV3): what an account it registers gets. Required.
	Level string `yaml:"level"`
	// FaceVerified says the provider's login verified the face: only then
	// does it prove completion step ③ of a fused account. Default false.
	FaceVerified bool `yaml:"face_verified"`
}

// UpstreamClaims names an upstream provider's claims.
type UpstreamClaims struct {
	IDType   string `yaml:"id_type"`
	IDNumber string `yaml:"id_number"`
	Name     string `yaml:"name"`
	Phone    string `yaml:"phone"`
}

var upstreamIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// withDefaults fills the provider's defaults.
func (p UpstreamProvider) withDefaults() UpstreamProvider {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&p.Claims.IDType, "id_type")
	def(&p.Claims.IDNumber, "id_number")
	def(&p.Claims.Name, "name")
	def(&p.Claims.Phone, "phone_number")
	if len(p.ResidentIDTypes) == 0 {
		p.ResidentIDTypes = []string{"id_card"}
	}
	if p.Scopes == nil {
		p.Scopes = []string{"profile", "phone"}
	}
	return p
}

// Validate checks a provider's configuration; dev allows http URLs. Its
// errors name the field.
func (p UpstreamProvider) Validate(dev bool) error {
	if !upstreamIDRE.MatchString(p.ID) || p.ID == "register" {
		return fmt.Errorf("upstream provider %q: id must be 1-32 letters, digits, '-' or '_'", p.ID)
	}
	bad := func(field, why string) error { return fmt.Errorf("upstream provider %s: %s %s", p.ID, field, why) }
	switch {
	case p.Name == "":
		return bad("name", "is required")
	case p.ClientID == "":
		return bad("client_id", "is required")
	case p.ClientSecret == "":
		return bad("client_secret", "is required")
	case p.Level != account.LevelPhone && p.Level != account.LevelID && p.Level != account.LevelFace:
		return bad("level", "must be LV1, LV2 or LV3")
	}
	explicit := p.AuthURL != "" || p.TokenURL != "" || p.JWKSURL != ""
	if explicit && (p.AuthURL == "" || p.TokenURL == "" || p.JWKSURL == "") {
		return bad("auth_url, token_url, jwks_url", "must be set together (or none, for discovery)")
	}
	for _, f := range []struct{ name, v string }{{"issuer", p.Issuer}, {"auth_url", p.AuthURL}, {"token_url", p.TokenURL}, {"jwks_url", p.JWKSURL}} {
		if f.v == "" && f.name != "issuer" {
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil || u.Host == "" || (u.Scheme != "https" && (!dev || u.Scheme != "http")) {
			if dev {
				return bad(f.name, "must be an absolute http(s) URL")
			}
			return bad(f.name, "must be an absolute https URL")
		}
	}
	return nil
}

// upstreamRP is the service as one provider's relying party: the
// provider's endpoints and keys, fetched on first use (a provider down
// does not stop the service; its button answers errUpstreamUnavailable
// until it answers).
type upstreamRP struct {
	p UpstreamProvider

	mu       sync.Mutex
	conf     *oauth2.Config
	verifier *oidc.IDTokenVerifier
	// failedAt is when its metadata last could not be read: for
	// upstreamRetry after, its button fails at once.
	failedAt time.Time
}

// method is methodUpstream naming this provider in the audit.
func (rp *upstreamRP) method() *loginMethod {
	m := *methodUpstream
	m.provider = rp.p.Name
	return &m
}

// upstreamRetry is how long a provider whose metadata could not be read
// is taken as down before it is asked again.
const upstreamRetry = 30 * time.Second

// errUpstreamUnavailable: the provider's metadata could not be read.
var errUpstreamUnavailable = errors.New("upstream provider unavailable")

// errUpstreamFailed: a login at an upstream provider refused (audited
// with why; the citizen is told no more than for any login).
var errUpstreamFailed = errors.New("upstream login refused")

// errUpstreamUnknown: no such provider configured.
var errUpstreamUnknown = errors.New("unknown upstream provider")

// errUpstreamRegistration: no registration of this session to accept
// (none, expired, or done).
var errUpstreamRegistration = errors.New("no upstream registration for this session")

// errUpstreamRegistered: the person got an account meanwhile.
var errUpstreamRegistered = errors.New("the upstream registration's ID number has an account now")

// upstreamTimeout bounds a call to a provider.
const upstreamTimeout = 10 * time.Second

// upstreamLoginTTL is how long a login at a provider (and then its
// agreement page) can take.
const upstreamLoginTTL = 10 * time.Minute

func (s *Server) newUpstreams() (map[string]*upstreamRP, error) {
	m := map[string]*upstreamRP{}
	for _, p := range s.cfg.Upstream {
		if _, dup := m[p.ID]; dup {
			return nil, fmt.Errorf("authsvc: upstream provider %s configured twice", p.ID)
		}
		m[p.ID] = &upstreamRP{p: p.withDefaults()}
	}
	return m, nil
}

// client is the relying party's configuration and verifier, read from
// the provider on first use.
func (s *Server) upstreamClient(ctx context.Context, rp *upstreamRP) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.conf != nil {
		return rp.conf, rp.verifier, nil
	}
	if !rp.failedAt.IsZero() && s.cfg.Now().Before(rp.failedAt.Add(upstreamRetry)) {
		return nil, nil, fmt.Errorf("%w: %s: down since %s", errUpstreamUnavailable, rp.p.ID, rp.failedAt.Format(time.RFC3339))
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), s.cfg.HTTPClient), upstreamTimeout)
	defer cancel()
	var prov *oidc.Provider
	if rp.p.AuthURL != "" {
		prov = (&oidc.ProviderConfig{IssuerURL: rp.p.Issuer, AuthURL: rp.p.AuthURL, TokenURL: rp.p.TokenURL, JWKSURL: rp.p.JWKSURL,
			Algorithms: []string{oidc.RS256, oidc.ES256, oidc.PS256}}).NewProvider(oidc.ClientContext(context.Background(), s.cfg.HTTPClient))
	} else {
		var err error
		if prov, err = oidc.NewProvider(ctx, rp.p.Issuer); err != nil {
			rp.failedAt = s.cfg.Now()
			s.cfg.Logger.Warn("upstream_unavailable", "provider", rp.p.ID, errAttr(err))
			return nil, nil, fmt.Errorf("%w: %s: %v", errUpstreamUnavailable, rp.p.ID, err)
		}
	}
	rp.conf = &oauth2.Config{ClientID: rp.p.ClientID, ClientSecret: rp.p.ClientSecret, Endpoint: prov.Endpoint(),
		RedirectURL: s.cfg.BaseURL + "/login/upstream/" + rp.p.ID + "/callback",
		Scopes:      append([]string{oidc.ScopeOpenID}, rp.p.Scopes...)}
	rp.verifier = prov.Verifier(&oidc.Config{ClientID: rp.p.ClientID, Now: s.cfg.Now})
	return rp.conf, rp.verifier, nil
}

func randomURLString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func stateHash(state string) []byte {
	h := sha256.Sum256([]byte(state))
	return h[:]
}

// upstreamSubject is the link's subject_hash.
func upstreamSubject(provider, sub string) []byte {
	h := sha256.Sum256([]byte(provider + "\x00" + sub))
	return h[:]
}

// startUpstream binds a login at the provider to this browser's session
// (anonymous if none) and returns where to send the browser.
func (s *Server) startUpstream(ctx context.Context, w http.ResponseWriter, r *http.Request, id, returnTo string) (string, error) {
	rp := s.upstream[id]
	if rp == nil {
		return "", errUpstreamUnknown
	}
	conf, _, err := s.upstreamClient(ctx, rp)
	if err != nil {
		return "", err
	}
	sess, err := s.session(ctx, r)
	if errors.Is(err, errNoSession) {
		sess, err = s.startSession(ctx, s.pool, w, kindAnonymous, 0, safeReturn(returnTo))
	}
	if err != nil {
		return "", err
	}
	state, nonce, verifier := randomURLString(32), randomURLString(24), oauth2.GenerateVerifier()
	now := s.cfg.Now()
	if _, err := s.pool.Exec(ctx, `INSERT INTO upstream_login (state_hash, session_hash, provider, nonce, code_verifier, return_to, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, stateHash(state), sess.hash, id, nonce, verifier, safeReturn(returnTo), now, now.Add(upstreamLoginTTL)); err != nil {
		return "", err
	}
	s.audit(ctx, auditEvent{event: "upstream_login_start", outcome: "ok", ip: clientIP(r), detail: "provider=" + rp.p.Name})
	return conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// upstreamClaims is what a verified ID token said of the person.
type upstreamClaims struct {
	subject, name, idNumber, phone string
}

// upstreamCallback takes the provider's answer: the state spent (once,
// this browser's, this provider's, unexpired) before the code is
// exchanged, the ID token verified (signature, iss, aud, exp; the nonce),
// the resident ID number's natural account signed in, or kept for the
// agreement page when there is none. Every refusal audited.
func (s *Server) upstreamCallback(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) (string, error) {
	rp := s.upstream[id]
	if rp == nil {
		return "", errUpstreamUnknown
	}
	refuse := func(a *account.Account, why string) error {
		subject := ""
		if a != nil {
			subject = a.IDHint
		}
		s.refuse(ctx, r, methodUpstream.event, a, subject, "provider="+rp.p.Name+" "+why)
		return errUpstreamFailed
	}
	conf, verifier, err := s.upstreamClient(ctx, rp)
	if err != nil {
		return "", err
	}
	sess, err := s.session(ctx, r)
	if errors.Is(err, errNoSession) {
		return "", refuse(nil, "no session")
	}
	if err != nil {
		return "", err
	}
	q := r.URL.Query()
	var nonce, codeVerifier, returnTo string
	now := s.cfg.Now()
	err = s.pool.QueryRow(ctx, `UPDATE upstream_login SET used_at = $4
		WHERE state_hash = $1 AND session_hash = $2 AND provider = $3 AND used_at IS NULL AND expires_at > $4
		RETURNING nonce, code_verifier, return_to`, stateHash(q.Get("state")), sess.hash, id, now).Scan(&nonce, &codeVerifier, &returnTo)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return "", refuse(nil, "state unknown, used, expired or another browser's")
	}
	if err != nil {
		return "", err
	}
	if e := q.Get("error"); e != "" {
		return "", refuse(nil, "provider error "+e)
	}
	xctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, s.cfg.HTTPClient), upstreamTimeout)
	defer cancel()
	tok, err := conf.Exchange(xctx, q.Get("code"), oauth2.VerifierOption(codeVerifier))
	if err != nil {
		return "", refuse(nil, "code exchange failed")
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(xctx, raw)
	if err != nil {
		return "", refuse(nil, "id token refused: "+err.Error())
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return "", refuse(nil, "nonce mismatch")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", refuse(nil, "claims unreadable")
	}
	str := func(k string) string { v, _ := claims[k].(string); return v }
	if !slices.Contains(rp.p.ResidentIDTypes, str(rp.p.Claims.IDType)) {
		return "", refuse(nil, "id type not a resident ID card")
	}
	number, ok := account.CheckID(str(rp.p.Claims.IDNumber), schemas.IDResident)
	if !ok || idt.Subject == "" {
		return "", refuse(nil, "id number invalid")
	}
	c := upstreamClaims{subject: idt.Subject, name: str(rp.p.Claims.Name), idNumber: number, phone: account.NormalizePhone(str(rp.p.Claims.Phone))}
	// An ID number's blind index is never a credit code's (its own
	// domain): only a natural account is found.
	a, err := account.ByIDIndex(ctx, s.pool, s.idIndex(number))
	if err != nil {
		return "", err
	}
	if a == nil {
		// A subject linked to an account vouches for that account's ID
		// number only: not a registration of another.
		var linked bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM upstream_subject WHERE provider = $1 AND subject_hash = $2)`,
			rp.p.ID, upstreamSubject(rp.p.ID, c.subject)).Scan(&linked); err != nil {
			return "", err
		}
		if linked {
			return "", refuse(nil, errUpstreamLinked.Error())
		}
		return "/login/upstream/register", s.keepUpstream(ctx, r, sess, rp, q.Get("state"), c)
	}
	if s.locked(a) {
		return "", refuse(a, "locked")
	}
	if err := s.link(ctx, a, rp.p.ID, c.subject); err != nil {
		if errors.Is(err, errUpstreamLinked) {
			return "", refuse(a, err.Error())
		}
		return "", err
	}
	// The sign-in and, from a provider that verified the face, the
	// approved challenge of step ③ for the new session, together: a
	// session without its proof would have to do the face step again.
	var res loginResult
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		var hash []byte
		var err error
		if res, hash, err = s.signInOn(ctx, tx, w, r, a, rp.method(), returnTo); err != nil {
			return err
		}
		if a.Status != schemas.StatusPendingCompletion || !rp.p.FaceVerified {
			return nil
		}
		fid, err := NewChallengeID()
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO face_challenge (id, session_hash, account_id, purpose, status, created_at, expires_at)
			VALUES ($1, $2, $3, $4, 'approved', $5, $6)`, fid, hash, a.ID, faceComplete, now, now.Add(s.cfg.RestrictedLifetime))
		return err
	})
	if err != nil {
		return "", err
	}
	return res.Next, nil
}

// errUpstreamLinked: the subject is another account's, or the account
// holds another subject of the provider.
var errUpstreamLinked = errors.New("subject linked to another account")

// link records (or refreshes) the account's link to its subject at the
// provider. The subject is claimed first in upstream_subject, the lookup
// table that keeps a subject one account's nationally (docs/scale-out.md
// §3.2), in the same transaction as the link.
func (s *Server) link(ctx context.Context, a *account.Account, provider, sub string) error {
	hash := upstreamSubject(provider, sub)
	return database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO upstream_subject (subject_hash, provider, account_bidx, account_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (subject_hash) DO NOTHING`, hash, provider, a.IDBidx, a.ID); err != nil {
			return err
		}
		var owner int64
		if err := tx.QueryRow(ctx, `SELECT account_id FROM upstream_subject WHERE subject_hash = $1`, hash).Scan(&owner); err != nil {
			return err
		}
		if owner != a.ID {
			return errUpstreamLinked
		}
		var one int
		err := tx.QueryRow(ctx, `INSERT INTO upstream_link (account_id, account_bidx, provider, subject_hash, linked_at, last_login_at)
			VALUES ($1, $5, $2, $3, $4, $4)
			ON CONFLICT (account_bidx, account_id, provider) DO UPDATE SET last_login_at = EXCLUDED.last_login_at
				WHERE upstream_link.subject_hash = EXCLUDED.subject_hash
			RETURNING 1`, a.ID, provider, hash, s.cfg.Now(), a.IDBidx).Scan(&one)
		if errors.Is(database.Translate(err), database.ErrNotFound) {
			return fmt.Errorf("%w: the account is linked to another subject", errUpstreamLinked)
		}
		return err
	})
}

// keepUpstream keeps what the provider verified of a person without an
// account in the spent login row, for the agreement page.
func (s *Server) keepUpstream(ctx context.Context, r *http.Request, sess *session, rp *upstreamRP, state string, c upstreamClaims) error {
	k := s.cfg.Keyring
	var phoneSealed, phoneBidx []byte
	var phoneHint *string
	if account.ValidPhone(c.phone) {
		phoneSealed, phoneBidx = account.SealPhone(k, c.phone), account.PhoneIndex(k, c.phone)
		h := pii.MaskPhone(c.phone)
		phoneHint = &h
	}
	_, err := s.pool.Exec(ctx, `UPDATE upstream_login SET subject_hash = $3, name = $4, id_type = $5, id_sealed = $6, id_bidx = $7, id_hint = $8,
			phone_sealed = $9, phone_bidx = $10, phone_hint = $11
		WHERE state_hash = $1 AND session_hash = $2`, stateHash(state), sess.hash, upstreamSubject(rp.p.ID, c.subject), c.name,
		string(schemas.IDResident), account.SealID(k, c.idNumber), s.idIndex(c.idNumber), pii.MaskID(c.idNumber), phoneSealed, phoneBidx, phoneHint)
	if err == nil {
		s.audit(ctx, auditEvent{event: "register_upstream_start", outcome: "ok", subject: pii.MaskID(c.idNumber), ip: clientIP(r),
			detail: "provider=" + rp.p.Name + " verified, no account: the agreement page"})
	}
	return err
}

// upstreamRegView is the agreement page of an upstream registration.
type upstreamRegView struct {
	Provider, Name, IDHint, Version string
	Agreement                       []string
}

// pendingUpstream is this session's verified registration, if any.
func (s *Server) pendingUpstream(ctx context.Context, r *http.Request) (*upstreamRegView, error) {
	sess, err := s.session(ctx, r)
	if err != nil {
		return nil, err
	}
	var provider, name, hint string
	err = s.pool.QueryRow(ctx, `SELECT provider, name, id_hint FROM upstream_login
		WHERE session_hash = $1 AND subject_hash IS NOT NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 1`,
		sess.hash, s.cfg.Now()).Scan(&provider, &name, &hint)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return nil, errUpstreamRegistration
	}
	if err != nil {
		return nil, err
	}
	pname := provider
	if rp := s.upstream[provider]; rp != nil {
		pname = rp.p.Name
	}
	return &upstreamRegView{Provider: pname, Name: pii.MaskPersonName(name), IDHint: hint, Agreement: agreementText, Version: AgreementVersion}, nil
}

// registerUpstream registers the person the session's provider verified,
// once they accepted the agreement: the row spent, the account created at
// the provider's level, linked and signed in, in one transaction.
func (s *Server) registerUpstream(ctx context.Context, w http.ResponseWriter, r *http.Request, agree bool, version string) (loginResult, error) {
	sess, err := s.session(ctx, r)
	if err != nil {
		return loginResult{}, err
	}
	if !agree || version != AgreementVersion {
		return loginResult{}, fieldErrors{"agree": "请阅读并同意注册协议"}
	}
	var res loginResult
	var refusal error
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		var reg account.UpstreamRegistration
		var provider, returnTo string
		var subject []byte
		now := s.cfg.Now()
		err := tx.QueryRow(ctx, `DELETE FROM upstream_login
			WHERE session_hash = $1 AND state_hash = (SELECT state_hash FROM upstream_login WHERE session_hash = $1 AND subject_hash IS NOT NULL AND expires_at > $2
				ORDER BY created_at DESC LIMIT 1)
			RETURNING provider, return_to, subject_hash, name, id_type, id_sealed, id_bidx, id_hint, phone_sealed, phone_bidx, phone_hint`,
			sess.hash, now).Scan(&provider, &returnTo, &subject, &reg.Name, &reg.IDType, &reg.IDSealed, &reg.IDBidx, &reg.IDHint,
			&reg.PhoneSealed, &reg.PhoneBidx, &reg.PhoneHint)
		if errors.Is(database.Translate(err), database.ErrNotFound) {
			return errUpstreamRegistration
		}
		if err != nil {
			return err
		}
		rp := s.upstream[provider]
		if rp == nil {
			return errUpstreamUnknown
		}
		reg.Level, reg.AgreementVersion, reg.AgreementAt = rp.p.Level, AgreementVersion, now
		if reg.PhoneBidx != nil {
			// A phone bound to another account is not taken.
			if bound, err := account.PhoneBound(ctx, tx, reg.PhoneBidx); err != nil {
				return err
			} else if bound {
				reg.PhoneSealed, reg.PhoneBidx, reg.PhoneHint = nil, nil, nil
			}
		}
		id, err := account.RegisterUpstream(ctx, tx, reg)
		if errors.Is(err, account.ErrIDTaken) {
			refusal = errUpstreamRegistered
			// In the transaction: the row stays spent with its refusal.
			return s.auditIn(ctx, tx, auditEvent{event: "register_upstream", outcome: "refused", subject: reg.IDHint, ip: clientIP(r), detail: "provider=" + rp.p.Name + " the ID number has an account"})
		}
		if err != nil {
			return err
		}
		if err := s.auditIn(ctx, tx, auditEvent{event: "register_upstream", outcome: "ok", account: id, subject: reg.IDHint, ip: clientIP(r),
			detail: "provider=" + rp.p.Name + " level=" + rp.p.Level}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO upstream_subject (subject_hash, provider, account_bidx, account_id) VALUES ($1, $2, $3, $4)`,
			subject, provider, reg.IDBidx, id); err != nil {
			// Linked since the callback checked (a race): nothing is
			// created, the login refused.
			if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
				return errUpstreamFailed
			}
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO upstream_link (account_id, account_bidx, provider, subject_hash, linked_at, last_login_at) VALUES ($1, $5, $2, $3, $4, $4)`,
			id, provider, subject, now, reg.IDBidx); err != nil {
			return err
		}
		a, err := account.ByID(ctx, tx, id, false)
		if err != nil {
			return err
		}
		res, _, err = s.signInOn(ctx, tx, w, r, a, rp.method(), returnTo)
		return err
	})
	if err == nil {
		err = refusal
	}
	return res, err
}

// upstreamButton is a provider's link on the login page.
type upstreamButton struct{ ID, Name string }

// upstreamButtons are the configured providers, in configuration order.
func (s *Server) upstreamButtons() []upstreamButton {
	var b []upstreamButton
	for _, p := range s.cfg.Upstream {
		b = append(b, upstreamButton{ID: p.ID, Name: p.Name})
	}
	return b
}

// Pages and JSON twins.

func (s *Server) upstreamStart(w http.ResponseWriter, r *http.Request) {
	to, err := s.startUpstream(r.Context(), w, r, r.PathValue("provider"), r.URL.Query().Get("return_to"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"next": to})
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

func (s *Server) upstreamCallbackPage(w http.ResponseWriter, r *http.Request) {
	next, err := s.upstreamCallback(r.Context(), w, r, r.PathValue("provider"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) upstreamRegisterPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.pendingUpstream(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "upstream_register.html", pageData{Title: "注册协议", UpstreamReg: v})
}

func (s *Server) upstreamRegisterForm(w http.ResponseWriter, r *http.Request) {
	res, err := s.registerUpstream(r.Context(), w, r, r.PostFormValue("agree") != "", r.PostFormValue("agreement_version"))
	if err != nil {
		v, verr := s.pendingUpstream(r.Context(), r)
		p := problemOf(err)
		if verr != nil || p.status >= http.StatusInternalServerError {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(p.status)
		s.render(w, r, "upstream_register.html", pageData{Title: "注册协议", UpstreamReg: v, Error: p.message})
		return
	}
	s.redirectAfterPost(w, r, res.Next)
}

func (s *Server) apiUpstreamRegistration(w http.ResponseWriter, r *http.Request) {
	v, err := s.pendingUpstream(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"provider": v.Provider, "name": v.Name, "id_hint": v.IDHint,
		"agreement": v.Agreement, "agreement_version": v.Version})
}

func (s *Server) apiUpstreamRegister(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Agree            bool   `json:"agree"`
		AgreementVersion string `json:"agreement_version"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.registerUpstream(r.Context(), w, r, in.Agree, in.AgreementVersion)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// upstreamRoutes: the logins at the upstream providers and the
// registration of a person they verified who has no account.
func (s *Server) upstreamRoutes() []route {
	return []route{
		{"GET /login/upstream/{provider}", s.limited(s.upstreamStart)},
		{"GET /login/upstream/{provider}/callback", s.limited(s.upstreamCallbackPage)},
		{"GET /login/upstream/register", s.upstreamRegisterPage},
		{"POST /login/upstream/register", s.limited(s.upstreamRegisterForm)},
		{"GET /api/v1/login/upstream/{provider}", s.limited(s.upstreamStart)},
		{"GET /api/v1/login/upstream/register", s.apiUpstreamRegistration},
		{"POST /api/v1/login/upstream/register", s.limited(s.apiUpstreamRegister)},
	}
}
