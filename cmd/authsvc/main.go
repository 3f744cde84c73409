// Command authsvc is the login service of the unified identity
// authentication: citizens log in (password, SMS code, face) and complete
// their fused accounts before any other use.
//
// Usage:
//
//	authsvc [--addr 127.0.0.1:8080] [--base-url URL] [--data-dir data] [--dev] [--db-role ROLE]
//	        [--tls-cert FILE --tls-key FILE] [--trust-proxy CIDR,...]
//	        [--sms-url URL --sms-key-id ID --sms-secret-file FILE]
//	        [--face-url URL-WITH-{challenge} --face-public-key BASE64]
//	        [--licence-url URL-WITH-{challenge} --licence-public-key BASE64]
//	        [--ca-addr ADDR --ca-roots PEM --ca-crl FILE [--ca-crl FILE]... [--ca-subject serialNumber:credit-code]
//	         [--ca-base-url URL] [--ca-tls-cert FILE --ca-tls-key FILE]]
//	        [--upstream-config FILE] [--admin-addr ADDR]
//	authsvc dev-ca --out DIR (--credit-code CODE | --id-number ID) [--name NAME] [--revoke]
//	authsvc audit verify [--data-dir data]
//	authsvc admin set-phone (--credit-code CODE | --id-number ID) --phone PHONE --evidence REF --operator NAME [--data-dir data]
//	        [--sms-url URL --sms-key-id ID --sms-secret-file FILE]
//	authsvc staff add --username U --name NAME --role ROLE [--role ROLE]... [--data-dir data]
//	authsvc staff disable --username U [--data-dir data]
//	authsvc staff roles --username U --role ROLE [--role ROLE]... [--data-dir data]
//	authsvc staff reset --username U [--data-dir data]
//	authsvc client add --id ID --redirect-uri URI [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--public] [--require-face] [--scope S]... [--name NAME]
//	        [--backchannel-logout-uri URI [--backchannel-logout-session-required]]
//	        [--frontchannel-logout-uri URI [--frontchannel-logout-session-required]] [--data-dir data]
//
// client add registers a business system with the OpenID provider (issuer
// BASE-URL/oidc) and prints its secret once (none for --public: PKCE S256
// then). Scopes: profile, phone, offline_access, idcard (the full ID
// number; audited on every release), enterprise (a legal account's credit
// code, name and type).
//
// --backchannel-logout-uri is where the provider POSTs a signed logout
// token (OpenID Connect Back-Channel Logout 1.0) when a citizen's session
// with the business system ends; --frontchannel-logout-uri is loaded in an
// iframe of the logged-out page (Front-Channel Logout 1.0). The
// *-session-required flags add the sid (and iss) to what the client gets.
//
// audit verify walks the hash chain of the audit log (auth_audit) and
// prints the number of rows and the last row's hash (exit 0), or the first
// row that breaks it (exit 1). It reads as the connecting user, who needs
// SELECT on auth_audit and auth_audit_head: the owner's DATABASE_URL.
//
// admin set-phone binds a new phone to an account whose phone is no
// longer usable, after the service staff checked the documents the holder
// mailed (法定代表人身份证, 营业执照, 授权书: 2.2.3): the phone is verified,
// every session of the account ends, the change is audited with the
// evidence's reference and the operator, and the old and the new phone get
// a notice (through the SMS gateway when configured, else the development
// outbox). Run it as the owner (DATABASE_URL), with the service's key
// (IDFUSION_KEY_FILE).
//
// staff add creates a staff member of the console (/admin) with its roles
// (kefu 客服, shenhe 审核, yunwei 运维, shenji 审计; at least one) and
// prints its random initial password and its TOTP secret (base32, and the
// otpauth:// URI for an authenticator app) once: only the password's hash
// and the secret sealed with the service's key (IDFUSION_KEY_FILE) are
// stored, and neither is logged. The first administrator is made so.
// staff disable disables one and ends its sessions. Both run as the owner
// (DATABASE_URL) and are audited.
//
// --db-role makes the service act as that role once the migrations are
// applied; in production connect as a user that is a member of
// idfusion_authsvc instead (README, "Database roles").
//
// Environment: DATABASE_URL (else the embedded PostgreSQL under
// --data-dir), PG_BIN_DIR, IDFUSION_KEY_FILE (the key file the fusion
// pipeline sealed with; else the development key under --data-dir),
// AUTHSVC_LOG_LEVEL=debug, and the defaults of the provider and proxy
// flags: AUTHSVC_SMS_URL, AUTHSVC_SMS_KEY_ID, AUTHSVC_SMS_SECRET_FILE,
// AUTHSVC_FACE_URL, AUTHSVC_FACE_PUBLIC_KEY, AUTHSVC_TRUST_PROXY,
// AUTHSVC_UPSTREAM_CONFIG.
// AUTHSVC_SMS_SECRET holds the SMS gateway's shared secret itself, in
// place of a file; no flag takes the secret (argv is public on the
// machine).
//
// --dev turns on the development providers: the SMS outbox (/dev/sms), the
// face simulator (/dev/face/…) and the electronic business licence
// simulator (/dev/licence/…), unless a real provider is configured.
// Never in production. Without --dev the service needs an SMS gateway
// (authsvc.HTTPSMSGateway: its URL, key id and secret), a face provider
// (authsvc.FaceApp: the app's URL for a challenge, holding {challenge},
// and its public key), an https --base-url, and HTTPS: --tls-cert and
// --tls-key (TLS 1.2 or later), or --trust-proxy behind a proxy that
// terminates TLS. The session cookie is __Host- (Secure): over plain HTTP
// no browser sends it back. It refuses to start naming what is missing.
// The electronic business licence app (authsvc.LicenceApp, 电子营业执照:
// --licence-url with {challenge} and --licence-public-key, env
// AUTHSVC_LICENCE_URL and AUTHSVC_LICENCE_PUBLIC_KEY) is optional: without
// it the 法人登录 has no licence scan; it calls back
// BASE-URL/api/v1/licence/callback.
//
// --ca-addr turns on CA 认证登录 (the U-KEY's client certificate): a
// second TLS listener that requests a client certificate and verifies it
// itself against --ca-roots (PEM), for client authentication, in its
// validity, and against the issuer's CRL (--ca-crl, repeatable, DER or
// PEM; a file is read again when it changes, a new one that does not
// parse keeps the last, and an expired CRL refuses every certificate it
// covers). --ca-subject names the subject attribute that holds the key
// (serialNumber, CN or a dotted OID) and whether it is a credit code or an
// ID number. The listener serves --ca-tls-cert/--ca-tls-key, else
// --tls-cert/--tls-key; --ca-base-url is its public URL (same host name as
// --base-url: the session cookie is per host). Environment defaults:
// AUTHSVC_CA_ADDR, AUTHSVC_CA_BASE_URL, AUTHSVC_CA_ROOTS, AUTHSVC_CA_CRL
// (comma-separated), AUTHSVC_CA_SUBJECT, AUTHSVC_CA_TLS_CERT,
// AUTHSVC_CA_TLS_KEY. Without --ca-addr there is no CA login.
//
// dev-ca writes a development CA (ca.pem, ca.key), a client certificate
// for the account (user.pem, user.key), a server certificate for the CA
// listener on 127.0.0.1 (server.pem, server.key) and a CRL (crl.pem;
// --revoke lists the user's certificate), keys 0600, and prints the flags
// to start the service with and the curl command that logs in.
//
// --upstream-config names a YAML file of the upstream OpenID providers
// whose login the login page offers (个人登录: 电子社保卡 | 椰城市民云 |
// 国家政务服务平台); default AUTHSVC_UPSTREAM_CONFIG. Each is a relying
// party registration of this service (its redirect URI is
// BASE-URL/login/upstream/ID/callback):
//
//	providers:
//	  - id: gov                      # URL-safe; /login/upstream/gov
//	    name: 国家政务服务平台
//	    issuer: https://op.example.gov.cn   # discovery, or with:
//	    # auth_url, token_url, jwks_url (all three: no discovery)
//	    client_id: idfusion
//	    client_secret_file: gov.secret      # relative to this file
//	    scopes: [profile, phone]            # besides openid (default)
//	    claims: {id_type: id_type, id_number: id_number, name: name, phone: phone_number}
//	    resident_id_types: [id_card]        # the id_type values of a 居民身份证
//	    level: LV3                          # the real-name level it warrants
//	    face_verified: true                 # its login verified the face (proves ③)
//
// It is checked at start (unknown keys, a missing field, an http URL
// without --dev: the error names the field). A provider that does not
// answer does not stop the service: its metadata is read on first use,
// and its button answers 暂时无法使用 until it does.
//
// --trust-proxy lists the reverse proxies (CIDR prefixes or addresses; the
// proxies only, not the networks clients are in): from them, the client
// address (rate limits, audit) is the rightmost X-Forwarded-For address
// outside the list, and X-Forwarded-Proto: https means the client used TLS
// (HSTS is sent). The proxy must append to
// X-Forwarded-For and set (not append to) X-Forwarded-Proto.
package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/authsvc"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "authsvc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) > 1 && args[0] == "client" && args[1] == "add" {
		return clientAdd(ctx, args[2:])
	}
	if len(args) > 1 && args[0] == "client" && args[1] == "list" {
		return clientList(ctx, os.Stdout, args[2:])
	}
	if len(args) > 1 && args[0] == "client" && (args[1] == "rotate" || args[1] == "disable") {
		return clientChange(ctx, os.Stdout, args[1], args[2:])
	}
	if len(args) > 1 && args[0] == "demo" && args[1] == "citizens" {
		return demoCitizensCmd(ctx, os.Stdout, args[2:])
	}
	if len(args) > 1 && args[0] == "audit" && args[1] == "verify" {
		return auditVerify(ctx, os.Stdout, args[2:])
	}
	if len(args) > 0 && args[0] == "dev-ca" {
		return devCA(os.Stdout, args[1:])
	}
	if len(args) > 1 && args[0] == "admin" && args[1] == "set-phone" {
		return adminSetPhone(ctx, os.Stdout, args[2:])
	}
	if len(args) > 1 && args[0] == "staff" && args[1] == "add" {
		return staffAdd(ctx, os.Stdout, args[2:])
	}
	if len(args) > 1 && args[0] == "staff" && args[1] == "roles" {
		return staffRoles(ctx, os.Stdout, args[2:])
	}
	if len(args) > 1 && args[0] == "staff" && args[1] == "reset" {
		return staffReset(ctx, os.Stdout, args[2:])
	}
	if len(args) > 1 && args[0] == "staff" && args[1] == "disable" {
		return staffDisable(ctx, os.Stdout, args[2:])
	}
	fs := flag.NewFlagSet("authsvc", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	baseURL := fs.String("base-url", "", "the service's public URL, for QR codes and the OpenID issuer (default http://ADDR, https://ADDR with --tls-cert)")
	dataDir := fs.String("data-dir", "data", "the project's data folder (embedded PostgreSQL, development keys)")
	dev := fs.Bool("dev", false, "development providers: SMS outbox at /dev/sms, face simulator at /dev/face, licence simulator at /dev/licence (never in production)")
	var prod prodFlags
	prod.register(fs)
	var ent enterpriseFlags
	ent.register(fs)
	var caf caFlags
	caf.register(fs)
	hashLatency := fs.Duration("hash-latency", authsvc.DefaultHashLatency, "password logins are admitted while the hash queue is served within this; the rest get 503 with Retry-After at once")
	drainDelay := fs.Duration("drain-delay", time.Second, "on SIGTERM, how long to keep answering (503 for what would wait for a password hash) before closing the listener")
	upstreamFile := fs.String("upstream-config", os.Getenv("AUTHSVC_UPSTREAM_CONFIG"), "YAML file of the upstream OpenID providers (国家政务服务平台, 椰城市民云, 电子社保卡) the login page offers")
	adminAddr := fs.String("admin-addr", "", "serve the staff console (/admin) only on this address, with the TLS of --addr, to keep it off the public network (default: on --addr)")
	feedbackDir := fs.String("feedback-dir", "", "folder of the departments' feedback workbooks, a run's in run-<id>/ (the scheduler's archive layout), offered to 运维 in the console (default: none)")
	dbRole := fs.String("db-role", "", "act as this database role after applying migrations (SET ROLE on every connection), e.g. idfusion_authsvc")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := &slog.HandlerOptions{}
	if os.Getenv("AUTHSVC_LOG_LEVEL") == "debug" {
		opts.Level = slog.LevelDebug
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, opts))
	// The OpenID provider library logs to the default logger.
	slog.SetDefault(logger)
	if *baseURL == "" {
		*baseURL = "http://" + *addr
		if prod.tlsCert != "" {
			*baseURL = "https://" + *addr
		}
	}

	cfg := authsvc.Config{BaseURL: strings.TrimRight(*baseURL, "/"), Dev: *dev, Logger: logger, HashLatency: *hashLatency,
		ConsoleApart: *adminAddr != "", FeedbackDir: *feedbackDir}
	tlsConfig, err := prod.configure(&cfg, *dev)
	if err != nil {
		return err
	}
	caTLS, err := caf.configure(&cfg, tlsConfig, logger)
	if err != nil {
		return err
	}
	// Messages go out off the requests' path (authsvc.QueuedSMS): a code
	// request's answer must not wait on the gateway, nor tell by its time
	// whether a message went out.
	var smsQueue *authsvc.QueuedSMS
	if gw, ok := cfg.SMS.(*authsvc.HTTPSMSGateway); ok {
		smsQueue = authsvc.NewQueuedSMS(gw, smsWorkers, smsQueueDepth, 10*time.Second, logger)
		cfg.SMS = smsQueue
	}
	if *upstreamFile != "" {
		if cfg.Upstream, err = loadUpstream(*upstreamFile, *dev); err != nil {
			return err
		}
	}
	registry, err := ent.configure(&cfg, *dev, logger)
	if err != nil {
		return err
	}
	if *dev {
		logger.Warn("development_mode", slog.Bool("sms_outbox", cfg.SMS == nil), slog.Bool("face_simulator", cfg.Face == nil))
	}
	if cfg.Keyring, err = keyring(*dataDir, logger); err != nil {
		return err
	}

	pool, closeDB, err := openDB(ctx, *dataDir, *dbRole, logger)
	if err != nil {
		return err
	}
	defer closeDB(context.WithoutCancel(ctx))

	svc, err := authsvc.New(pool, cfg)
	if err != nil {
		return err
	}
	// The back-channel logout tokens: delivered until the service stops,
	// the one in flight finishing.
	deliveryCtx, stopDelivery := context.WithCancel(ctx)
	delivery := make(chan struct{})
	go func() {
		defer close(delivery)
		svc.RunLogoutDelivery(deliveryCtx)
	}()
	defer func() { stopDelivery(); <-delivery }()
	// The re-check of unverified legal accounts, in this process.
	stopRealname, err := startRealnameJob(deliveryCtx, svc, ent.schedule, logger)
	if err != nil {
		return err
	}
	defer stopRealname()
	srv := &http.Server{
		Addr:              *addr,
		Handler:           withRegistry(svc.Handler(), registry),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		// Not ctx: a signal must not cancel the requests in flight, which
		// Shutdown lets finish.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:   tlsConfig,
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("base_url", cfg.BaseURL),
		slog.Bool("tls", tlsConfig != nil), slog.String("trusted_proxies", prod.trustProxy))
	errc := make(chan error, 3)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
			return
		}
		errc <- srv.Serve(ln)
	}()
	// The CA login's listener: its TLS asks for the client certificate
	// (the U-KEY's), which the handler verifies.
	var caSrv *http.Server
	if caTLS != nil {
		caLn, err := net.Listen("tcp", caf.addr)
		if err != nil {
			return err
		}
		caSrv = &http.Server{Handler: svc.CertHandler(), TLSConfig: caTLS, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
			BaseContext: srv.BaseContext, ErrorLog: srv.ErrorLog}
		logger.Info("ca_listening", slog.String("addr", caLn.Addr().String()), slog.String("base_url", cfg.CA.BaseURL()))
		go func() { errc <- caSrv.ServeTLS(caLn, "", "") }()
	}
	// The staff console's own listener: the service's handler then has
	// no /admin.
	var adminSrv *http.Server
	if *adminAddr != "" {
		adminLn, err := net.Listen("tcp", *adminAddr)
		if err != nil {
			return err
		}
		adminSrv = &http.Server{Handler: svc.ConsoleHandler(), TLSConfig: tlsConfig, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
			BaseContext: srv.BaseContext, ErrorLog: srv.ErrorLog}
		logger.Info("console_listening", slog.String("addr", adminLn.Addr().String()), slog.Bool("tls", tlsConfig != nil))
		go func() {
			if tlsConfig != nil {
				errc <- adminSrv.ServeTLS(adminLn, "", "")
				return
			}
			errc <- adminSrv.Serve(adminLn)
		}()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if caSrv != nil {
		defer caSrv.Close()
	}
	if adminSrv != nil {
		defer adminSrv.Close()
	}
	// New requests that would hash a password are refused with 503 and
	// Retry-After, and /readyz says so; the ones queued are served if
	// they can be within the stop's wait (a second before its end), and
	// refused with 503 then if not. For --drain-delay the service still
	// accepts, and answers, what was already on its way (connections in
	// the listen queue would else be reset) while a load balancer
	// notices; then no new connections, and the requests in flight finish
	// (a step either commits or not) before the database closes.
	logger.Info("shutting_down", slog.Duration("drain_delay", *drainDelay))
	svc.Drain(time.Now().Add(*drainDelay + shutdownWait - time.Second))
	time.Sleep(*drainDelay)
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownWait)
	defer cancel()
	err = srv.Shutdown(shutdown)
	if smsQueue != nil {
		// The codes already asked for still go out.
		if qerr := smsQueue.Close(shutdown); qerr != nil {
			logger.Warn("sms_queue_not_drained", slog.String("error", qerr.Error()))
		}
	}
	if err != nil {
		// A request stuck beyond the wait (a database that does not
		// answer): its connection is cut rather than the stop hanging,
		// and the stop is not a clean one.
		srv.Close()
		return fmt.Errorf("shutdown: requests still running after %s were cut: %w", shutdownWait, err)
	}
	return nil
}

