package authsvc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/idfusion/idfusion/internal/database"
)

// ScopeIDCard is the scope that releases the full ID number ("id_number"
// claim). A client gets it only when registered with it, and every
// release is audited; without it a client sees the masked "id_hint".
const ScopeIDCard = "idcard"

// ScopeEnterprise is the scope that releases, for a legal account, its
// credit code, name and type ("credit_code", "enterprise_name",
// "legal_type" claims). Every token says which kind of account signed in
// ("account_type": natural or legal) without it. A credit code is public
// (it is printed on the business licence), so the scope needs no consent.
const ScopeEnterprise = "enterprise"

// ScopeAgent is the scope that releases, when the citizen signed in
// acting for an enterprise (an agent, 经办人), which one: the "act" claim
// {"sub": the natural person's subject, "credit_code", "enterprise_name"}.
// The token's own sub and account_type stay the natural person's; in the
// person's own identity (个人身份) there is no "act". Like the enterprise
// scope it releases public identifiers only, so it needs no consent.
const ScopeAgent = "agent"

// Client is a business system registered with the OpenID provider.
type Client struct {
	// ID is the client_id. Required.
	ID string
	// Name is shown to operators, and to citizens on the consent page and
	// in the personal center. Default: the ID.
	Name string
	// RedirectURIs are the exact redirect URIs allowed (https, or http on
	// a loopback address). At least one is required.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the exact URIs the end of a session
	// (RP-initiated logout) may send the browser back to, under the same
	// rules as RedirectURIs. Default: none (the browser stays at the
	// provider's login page).
	PostLogoutRedirectURIs []string
	// Public marks a client that cannot keep a secret (a single-page or
	// native application): it gets no secret and must use PKCE S256.
	// Default false: a confidential client with a secret.
	Public bool
	// Scopes are what the client may ask for besides "openid" (for
	// example "profile", "phone", "offline_access", ScopeIDCard). Default:
	// none. The sensitive ones (ScopeIDCard, "phone") are released only
	// after the citizen approved them for this client (oidc_consent.go).
	Scopes []string
	// RequireFace makes every authorization of the client require a face
	// check in the citizen's session (acr urn:idfusion:acr:face), as if
	// each request asked for it in acr_values. Default false.
	RequireFace bool
	// PKCEOptional lets a confidential client that cannot send PKCE (some
	// bought software) use the code flow without it. PKCE stays required
	// of every other client (RFC 9700); a public client cannot have this.
	// The registration is audited and listed. Default false.
	PKCEOptional bool
	// EmailClaim names the claim that stands in for "email" for a client
	// that requires an email to sign anyone in (oauth2-proxy, many bought
	// systems): "sub". Accounts have no email; the
	// stand-in is an identifier the provider vouches for, so it is marked
	// verified. Released with the "email" scope only. Default "": none.
	EmailClaim string
	// Logout is where the client hears of the end of a citizen's session
	// (single logout, oidc_logout.go). Default: nowhere.
	Logout LogoutChannels
	// DisabledAt is when the client was disabled (DisableClient), as
	// ListClients reports it; nil while it is enabled. Not registered.
	DisabledAt *time.Time
}

// emailClaims are the values of Client.EmailClaim.
var emailClaims = []string{"", "sub"}

