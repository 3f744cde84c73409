package authsvc

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/schemas"
)

// Server is the login service.
type Server struct {
	pool    *pgxpool.Pool
	cfg     Config
	hasher  *PasswordHasher
	lockout account.Lockout
	limiter *ipLimiter
	pages   *pages
	mux     *http.ServeMux
	// console serves the staff console (consoleRoutes); also on mux
	// unless Config.ConsoleApart.
	console *http.ServeMux
	oidc    http.Handler
	op      *op.Provider // the OpenID provider behind oidc (its error redirects)
	// logoutKick wakes RunLogoutDelivery when a logout token is queued;
	// logoutPoll is how often it looks for due retries anyway.
	logoutKick chan struct{}
	logoutPoll time.Duration
	// outage logs the requests refused for a database outage.
	outage *outageLog
	// upstream are the upstream OpenID providers' relying parties, by id
	// (upstream.go).
	upstream map[string]*upstreamRP
}

// New returns the service on pool (migrated) with cfg.
func New(pool *pgxpool.Pool, cfg Config) (*Server, error) {
	cfg = cfg.WithDefaults()
	if cfg.Dev && cfg.SMS == nil {
		cfg.SMS = Outbox{q: pool, now: cfg.Now}
	}
	if cfg.Dev && cfg.Face == nil {
		// In-process: the simulator signs what this process verifies, so
		// a fresh key does.
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			return nil, err
		}
		if cfg.Face, err = NewFaceSimulator(cfg.BaseURL, key); err != nil {
			return nil, err
		}
	}
	if cfg.Dev && cfg.Licence == nil {
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			return nil, err
		}
		if cfg.Licence, err = NewLicenceSimulator(cfg.BaseURL, key); err != nil {
			return nil, err
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		pool: pool, cfg: cfg, pages: pg,
		hasher:  NewPasswordHasher(cfg.Argon2, cfg.HashConcurrency).withLatency(cfg.HashLatency),
		limiter: newIPLimiter(cfg.RequestsPerMinute, cfg.Now),
		lockout: account.NewLockout(cfg.MaxFailures, cfg.LockFor, cfg.PasswordLockMax),

		logoutKick: make(chan struct{}, 1),
		logoutPoll: logoutPoll,
		outage:     newOutageLog(cfg.Logger, cfg.Now, outageLogEvery),
	}
	if s.upstream, err = s.newUpstreams(); err != nil {
		return nil, err
	}
	if s.oidc, err = s.newProvider(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Handler is the service's HTTP handler: the client's address and scheme
// (through Config.TrustedProxies), security headers, cross-origin
// protection on every state-changing request, the limit on request bodies
// (limitBody), then the routes.
func (s *Server) Handler() http.Handler { return s.protect(s.mux) }

// ConsoleHandler is the staff console's handler (and the health checks),
// with the protections of Handler: for its own listener when
// Config.ConsoleApart.
func (s *Server) ConsoleHandler() http.Handler { return s.protect(s.console) }

func (s *Server) protect(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.cfg.Logger.Warn("cross_origin_refused", slog.String("path", r.URL.Path))
		s.fail(w, r, errCrossOrigin)
	}))
	// Authenticated by client credentials or bearer tokens, never by
	// cookies: nothing to forge across origins.
	for _, p := range []string{"/oauth/token", "/oauth/introspect", "/revoke", "/userinfo"} {
		cop.AddInsecureBypassPattern(oidcPrefix + p)
	}
	return s.recoverer(s.peer(securityHeaders(cop.Handler(s.limitBody(h)))))
}

func (s *Server) routes() {
	m := http.NewServeMux()
	for _, unit := range s.units() {
		for _, rt := range unit() {
			m.HandleFunc(rt.pattern, rt.handler)
		}
	}
	m.Handle(oidcPrefix+"/", s.oidc) // the protocol itself (zitadel/oidc's op)
	c := http.NewServeMux()
	for _, rt := range s.healthRoutes() {
		c.HandleFunc(rt.pattern, rt.handler)
	}
	for _, rt := range s.consoleRoutes() {
		c.HandleFunc(rt.pattern, rt.handler)
		if !s.cfg.ConsoleApart {
			m.HandleFunc(rt.pattern, rt.handler)
		}
	}
	s.mux, s.console = m, c
}