// The SMS gateway's delivery: workers, and messages that may wait (a
// queue full is refused as a failed send).
const smsWorkers, smsQueueDepth = 4, 1000

// shutdownWait is how long a stop waits for the requests in flight: the
// hashes running and their statements take well under a second.
const shutdownWait = 10 * time.Second

// openDB opens DATABASE_URL, else the embedded cluster under dataDir,
// migrated; the connections then act as role, if given.
func openDB(ctx context.Context, dataDir, role string, logger *slog.Logger) (*pgxpool.Pool, func(context.Context) error, error) {
	return database.OpenDefault(ctx, database.OpenConfig{
		URL: os.Getenv("DATABASE_URL"), DataDir: dataDir, BinDir: os.Getenv("PG_BIN_DIR"), Role: role, Logger: logger,
	})
}

func keyring(dataDir string, logger *slog.Logger) (*pii.Keyring, error) {
	if p := os.Getenv("IDFUSION_KEY_FILE"); p != "" {
		return pii.LoadKeyring(p)
	}
	path := filepath.Join(dataDir, "keys", "dev.key")
	k, created, err := pii.LoadOrCreateDevKeyring(path)
	if err != nil {
		return nil, err
	}
	if created {
		logger.Warn("generated_development_key", slog.String("path", path))
	}
	return k, nil
}