// RegisterClient registers c and returns its secret ("" for a public
// client): shown once, only its SHA-256 is stored. The secret is 32
// random bytes, so a fast hash is enough: nobody brute-forces 2²⁵⁶, and a
// slow one (argon2id) would only cost CPU on every token request. The
// registration is audited as oidc_client_register (the CLI, as the
// owner); the console registers through registerClientIn with its staff
// audit row.
func RegisterClient(ctx context.Context, pool *pgxpool.Pool, c Client) (secret string, err error) {
	// The registration and its audit row commit together: a client
	// allowed without PKCE is on record.
	err = database.Transact(ctx, pool, func(tx pgx.Tx) error {
		var detail string
		if secret, detail, err = registerClientIn(ctx, tx, c); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome, subject, detail) VALUES (now(), 'oidc_client_register', 'ok', $1, $2)`, c.ID, detail)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("RegisterClient(%q): %w", c.ID, err)
	}
	return secret, nil
}

// clientIDRE is what a client id may be: it is put in URLs and paths
// (the console's, the audit's), so plain characters only.
var clientIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// registerClientIn checks c and registers it with q (in the caller's
// transaction, which writes the audit row): its secret ("" for a public
// client) and the audit detail of what was registered. The one rule of a
// registration, for the CLI and the console.
func registerClientIn(ctx context.Context, q querier, c Client) (secret, detail string, err error) {
	if !clientIDRE.MatchString(c.ID) {
		return "", "", errors.New("Client.ID: 1-64 letters, digits, . _ -, a letter or digit first")
	}
	if len(c.RedirectURIs) == 0 {
		return "", "", errors.New("Client.RedirectURIs: at least one is required")
	}
	for _, f := range []struct {
		name string
		uris []string
	}{{"RedirectURIs", c.RedirectURIs}, {"PostLogoutRedirectURIs", c.PostLogoutRedirectURIs}} {
		for _, u := range f.uris {
			if !validRedirect(u) {
				return "", "", fmt.Errorf("%s: %q must be an absolute https URL (http only on a loopback address) without fragment", "Client."+f.name, u)
			}
		}
	}
	if err := c.Logout.validate(); err != nil {
		return "", "", err
	}
	if c.PostLogoutRedirectURIs == nil {
		c.PostLogoutRedirectURIs = []string{}
	}
	if c.PKCEOptional && c.Public {
		return "", "", errors.New("Client.PKCEOptional: a public client must use PKCE")
	}
	if !slices.Contains(emailClaims, c.EmailClaim) {
		return "", "", fmt.Errorf("Client.EmailClaim: %q is not \"sub\"", c.EmailClaim)
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	scopes := []string{oidc.ScopeOpenID}
	for _, s := range c.Scopes {
		if s != "" && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	var hash []byte
	if !c.Public {
		if secret, hash, err = newClientSecret(); err != nil {
			return "", "", err
		}
	}
	detail = fmt.Sprintf("public=%t pkce_optional=%t require_face=%t email_claim=%q scopes=%v", c.Public, c.PKCEOptional, c.RequireFace, c.EmailClaim, scopes)
	l := c.Logout
	if _, err := q.Exec(ctx, `INSERT INTO oidc_client (id, secret_hash, redirect_uris, allowed_scopes, name, post_logout_redirect_uris, require_face,
			pkce_optional, email_claim, backchannel_logout_uri, backchannel_logout_session_required, frontchannel_logout_uri,
			frontchannel_logout_session_required)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, c.ID, hash, c.RedirectURIs, scopes, c.Name, c.PostLogoutRedirectURIs, c.RequireFace,
		c.PKCEOptional, c.EmailClaim, l.BackchannelURI, l.BackchannelSessionRequired, l.FrontchannelURI, l.FrontchannelSessionRequired); err != nil {
		return "", "", database.Translate(err)
	}
	return secret, detail, nil
}

// newClientSecret is a new client secret and the SHA-256 stored of it.
func newClientSecret() (string, []byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(secret))
	return secret, h[:], nil
}

// errClientState: the client is public (no secret to rotate), disabled
// already, or (database.ErrNotFound) not registered.
var errClientState = errors.New("client is public or disabled")

