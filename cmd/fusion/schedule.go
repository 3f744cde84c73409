package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/authsvc"
	"github.com/idfusion/idfusion/internal/schedule"
)

func runSchedule(ctx context.Context, e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("schedule", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	db := addDBFlags(fs)
	config := fs.String("config", "", "the scheduler's configuration: departments' inboxes and cron schedules, housekeeping jobs (YAML)")
	once := fs.Bool("once", false, "run every department and housekeeping job once, then exit (exit code 3 if one failed)")
	memLimit := addMemoryLimitFlag(fs)
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics (Prometheus text format) and /healthz on this address, e.g. 127.0.0.1:9464")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fusion schedule --config FILE [--once] [--metrics-addr ADDR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage, nil
	}
	if *config == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage, nil
	}
	cfg, err := schedule.Load(*config)
	if err != nil {
		return 0, usageError{err}
	}
	hold, err := applyMemoryLimit(e, *memLimit)
	if err != nil {
		return 0, err
	}
	keys, err := loadKeyring(e, *db.dataDir)
	if err != nil {
		return 0, err
	}
	pool, closeDB, err := db.open(ctx, e, false)
	if err != nil {
		return 0, err
	}
	defer closeDB(context.WithoutCancel(ctx))
	sched, err := schedule.New(pool, cfg, schedule.Options{Keyring: keys, HoldBytes: hold, Logger: e.log, Housekeeping: housekeeping(pool, e.log)})
	var ce *schedule.ConfigError
	if errors.As(err, &ce) {
		return 0, usageError{err}
	}
	if err != nil {
		return 0, err
	}

	if *metricsAddr != "" {
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return 0, usagef("--metrics-addr: %v", err)
		}
		srv := &http.Server{Handler: sched.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
		e.log.Info("metrics_listening", slog.String("addr", ln.Addr().String()))
	}

	if !*once {
		// Until SIGINT or SIGTERM; the jobs running then finish or roll back.
		return exitOK, sched.Run(ctx)
	}
	err = sched.RunOnce(ctx)
	if ctx.Err() != nil {
		// A run either committed (and its files were moved) or rolled back
		// (its files stay in the inbox); the logs say which, per department.
		fmt.Fprintf(e.stderr, "fusion schedule: interrupted (%v): a run in flight rolled back and left its files in the inbox; runs committed before moved theirs\n", context.Cause(ctx))
		return exitInternal, nil
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "fusion schedule: %v\n", err)
		return exitInternal, nil
	}
	return exitOK, nil
}

// housekeeping are the jobs a schedule configuration may name.
func housekeeping(pool *pgxpool.Pool, log *slog.Logger) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		// Sessions, SMS codes and face challenges the login service no
		// longer needs.
		"purge_auth": func(ctx context.Context) error {
			p, err := authsvc.Purge(ctx, pool, time.Now())
			if err != nil {
				return err
			}
			log.Info("auth_purged", slog.Int64("sessions", p.Sessions), slog.Int64("sms_codes", p.Codes),
				slog.Int64("face_challenges", p.FaceChallenges), slog.Int64("outbox_messages", p.OutboxMessages),
				slog.Int64("logout_tokens", p.LogoutTokens), slog.Int64("agent_search_tries", p.AgentSearchTries), slog.Int64("staff_sessions", p.StaffSessions))
			return nil
		},
	}
}