// healthRoutes: the process answers (healthz); the database does too
// (readyz).
func (s *Server) healthRoutes() []route {
	return []route{
		{"GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}},
		{"GET /readyz", func(w http.ResponseWriter, r *http.Request) {
			if s.hasher.stopping() {
				// Load balancers stop sending while the stop's drain runs.
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "stopping"})
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := s.pool.Ping(ctx); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
		}},
	}
}

// sessionHandler is a handler that needs a session.
type sessionHandler func(w http.ResponseWriter, r *http.Request, sess *session)

// restricted runs h for a session that is completing its account (a
// restricted one). A full session has nothing to complete; no session
// goes to the login.
func (s *Server) restricted(h sessionHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r.Context(), r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if sess.kind != kindRestricted {
			if sess.kind == kindFull {
				s.fail(w, r, &StepError{Next: ""})
				return
			}
			s.fail(w, r, errNoSession)
			return
		}
		h(w, r, sess)
	}
}

// full runs h for a signed-in citizen. A restricted session is refused
// with the step it must do next: it cannot reach anything else, whatever
// the URL. A session whose account the operators locked or disabled, or
// a restricted one with nothing left to complete (another browser did it),
// is ended: log in again.
func (s *Server) full(h sessionHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r.Context(), r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if sess.kind != kindFull && sess.kind != kindRestricted {
			s.fail(w, r, errNoSession)
			return
		}
		a, err := account.ByID(r.Context(), s.pool, sess.accountID, false)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// Not the lock of failed checks (locked_until): failing five times
		// would then log the citizen out.
		disabled := a.Status == schemas.StatusLocked || a.Status == schemas.StatusDisabled
		var next schemas.Step
		if sess.kind == kindRestricted {
			f, err := s.flowOf(r.Context(), s.pool, sess)
			if err != nil && !errors.Is(err, errNoSession) {
				s.fail(w, r, err)
				return
			}
			next = nextStep(a, f)
		}
		if disabled || (sess.kind == kindRestricted && next == "") {
			if err := s.revoke(r.Context(), s.pool, sess); err != nil {
				s.fail(w, r, err)
				return
			}
			// The business systems of the session hear of its end.
			if _, err := s.endProviderSession(r.Context(), sess.hash); err != nil {
				s.fail(w, r, err)
				return
			}
			s.fail(w, r, errNoSession)
			return
		}
		if sess.kind == kindRestricted {
			s.fail(w, r, errRestricted{next: next})
			return
		}
		// A natural person's pages show the identity in their header
		// (当前身份, 切换).
		if !a.IsLegal() {
			r = s.withIdentity(r, sess)
		}
		h(w, r, sess)
	}
}

// hashing admits a request that will hash a password through the hash
// queue (PasswordHasher.Admit), before it does any other work: when the
// queue is full it is refused at once, 503 with Retry-After.
func (s *Server) hashing(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		done, err := s.hasher.Admit()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		defer done()
		h(w, r)
	}
}

// Drain is the start of a shutdown: new requests that would hash a
// password are refused with 503 (the service is stopping), and so is
// /readyz. The requests already waiting for a hash, or for a place for a
// password try, are served if they can be before by, and refused with 503
// at by if not; the hashes running finish. The HTTP server's Shutdown
// then waits for the requests in flight.
func (s *Server) Drain(by time.Time) { s.hasher.Drain(by) }

// limited applies the per-address rate limit of the credential endpoints.
func (s *Server) limited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.limiter.allow(clientNet(r)) {
			s.fail(w, r, errRateLimited)
			return
		}
		h(w, r)
	}
}

func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.cfg.Logger.Error("panic", slog.Any("value", v), slog.String("path", r.URL.Path))
				http.Error(w, "服务暂时不可用，请稍后再试", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// securityHeaders: nothing personal is cached, pages are not framed (click
// jacking), scripts come from this origin only. HSTS only on an answer the
// client got over TLS: over plain HTTP a browser ignores it, and a
// development service on http://127.0.0.1 must not pin the host to HTTPS.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
		if overTLS(r) {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// peer resolves the client's address and scheme once per request (see
// resolveClient) for clientIP and overTLS.
func (s *Server) peer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := resolveClient(r, s.cfg.TrustedProxies)
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, c)))
	})
}