// admin runs an operator's subcommand: its flags fs, and --data-dir, from
// args, then fn on the database (as its owner: operators register
// clients and verify the audit log).
func admin(ctx context.Context, fs *flag.FlagSet, args []string, fn func(*pgxpool.Pool) error) error {
	dataDir := fs.String("data-dir", "data", "the project's data folder (embedded PostgreSQL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, closeDB, err := openDB(ctx, *dataDir, "", slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer closeDB(context.WithoutCancel(ctx))
	return fn(pool)
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// clientAdd registers a business system and prints its secret.
func clientAdd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("authsvc client add", flag.ContinueOnError)
	id := fs.String("id", "", "client_id (required)")
	name := fs.String("name", "", "a name for operators (default: the id)")
	public := fs.Bool("public", false, "a public client (no secret; PKCE S256 required)")
	requireFace := fs.Bool("require-face", false, "every login for this client needs a face check in the session (acr "+authsvc.ACRFace+")")
	pkceOptional := fs.Bool("pkce-optional", false, "a confidential client that cannot send PKCE may go without it (audited; listed by client list)")
	emailClaim := fs.String("email-claim", "", `what stands in for "email" for a client that needs one, with the email scope: "sub"`)
	var logout authsvc.LogoutChannels
	fs.StringVar(&logout.BackchannelURI, "backchannel-logout-uri", "", "where logout tokens are POSTed when a citizen's session ends (https, or http on loopback)")
	fs.BoolVar(&logout.BackchannelSessionRequired, "backchannel-logout-session-required", false, "put the sid in the logout token")
	fs.StringVar(&logout.FrontchannelURI, "frontchannel-logout-uri", "", "loaded in an iframe of the logged-out page (https, or http on loopback)")
	fs.BoolVar(&logout.FrontchannelSessionRequired, "frontchannel-logout-session-required", false, "add iss and sid to the front-channel logout URI")
	var uris, logoutURIs, scopes multi
	fs.Var(&uris, "redirect-uri", "an exact redirect URI (repeatable; at least one)")
	fs.Var(&logoutURIs, "post-logout-redirect-uri", "an exact URI to return to after logout (repeatable)")
	fs.Var(&scopes, "scope", "a scope the client may ask for besides openid (repeatable)")
	return admin(ctx, fs, args, func(pool *pgxpool.Pool) error {
		secret, err := authsvc.RegisterClient(ctx, pool, authsvc.Client{ID: *id, Name: *name, RedirectURIs: uris,
			PostLogoutRedirectURIs: logoutURIs, Public: *public, Scopes: scopes, RequireFace: *requireFace,
			PKCEOptional: *pkceOptional, EmailClaim: *emailClaim, Logout: logout})
		if err != nil {
			return err
		}
		fmt.Printf("client_id: %s\n", *id)
		if secret != "" {
			fmt.Printf("client_secret: %s\n(shown once: only its hash is stored)\n", secret)
		}
		return nil
	})
}

// clientChange rotates a business system's secret (printing the new one)
// or disables it: the functions the console's 运维 uses too.
func clientChange(ctx context.Context, out io.Writer, action string, args []string) error {
	fs := flag.NewFlagSet("authsvc client "+action, flag.ContinueOnError)
	id := fs.String("id", "", "client_id (required)")
	return admin(ctx, fs, args, func(pool *pgxpool.Pool) error {
		if *id == "" {
			return errors.New("--id is required")
		}
		if action == "disable" {
			if err := authsvc.DisableClient(ctx, pool, *id, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(out, "client %s disabled: its logins and token requests are refused, its tokens revoked\n", *id)
			return nil
		}
		secret, err := authsvc.RotateClientSecret(ctx, pool, *id)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "client_id: %s\nclient_secret: %s\n(shown once: only its hash is stored; the old secret no longer works)\n", *id, secret)
		return nil
	})
}

// clientList prints the registered business systems, one line each, with
// what an operator must see at a glance: public or confidential, PKCE
// optional, face required, the email stand-in, the scopes.
func clientList(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("authsvc client list", flag.ContinueOnError)
	return admin(ctx, fs, args, func(pool *pgxpool.Pool) error {
		clients, err := authsvc.ListClients(ctx, pool)
		if err != nil {
			return err
		}
		for _, c := range clients {
			kind := "confidential"
			if c.Public {
				kind = "public"
			}
			fmt.Fprintf(out, "%s\t%s\t%s\tpkce=%s\tface=%t\temail=%s\tscopes=%s\tbackchannel=%s\tfrontchannel=%s\n", c.ID, c.Name, kind,
				map[bool]string{true: "optional", false: "required"}[c.PKCEOptional], c.RequireFace, cmp.Or(c.EmailClaim, "-"), strings.Join(c.Scopes, " "),
				cmp.Or(c.Logout.BackchannelURI, "-"), cmp.Or(c.Logout.FrontchannelURI, "-"))
			if c.DisabledAt != nil {
				fmt.Fprintf(out, "%s\tdisabled since %s\n", c.ID, c.DisabledAt.Format(time.RFC3339))
			}
		}
		return nil
	})
}

// auditVerify checks the audit log's hash chain. A broken chain is an
// error naming the first row that breaks it (exit code 1).
func auditVerify(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("authsvc audit verify", flag.ContinueOnError)
	return admin(ctx, fs, args, func(pool *pgxpool.Pool) error {
		chain, err := authsvc.VerifyAuditChain(ctx, pool)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "audit chain OK: %d rows, last row %d, head sha256 %s\n", chain.Checked, chain.LastID, hex.EncodeToString(chain.Head))
		return nil
	})
}