// RotateClientSecret gives the confidential client id a new secret,
// returned (shown once); the old one stops working at once. Audited as
// oidc_client_rotate (the CLI, as the owner); the console rotates through
// rotateClientSecretIn with its staff audit row.
func RotateClientSecret(ctx context.Context, pool *pgxpool.Pool, id string) (secret string, err error) {
	err = database.Transact(ctx, pool, func(tx pgx.Tx) error {
		if secret, err = rotateClientSecretIn(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome, subject, detail) VALUES (now(), 'oidc_client_rotate', 'ok', $1, '')`, id)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("RotateClientSecret(%q): %w", id, err)
	}
	return secret, nil
}

// rotateClientSecretIn replaces the secret of the confidential, enabled
// client id with q: database.ErrNotFound if there is no such client,
// errClientState if it is public or disabled.
func rotateClientSecretIn(ctx context.Context, q querier, id string) (string, error) {
	if err := clientState(ctx, q, id); err != nil {
		return "", err
	}
	secret, hash, err := newClientSecret()
	if err != nil {
		return "", err
	}
	tag, err := q.Exec(ctx, `UPDATE oidc_client SET secret_hash = $2 WHERE id = $1 AND secret_hash IS NOT NULL AND disabled_at IS NULL`, id, hash)
	if err != nil {
		return "", err
	}
	if tag.RowsAffected() != 1 {
		return "", errClientState
	}
	return secret, nil
}

// clientState locks the client id's row: database.ErrNotFound if there is
// none.
func clientState(ctx context.Context, q querier, id string) error {
	var one int
	return database.Translate(q.QueryRow(ctx, `SELECT 1 FROM oidc_client WHERE id = $1 FOR UPDATE`, id).Scan(&one))
}

// DisableClient disables the client id: its authorization and token
// requests are refused as from an unknown client from then on, and the
// tokens issued to it are revoked (userinfo and introspection answer them
// inactive). Audited as oidc_client_disable (the CLI, as the owner); the
// console disables through disableClientIn with its staff audit row.
func DisableClient(ctx context.Context, pool *pgxpool.Pool, id string, now time.Time) error {
	err := database.Transact(ctx, pool, func(tx pgx.Tx) error {
		if err := disableClientIn(ctx, tx, id, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome, subject, detail) VALUES (now(), 'oidc_client_disable', 'ok', $1, '')`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("DisableClient(%q): %w", id, err)
	}
	return nil
}

// disableClientIn disables the client id and revokes its live tokens with
// q: database.ErrNotFound if there is no such client, errClientState if
// it is disabled already.
func disableClientIn(ctx context.Context, q querier, id string, now time.Time) error {
	if err := clientState(ctx, q, id); err != nil {
		return err
	}
	tag, err := q.Exec(ctx, `UPDATE oidc_client SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL`, id, now)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return errClientState
	}
	_, err = q.Exec(ctx, `UPDATE oidc_token SET `+revokeSet(2)+` WHERE client_id = $1 AND revoked_at IS NULL`, id, now)
	return err
}