// clientKey keys the request's client in its context.
type clientKey struct{}

// client is who sent a request and how.
type client struct {
	ip  string // the address, as clientIP gives it
	tls bool   // over TLS to us, or to a trusted proxy
}

// resolveClient is the client of r. A peer in trusted is a reverse proxy:
// the client is the rightmost address of X-Forwarded-For outside trusted
// (each trusted hop appended the address it got the request from; what is
// left of the first untrusted one, the client could have written), and
// the scheme is the proxy's X-Forwarded-Proto (its last value, the one the
// nearest proxy set). Any other peer is the client, whatever its headers
// say: else a client would pick its own rate-limit bucket and audit trail.
func resolveClient(r *http.Request, trusted []netip.Prefix) client {
	c := client{ip: peerIP(r), tls: r.TLS != nil}
	if !inPrefixes(c.ip, trusted) {
		return c
	}
	if p := lastValue(r.Header.Values("X-Forwarded-Proto")); p != "" {
		c.tls = c.tls || strings.EqualFold(p, "https")
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			// Not an address: a trusted proxy would not write that, so the
			// last hop seen is as far as the chain can be believed.
			break
		}
		c.ip = a.String()
		if !inPrefixes(c.ip, trusted) {
			break
		}
	}
	return c
}

// lastValue is the last comma-separated value of a header's lines.
func lastValue(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	v := lines[len(lines)-1]
	return strings.TrimSpace(v[strings.LastIndexByte(v, ',')+1:])
}

// parseHop parses one X-Forwarded-For entry: an address, with or without
// a port (IPv6 then in brackets).
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func inPrefixes(ip string, prefixes []netip.Prefix) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerIP is the address of the connection's other end.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientIP is the client's address: the peer's, or behind a trusted proxy
// the one it forwarded (resolveClient).
func clientIP(r *http.Request) string {
	if c, ok := r.Context().Value(clientKey{}).(client); ok {
		return c.ip
	}
	return peerIP(r)
}

// overTLS reports whether the client reached us (or a trusted proxy) over
// TLS.
func overTLS(r *http.Request) bool {
	if c, ok := r.Context().Value(clientKey{}).(client); ok {
		return c.tls
	}
	return r.TLS != nil
}

// clientNet is what the per-address limits count: the client's IPv4
// address, or its IPv6 /64. An IPv6 client holds at least a /64 (one
// address per interface, chosen at will), so counting its addresses one by
// one would give it 2⁶⁴ allowances.
func clientNet(r *http.Request) string {
	ip := clientIP(r)
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// wantsJSON tells the API twins from the pages.
func wantsJSON(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	return nil
}

func errAttr(err error) slog.Attr { return slog.String("error", err.Error()) }

// ipLimiter is a token bucket per client address, refilled at perMinute.
type ipLimiter struct {
	mu        sync.Mutex
	perMinute float64
	now       func() time.Time
	buckets   map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newIPLimiter(perMinute int, now func() time.Time) *ipLimiter {
	return &ipLimiter{perMinute: float64(perMinute), now: now, buckets: map[string]*bucket{}}
}

func (l *ipLimiter) allow(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.buckets) > 100_000 { // forget idle addresses rather than grow
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
	}
	b := l.buckets[ip]
	if b == nil {
		b = &bucket{tokens: l.perMinute, last: now}
		l.buckets[ip] = b
	}
	b.tokens = min(l.perMinute, b.tokens+now.Sub(b.last).Minutes()*l.perMinute)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// errRestricted refuses a restricted session outside the completion.
type errRestricted struct{ next schemas.Step }

func (e errRestricted) Error() string { return "complete the account first: " + string(e.next) }

var (
	errBadRequest  = errors.New("bad request")
	errRateLimited = errors.New("rate limited")
	errCrossOrigin = errors.New("cross-origin request")
	errLoginFailed = errors.New("login failed")
	// errLegalLoginFailed is errLoginFailed on the 法人登录 (its message
	// names the credit code): one answer for every legal login refused.
	errLegalLoginFailed = errors.New("legal login failed")
	// errAccountLocked refuses a completion step while the account is
	// locked by failed checks (the session itself proved a factor already).
	errAccountLocked = errors.New("account locked by failed checks")
)