// adminSetPhone is `authsvc admin set-phone`.
func adminSetPhone(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("authsvc admin set-phone", flag.ContinueOnError)
	var c authsvc.OperatorPhoneChange
	fs.StringVar(&c.CreditCode, "credit-code", "", "the legal account's unified social credit code")
	fs.StringVar(&c.IDNumber, "id-number", "", "the citizen's ID number")
	fs.StringVar(&c.Phone, "phone", "", "the new phone (required)")
	fs.StringVar(&c.Evidence, "evidence", "", "the reference of the mailed documents (required; audited)")
	fs.StringVar(&c.Operator, "operator", "", "who checked them (required; audited)")
	var prod prodFlags
	prod.register(fs)
	dataDir := fs.String("data-dir", "data", "the project's data folder (embedded PostgreSQL, development keys)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	k, pool, closeDB, err := ownerStore(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer closeDB(context.WithoutCancel(ctx))
	var sms authsvc.SMSSender = authsvc.DevOutbox(pool, time.Now)
	if prod.smsURL != "" {
		secret, _, err := prod.smsSecret()
		if err != nil {
			return err
		}
		if sms, err = authsvc.NewHTTPSMSGateway(prod.smsURL, prod.smsKeyID, secret, nil, nil); err != nil {
			return err
		}
	}
	id, err := authsvc.SetPhoneByOperator(ctx, pool, k, sms, c, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "account %d: phone set, its sessions ended, audited\n", id)
	return nil
}

// ownerStore opens the store of dataDir as its owner, with the service's
// keyring, for the commands an operator runs (warnings only in the log).
func ownerStore(ctx context.Context, dataDir string) (*pii.Keyring, *pgxpool.Pool, func(context.Context) error, error) {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	k, err := keyring(dataDir, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	pool, closeDB, err := openDB(ctx, dataDir, "", logger)
	if err != nil {
		return nil, nil, nil, err
	}
	return k, pool, closeDB, nil
}

// ownerCommand is a staff command of the owner's: fs parsed (with
// --data-dir), then fn with the keyring and the owner's store.
func ownerCommand(ctx context.Context, fs *flag.FlagSet, args []string, fn func(*pii.Keyring, *pgxpool.Pool) error) error {
	dataDir := fs.String("data-dir", "data", "the project's data folder (embedded PostgreSQL, development keys)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	k, pool, closeDB, err := ownerStore(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer closeDB(context.WithoutCancel(ctx))
	return fn(k, pool)
}

// cliOperator names who ran a command, for the audit.
func cliOperator() string { return "cli:" + cmp.Or(os.Getenv("USER"), "unknown") }

// staffAdd is `authsvc staff add`.
func staffAdd(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("authsvc staff add", flag.ContinueOnError)
	var n authsvc.NewStaff
	fs.StringVar(&n.Username, "username", "", "the staff member's username (required; unique, case-insensitively)")
	fs.StringVar(&n.Name, "name", "", "the staff member's name (required)")
	var roles multi
	fs.Var(&roles, "role", "a role: kefu 客服, shenhe 审核, yunwei 运维, shenji 审计 (repeatable; at least one)")
	return ownerCommand(ctx, fs, args, func(k *pii.Keyring, pool *pgxpool.Pool) error {
		n.Roles, n.CreatedBy = roles, cliOperator()
		c, err := authsvc.AddStaff(ctx, pool, k, authsvc.DefaultArgon2, n, time.Now())
		if err != nil {
			return err
		}
		// The credentials go to the operator's terminal once, never to a log.
		fmt.Fprintf(out, "staff %d: %s created\ninitial password: %s\nTOTP secret: %s\notpauth URI: %s\n(shown once: add the secret to an authenticator app, give the password to the staff member)\n",
			c.ID, strings.TrimSpace(n.Username), c.Password, c.Secret, c.URI)
		return nil
	})
}

// staffRoles is `authsvc staff roles`: the owner sets any member's roles
// (the console gives none beyond 客服, migration 044).
func staffRoles(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("authsvc staff roles", flag.ContinueOnError)
	username := fs.String("username", "", "the staff member's username (required)")
	var roles multi
	fs.Var(&roles, "role", "a role: kefu 客服, shenhe 审核, yunwei 运维, shenji 审计 (repeatable; at least one): the member's roles become these")
	return ownerCommand(ctx, fs, args, func(k *pii.Keyring, pool *pgxpool.Pool) error {
		if strings.TrimSpace(*username) == "" {
			return errors.New("--username is required")
		}
		c, err := authsvc.SetStaffRoles(ctx, pool, k, authsvc.DefaultArgon2, *username, roles, cliOperator(), time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "staff %s: roles %s\n", strings.TrimSpace(*username), strings.Join(roles, ","))
		if c != nil {
			// Whoever made or reset the member as a 客服 knows the old ones.
			fmt.Fprint(out, "a role beyond 客服 was given: new credentials, its sessions ended\n")
			printCredentials(out, *c)
		}
		return nil
	})
}

// staffReset is `authsvc staff reset`: the owner gives any member a new
// password and TOTP secret, printed once (the console resets 客服 only).
func staffReset(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("authsvc staff reset", flag.ContinueOnError)
	username := fs.String("username", "", "the staff member's username (required)")
	return ownerCommand(ctx, fs, args, func(k *pii.Keyring, pool *pgxpool.Pool) error {
		if strings.TrimSpace(*username) == "" {
			return errors.New("--username is required")
		}
		c, err := authsvc.ResetStaff(ctx, pool, k, authsvc.DefaultArgon2, *username, cliOperator(), time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "staff %s: credentials reset, its sessions ended\n", strings.TrimSpace(*username))
		printCredentials(out, c)
		return nil
	})
}

// printCredentials prints a staff member's new credentials, once: to the
// operator's terminal, never to a log.
func printCredentials(out io.Writer, c authsvc.StaffCredentials) {
	fmt.Fprintf(out, "new password: %s\nTOTP secret: %s\notpauth URI: %s\n(shown once: add the secret to an authenticator app, give the password to the staff member)\n",
		c.Password, c.Secret, c.URI)
}

// staffDisable is `authsvc staff disable`.
func staffDisable(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("authsvc staff disable", flag.ContinueOnError)
	username := fs.String("username", "", "the staff member's username (required)")
	return admin(ctx, fs, args, func(pool *pgxpool.Pool) error {
		if strings.TrimSpace(*username) == "" {
			return errors.New("--username is required")
		}
		if err := authsvc.DisableStaff(ctx, pool, *username, cliOperator(), time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(out, "staff %s: disabled, its sessions ended\n", strings.TrimSpace(*username))
		return nil
	})
}
