package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/idfusion/idfusion/authsvc"
)

// enterpriseFlags configure the national enterprise interface that
// verifies legal persons, and the scheduled re-check of the unverified
// ones. Secrets come from files, never from flags.
type enterpriseFlags struct {
	url, secretFile, cert, key string
	timeout                    time.Duration
	schedule                   string
	batch                      int
	// Development: the stand-in registry served at /dev/enterprise-registry.
	fixture string
	delay   time.Duration
}

func (e *enterpriseFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.url, "enterprise-url", os.Getenv("AUTHSVC_ENTERPRISE_URL"), "the national enterprise interface's URL (env AUTHSVC_ENTERPRISE_URL); without it legal accounts stay 未实名用户")
	fs.StringVar(&e.secretFile, "enterprise-secret-file", os.Getenv("AUTHSVC_ENTERPRISE_SECRET_FILE"), "a file holding the enterprise interface's shared secret (env AUTHSVC_ENTERPRISE_SECRET_FILE)")
	fs.StringVar(&e.cert, "enterprise-cert", os.Getenv("AUTHSVC_ENTERPRISE_CERT"), "the client certificate (PEM) for the enterprise interface (env AUTHSVC_ENTERPRISE_CERT)")
	fs.StringVar(&e.key, "enterprise-key", os.Getenv("AUTHSVC_ENTERPRISE_KEY"), "the private key (PEM) of --enterprise-cert (env AUTHSVC_ENTERPRISE_KEY)")
	fs.DurationVar(&e.timeout, "enterprise-timeout", 5*time.Second, "timeout of one call of the enterprise interface")
	fs.StringVar(&e.schedule, "realname-schedule", "*/10 * * * *", "cron schedule of the re-check of unverified legal accounts")
	fs.IntVar(&e.batch, "realname-batch", 100, "the most legal accounts one re-check run asks about")
	fs.StringVar(&e.fixture, "enterprise-fixture", "", "with --dev and no --enterprise-url: a JSON array of enterprises the development registry knows")
	fs.DurationVar(&e.delay, "enterprise-delay", 2*time.Minute, "with --dev: how long the development registry says a new credit code is not yet available")
}

// configure sets cfg.Enterprise. With dev and no URL it returns the
// development registry, to be served at /dev/enterprise-registry of the
// service itself.
func (e *enterpriseFlags) configure(cfg *authsvc.Config, dev bool, logger *slog.Logger) (*authsvc.EnterpriseRegistry, error) {
	cfg.RealnameBatch = e.batch
	switch {
	case e.url != "":
		v, err := authsvc.NewHTTPEnterpriseVerifier(e.url, e.secretFile, e.cert, e.key, e.timeout)
		if err != nil {
			return nil, err
		}
		cfg.Enterprise = v
	case dev:
		var fixture []authsvc.Enterprise
		if e.fixture != "" {
			var err error
			if fixture, err = authsvc.LoadEnterpriseFixture(e.fixture); err != nil {
				return nil, err
			}
		}
		reg := authsvc.NewEnterpriseRegistry(fixture, e.delay, nil)
		cfg.Enterprise = &authsvc.HTTPEnterpriseVerifier{URL: cfg.BaseURL + devRegistryPath, Client: &http.Client{Timeout: e.timeout}}
		return reg, nil
	default:
		logger.Warn("enterprise_verifier_missing", slog.String("effect", "legal accounts stay unverified (未实名用户)"))
	}
	return nil, nil
}

const devRegistryPath = "/dev/enterprise-registry"

// withRegistry serves the development registry beside the service.
func withRegistry(h http.Handler, reg *authsvc.EnterpriseRegistry) http.Handler {
	if reg == nil {
		return h
	}
	mux := http.NewServeMux()
	mux.Handle(devRegistryPath, reg)
	mux.Handle("/", h)
	return mux
}

// startRealnameJob runs the re-check on its schedule (a run still going
// makes the next one skip); stop waits for a run in flight.
func startRealnameJob(ctx context.Context, svc *authsvc.Server, spec string, logger *slog.Logger) (stop func(), err error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("--realname-schedule: %w", err)
	}
	c := cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger), cron.Recover(cron.DiscardLogger)))
	c.Schedule(sched, cron.FuncJob(func() {
		res, err := svc.RecheckRealname(ctx)
		if err != nil {
			logger.Error("realname_recheck_failed", slog.String("error", err.Error()))
			return
		}
		logger.Info("realname_recheck", slog.Int("checked", res.Checked), slog.Int("verified", res.Verified))
	}))
	c.Start()
	return func() { <-c.Stop().Done() }, nil
}