// ListClients returns the registered clients by id (no secrets: only
// whether there is one), for operators.
func ListClients(ctx context.Context, pool *pgxpool.Pool) ([]Client, error) {
	rows, err := pool.Query(ctx, `SELECT id, name, secret_hash IS NULL, redirect_uris, post_logout_redirect_uris, allowed_scopes,
		require_face, pkce_optional, email_claim, backchannel_logout_uri, backchannel_logout_session_required,
		frontchannel_logout_uri, frontchannel_logout_session_required, disabled_at FROM oidc_client ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Client, error) {
		var c Client
		err := row.Scan(&c.ID, &c.Name, &c.Public, &c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.Scopes, &c.RequireFace, &c.PKCEOptional, &c.EmailClaim,
			&c.Logout.BackchannelURI, &c.Logout.BackchannelSessionRequired, &c.Logout.FrontchannelURI, &c.Logout.FrontchannelSessionRequired,
			&c.DisabledAt)
		return c, err
	})
}

// validRedirect: an absolute https URL (http only on a loopback address)
// without fragment.
func validRedirect(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Host != "" && p.Fragment == "" && (p.Scheme == "https" || (p.Scheme == "http" && isLoopback(p.Hostname())))
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// oidcClient is a registered client as the op library sees it.
type oidcClient struct {
	id            string
	name          string
	requireFace   bool
	secretHash    []byte
	redirectURIs  []string
	logoutURIs    []string
	allowedScopes []string
	idTokenTTL    time.Duration
	pkceOptional  bool
	emailClaim    string
}

func (s *Server) clientByID(ctx context.Context, id string) (*oidcClient, error) {
	c := &oidcClient{id: id, idTokenTTL: s.cfg.OIDCIDTokenTTL}
	err := s.pool.QueryRow(ctx, `SELECT secret_hash, redirect_uris, allowed_scopes, post_logout_redirect_uris, name, require_face,
			pkce_optional, email_claim
		FROM oidc_client WHERE id = $1 AND disabled_at IS NULL`, id).Scan(&c.secretHash, &c.redirectURIs, &c.allowedScopes, &c.logoutURIs, &c.name, &c.requireFace,
		&c.pkceOptional, &c.emailClaim)
	if err != nil {
		return nil, database.Translate(err)
	}
	return c, nil
}

func (c *oidcClient) public() bool { return c.secretHash == nil }

// checkSecret compares in constant time.
func (c *oidcClient) checkSecret(secret string) bool {
	if c.public() {
		return false
	}
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(h[:], c.secretHash) == 1
}

func (c *oidcClient) allows(scope string) bool {
	return scope == oidc.ScopeOpenID || slices.Contains(c.allowedScopes, scope)
}

func (c *oidcClient) GetID() string                    { return c.id }
func (c *oidcClient) RedirectURIs() []string           { return c.redirectURIs }
func (c *oidcClient) PostLogoutRedirectURIs() []string { return c.logoutURIs }
func (c *oidcClient) ApplicationType() op.ApplicationType {
	if c.public() {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c *oidcClient) AuthMethod() oidc.AuthMethod {
	if c.public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *oidcClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *oidcClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

// LoginURL is where the provider sends the browser to authenticate: our
// own handler, which binds the request to the browser first.
func (c *oidcClient) LoginURL(id string) string { return "/oidc/login?id=" + url.QueryEscape(id) }

// AccessTokenType: opaque tokens (the provider encrypts their id), so that
// every use goes through the database and sees revocations and disabled
// accounts.
func (c *oidcClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *oidcClient) IDTokenLifetime() time.Duration      { return c.idTokenTTL }
func (c *oidcClient) DevMode() bool                       { return false }

// idTokenScopes are the scopes whose claims the ID token carries too:
// the standard profile claims generic clients read from it (name, the
// email stand-in), and the enterprise's public identifiers (the legal
// account's own, or the one an agent acts for). The ID number and phone go out through userinfo only,
// where each release is checked against the consent and audited.
var idTokenScopes = []string{oidc.ScopeProfile, oidc.ScopeEmail, ScopeEnterprise, ScopeAgent}

// RestrictAdditionalIdTokenScopes keeps every other scope out of the ID
// token's claims (see idTokenScopes), and adds scopeSessionID, which has
// the library ask SetUserinfoFromRequest for the sid.
func (c *oidcClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string {
		kept := slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return !slices.Contains(idTokenScopes, s) })
		return append(kept, scopeSessionID)
	}
}

func (c *oidcClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed lets every scope through the library's filter:
// CreateAuthRequest keeps the ones the client is registered for and
// ignores the rest (RFC 6749 §3.3), recording what it dropped.
func (c *oidcClient) IsScopeAllowed(string) bool { return true }

// IDTokenUserinfoClaimsAssertion is true: the ID token carries the claims
// of the scopes RestrictAdditionalIdTokenScopes keeps (profile, email),
// also beside an access token; generic clients read them from there.
func (c *oidcClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *oidcClient) ClockSkew() time.Duration             { return 0 }
