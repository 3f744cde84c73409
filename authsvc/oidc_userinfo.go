package authsvc

import (
	"errors"
	"net/http"
	"strings"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/idfusion/idfusion/internal/database"
)

// The userinfo endpoint answers as a resource server of RFC 6750 (OpenID
// Connect Core §5.3.3), which the library's does not (403 for a revoked
// or expired token, no WWW-Authenticate):
//
//	no access token, or another scheme          401 WWW-Authenticate: Bearer
//	a token that is not one of ours, expired,   401 WWW-Authenticate: Bearer error="invalid_token"
//	revoked, of an account no longer active,
//	or whose consent was withdrawn
//	the token in the header and the body,       400 WWW-Authenticate: Bearer error="invalid_request"
//	or in the URL
//
// It runs inside the library's router (an interceptor), behind its CORS
// handling.

// userinfoInterceptor serves the userinfo endpoint, and hands every other
// request of the provider on.
func (s *Server) userinfoInterceptor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != s.op.UserinfoEndpoint().Relative() {
			next.ServeHTTP(w, r)
			return
		}
		s.userinfoEndpoint(w, r)
	})
}

// bearerChallenge is a refusal of RFC 6750 §3: status and error code
// ("" for a request without any authentication, which gets no error).
type bearerChallenge struct {
	status            int
	code, description string
}

func (c *bearerChallenge) write(w http.ResponseWriter) {
	if c.code == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(c.status)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="`+c.code+`", error_description="`+c.description+`"`)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, c.status, map[string]string{"error": c.code, "error_description": c.description})
}

var (
	errNoBearer        = &bearerChallenge{status: http.StatusUnauthorized}
	errBearerTwice     = &bearerChallenge{http.StatusBadRequest, "invalid_request", "the access token must be sent one way only"}
	errBearerInURL     = &bearerChallenge{http.StatusBadRequest, "invalid_request", "the access token must not be sent in the URL; use the Authorization header"}
	errBearerBad       = &bearerChallenge{http.StatusUnauthorized, "invalid_token", "the access token is malformed or not issued here"}
	errBearerEnded     = &bearerChallenge{http.StatusUnauthorized, "invalid_token", "the access token expired or was revoked, or its account is not active"}
	errBearerNoConsent = &bearerChallenge{http.StatusUnauthorized, "invalid_token", "the citizen withdrew the consent the access token was issued with"}
)

// bearerToken is the access token of a request (RFC 6750 §2): in the
// Authorization header, or as access_token in a form body. Not in the
// query (§2.3: URLs end up in logs and histories).
func bearerToken(r *http.Request) (string, *bearerChallenge) {
	if r.URL.Query().Has("access_token") {
		return "", errBearerInURL
	}
	var inBody string
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return "", &bearerChallenge{http.StatusBadRequest, "invalid_request", "the form body cannot be read"}
		}
		inBody = r.PostForm.Get("access_token")
	}
	header := r.Header.Get("Authorization")
	switch {
	case header != "" && inBody != "":
		return "", errBearerTwice
	case header == "" && inBody == "":
		return "", errNoBearer
	case header == "":
		return inBody, nil
	}
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// Another authentication scheme: no bearer token.
		return "", errNoBearer
	}
	// An empty one is malformed: it does not decrypt.
	return strings.TrimSpace(token), nil
}

// userinfoEndpoint serves the claims of a live access token.
func (s *Server) userinfoEndpoint(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token, refused := bearerToken(r)
	if refused != nil {
		refused.write(w)
		return
	}
	// An access token is the provider's encryption of "token id:subject"
	// (op.CreateBearerToken).
	plain, err := s.op.Crypto().Decrypt(token)
	id, subject, ok := strings.Cut(plain, ":")
	if err != nil || !ok || id == "" || subject == "" {
		errBearerBad.write(w)
		return
	}
	ctx := r.Context()
	_, g, err := oidcStorage{s}.liveToken(ctx, `t.id = $1 AND t.kind = 'access' AND t.subject = $2`, id, subject)
	if errors.Is(err, database.ErrNotFound) {
		errBearerEnded.write(w)
		return
	}
	info := new(oidc.UserInfo)
	if err == nil {
		err = s.userinfo(ctx, info, g, subject, g.scopes)
	}
	switch {
	case errors.Is(err, errConsentMissing):
		errBearerNoConsent.write(w)
	case err != nil:
		s.cfg.Logger.Error("oidc_userinfo", errAttr(err))
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
	default:
		httphelper.MarshalJSON(w, info)
	}
}
