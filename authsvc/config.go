package authsvc

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/idfusion/idfusion/internal/pii"
)

// Config is how the service runs. Zero fields take the defaults stated.
type Config struct {
	// Keyring opens and indexes ID numbers and phones, as the fusion
	// pipeline sealed them. Required.
	Keyring *pii.Keyring

	// BaseURL is the service's public address (scheme and host), put in
	// the face challenges' QR codes. Required.
	BaseURL string

	// Dev turns on the development providers: the SMS outbox (messages are
	// stored and listed at /dev/sms instead of sent) and the face
	// simulator at /dev/face. Never in production. Default false.
	Dev bool

	// Face is the face provider: where a challenge's QR code leads, and
	// who signs the callbacks. Default: a FaceSimulator with a fresh key
	// when Dev; required otherwise (a FaceApp), and a FaceSimulator is
	// refused without Dev.
	Face FaceProvider
	// Licence is the electronic business licence app (电子营业执照): where
	// a licence login's QR code leads, and who signs its callbacks
	// (POST /api/v1/licence/callback). Default: a LicenceSimulator with a
	// fresh key when Dev; optional otherwise (a LicenceApp): without it
	// the 法人登录 tab has no 电子营业执照 sub-tab and its routes do not
	// exist. A LicenceSimulator is refused without Dev.
	Licence LicenceProvider

	// ConsoleApart serves the staff console (/admin, /api/v1/admin) only
	// by ConsoleHandler, for its own listener (cmd/authsvc --admin-addr),
	// so a deployment keeps it off the public network. Default false: the
	// console is on the service's handler too.
	ConsoleApart bool

	// FeedbackDir is the folder the console's 运维 views read the
	// departments' feedback workbooks from: a run's in run-<id>/ (the
	// scheduler's archive layout), offered for download by the names the
	// run's departments give them. Default "": the views say it is not
	// configured.
	FeedbackDir string

	// CA is the CA certificate login (CA 认证登录, NewCertLogin): its
	// roots, CRLs, subject attribute and certificate listener. Default nil:
	// no CA login, the 法人登录 tab does not offer it and CertHandler is
	// nil. Optional in production too.
	CA *CertLogin

	// Upstream are the upstream OpenID providers (国家政务服务平台, 椰城市民云,
	// 电子社保卡) the login page offers, each validated
	// (UpstreamProvider.Validate: http URLs only with Dev). Default none.
	Upstream []UpstreamProvider

	// SMS sends the one-time codes. Default: the outbox when Dev;
	// required otherwise (an HTTPSMSGateway).
	SMS SMSSender

	// TrustedProxies are the reverse proxies in front of the service. For
	// a request from one of them, the client address (rate limits, audit)
	// is the rightmost address of X-Forwarded-For not in these prefixes,
	// and X-Forwarded-Proto: https counts as TLS (HSTS). Requests from
	// anyone else are taken as they come: their headers are ignored. List
	// the proxies only, not a network clients live in: a client inside
	// these prefixes could name any address. Default none.
	TrustedProxies []netip.Prefix

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// IdleTimeout ends a session not used for this long. Default 30 min.
	IdleTimeout time.Duration
	// SessionLifetime ends a session this long after it began, used or
	// not. Default 12 h.
	SessionLifetime time.Duration
	// RestrictedLifetime ends a restricted (completion-only) session this
	// long after it began. Default 30 min.
	RestrictedLifetime time.Duration

	// MaxFailures failed checks of a factor in a row lock that factor.
	// The password has a count of its own: wrong passwords lock password
	// logins only, first for LockFor, and each further lock in a row (no
	// successful password login between) twice as long as the one before,
	// at most PasswordLockMax. SMS codes and faces share the other count:
	// its locks, always LockFor, stop SMS-code and face logins and the
	// completion steps, not the password. Defaults 5 and 15 min.
	MaxFailures int
	LockFor     time.Duration
	// PasswordLockMax caps the password's escalating lock (LockFor or
	// less: every password lock lasts PasswordLockMax, no escalation).
	// Default 24 h: locks of 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 16 h, then
	// 24 h each, so that with the defaults at most 35 passwords are
	// compared in the first day of guessing and 5 a day after, however the
	// guesses are sent.
	PasswordLockMax time.Duration

	// CodeTTL is how long an SMS code is valid; CodeTries how many wrong
	// entries it survives; CodeInterval the time between two codes to one
	// phone; CodesPerDay the codes a phone may get in a day; CodesPerIPHour
	// the codes one client address may ask for in an hour. Defaults 5 min,
	// 5, 60 s, 10, 30.
	CodeTTL        time.Duration
	CodeTries      int
	CodeInterval   time.Duration
	CodesPerDay    int
	CodesPerIPHour int

	// CaptchaTTL is how long an image captcha (图形验证码, captcha.go) can
	// be answered. Default 5 min.
	CaptchaTTL time.Duration
	// CaptchaText makes a captcha's answer, a string of digits. Default: 6
	// digits from crypto/rand. A test seam: tests set it to know the
	// answers they must type; production leaves it nil.
	CaptchaText func() string

	// FaceTTL is how long a face challenge can be answered; FaceMaxAge how
	// old a provider's signed result may be. Defaults 3 min and 2 min.
	FaceTTL    time.Duration
	FaceMaxAge time.Duration

	// Argon2 are the password hash parameters. Default DefaultArgon2.
	Argon2 Argon2Params
	// HashConcurrency bounds the password hashes computed at once (each
	// takes Argon2.Memory). Default: the number of CPUs.
	HashConcurrency int
	// HashLatency is the hash queue's target: requests that will hash a
	// password are admitted while the queue is served within it, the rest
	// refused at once with 503 and Retry-After. Default
	// DefaultHashLatency.
	HashLatency time.Duration
	// TryWait is how long a password login waits for a place while the
	// account's tries in flight fill what the lock allows (a citizen's
	// double click), before it is refused with 503. Default 3 s.
	TryWait time.Duration

	// RequestsPerMinute is what one client address may send to the
	// credential endpoints. Default 60.
	RequestsPerMinute int

	// OIDCCodeTTL is how long an authorization code can be exchanged;
	// OIDCAuthRequestTTL how long a business system's authorization
	// request waits for the citizen (login and completion included), at
	// most 24 h (Purge counts on it). Defaults 1 min and 1 h.
	OIDCCodeTTL        time.Duration
	OIDCAuthRequestTTL time.Duration
	// OIDCAccessTokenTTL, OIDCIDTokenTTL and OIDCRefreshTokenTTL are the
	// lifetimes of the tokens the provider issues. Defaults 15 min, 1 h,
	// 12 h.
	OIDCAccessTokenTTL  time.Duration
	OIDCIDTokenTTL      time.Duration
	OIDCRefreshTokenTTL time.Duration
	// OIDCRefreshGrace is how long a refresh token just rotated still gets
	// what its rotation got (the same successor refresh token, with a new
	// access token) instead of ending its grant as a reuse: a business
	// system refreshing one session from several requests at once. At
	// most 1 min; negative: no grace. Default 10 s.
	OIDCRefreshGrace time.Duration
	// OIDCKeyLifetime is how long a signing key signs before a new one
	// takes over (it verifies a while longer). Default 30 days.
	OIDCKeyLifetime time.Duration

	// HTTPClient delivers the face simulator's callbacks (Dev). Default: a
	// client with a 10 s timeout.
	HTTPClient *http.Client

	// Enterprise is the national enterprise interface that verifies
	// legal persons (nil: none; every legal account stays unverified and
	// the scheduled check keeps asking).
	Enterprise EnterpriseVerifier
	// RealnameBackoff is the wait before the first scheduled re-check of
	// an unverified legal account; it doubles with each check without a
	// verdict, up to RealnameMaxBackoff. RealnameBatch caps the accounts
	// one run of the job checks.
	RealnameBackoff    time.Duration
	RealnameMaxBackoff time.Duration
	RealnameBatch      int

	// Logger receives the service's logs. Default: discards.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with the defaults filled in.
func (c Config) WithDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	def(&c.IdleTimeout, 30*time.Minute)
	def(&c.HashLatency, DefaultHashLatency)
	def(&c.TryWait, 3*time.Second)
	def(&c.SessionLifetime, 12*time.Hour)
	def(&c.RestrictedLifetime, 30*time.Minute)
	defInt(&c.MaxFailures, 5)
	def(&c.LockFor, 15*time.Minute)
	def(&c.PasswordLockMax, 24*time.Hour)
	def(&c.CodeTTL, 5*time.Minute)
	defInt(&c.CodeTries, 5)
	def(&c.CodeInterval, 60*time.Second)
	defInt(&c.CodesPerDay, 10)
	defInt(&c.CodesPerIPHour, 30)
	def(&c.CaptchaTTL, 5*time.Minute)
	if c.CaptchaText == nil {
		c.CaptchaText = randomCaptchaText
	}
	def(&c.FaceTTL, 3*time.Minute)
	def(&c.FaceMaxAge, 2*time.Minute)
	if c.Argon2 == (Argon2Params{}) {
		c.Argon2 = DefaultArgon2
	}
	defInt(&c.RequestsPerMinute, 60)
	def(&c.OIDCCodeTTL, time.Minute)
	def(&c.OIDCAuthRequestTTL, time.Hour)
	def(&c.OIDCAccessTokenTTL, 15*time.Minute)
	def(&c.OIDCIDTokenTTL, time.Hour)
	def(&c.OIDCRefreshTokenTTL, 12*time.Hour)
	def(&c.OIDCRefreshGrace, 10*time.Second)
	def(&c.OIDCKeyLifetime, 30*24*time.Hour)
	def(&c.RealnameBackoff, 10*time.Minute)
	def(&c.RealnameMaxBackoff, 24*time.Hour)
	defInt(&c.RealnameBatch, 100)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.LockFor <= 0 || c.PasswordLockMax < 0:
		return errors.New("authsvc: Config.LockFor must be positive and Config.PasswordLockMax not negative")
	case c.Keyring == nil:
		return errors.New("authsvc: Config.Keyring is required")
	case c.Face == nil:
		return errors.New("authsvc: Config.Face is required outside Config.Dev (a FaceApp)")
	case !c.Dev && isSimulator(c.Face):
		return errors.New("authsvc: the face simulator is only for Config.Dev")
	case !c.Dev && isLicenceSimulator(c.Licence):
		return errors.New("authsvc: the licence simulator is only for Config.Dev")
	case !c.Dev && c.SMS == nil:
		return errors.New("authsvc: Config.SMS is required outside Config.Dev")
	}
	for _, p := range c.Upstream {
		if err := p.Validate(c.Dev); err != nil {
			return fmt.Errorf("authsvc: %w", err)
		}
	}
	if c.OIDCAuthRequestTTL > 24*time.Hour {
		// Purge counts on it.
		return errors.New("authsvc: Config.OIDCAuthRequestTTL must be at most 24h")
	}
	if c.OIDCRefreshGrace > time.Minute {
		return errors.New("authsvc: Config.OIDCRefreshGrace must be at most 1m")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("authsvc: Config.BaseURL must be an absolute http(s) URL")
	}
	return nil
}

// isSimulator tells the face simulator from the real providers.
func isSimulator(f FaceProvider) bool {
	_, ok := f.(*FaceSimulator)
	return ok
}

// isLicenceSimulator tells the licence simulator from the real app.
func isLicenceSimulator(f LicenceProvider) bool {
	_, ok := f.(*LicenceSimulator)
	return ok
}
