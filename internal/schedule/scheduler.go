package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/robfig/cron/v3"

	"github.com/idfusion/idfusion/internal/pii"
)

// Options are what New needs besides the pool and the configuration.
type Options struct {
	// Keyring seals ID numbers and phones in the imports. Required.
	Keyring *pii.Keyring
	// HoldBytes is what each run's accepted rows may take held before
	// they are spilled (pipeline.ImportConfig.HoldBytes). 0: no limit.
	HoldBytes int64
	// Logger receives the ticks, the files taken, moved, rejected or left
	// waiting, and the failures. Default: discard.
	Logger *slog.Logger
	// Now is the clock that decides whether a file has settled and dates
	// the archive folders. Default time.Now.
	Now func() time.Time
	// Housekeeping are the maintenance jobs the configuration may name,
	// by name (e.g. "purge_auth"). Default: none.
	Housekeeping map[string]func(ctx context.Context) error
}

// Scheduler runs the departments' scheduled imports and the housekeeping
// jobs of a Config.
type Scheduler struct {
	pool    *pgxpool.Pool
	cfg     *Config
	opts    Options
	log     *slog.Logger
	metrics *metrics
	jobs    []job
	// importing admits one department's tick at a time (see the package
	// comment).
	importing chan struct{}
}

// job is a department's tick or a housekeeping job.
type job struct {
	name string
	spec cron.Schedule
	dept *Department                     // nil for housekeeping
	run  func(ctx context.Context) error // housekeeping
}

// New returns a scheduler for cfg, which must come from Load. It fails
// with a *ConfigError if cfg names a housekeeping job that
// opts.Housekeeping does not register.
func New(pool *pgxpool.Pool, cfg *Config, opts Options) (*Scheduler, error) {
	switch {
	case pool == nil:
		return nil, errors.New("schedule.New: pool is nil")
	case cfg == nil || cfg.loc == nil:
		return nil, errors.New("schedule.New: the config must come from schedule.Load")
	case opts.Keyring == nil:
		return nil, errors.New("schedule.New: Options.Keyring is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := cfg.checkJobs(opts.Housekeeping); err != nil {
		return nil, err
	}
	s := &Scheduler{pool: pool, cfg: cfg, opts: opts, log: opts.Logger, importing: make(chan struct{}, 1)}
	var depts, jobs []string
	for i := range cfg.Departments {
		d := &cfg.Departments[i]
		s.jobs = append(s.jobs, job{name: d.Code, spec: d.spec, dept: d})
		depts = append(depts, d.Code)
	}
	for i, h := range cfg.Housekeeping {
		for _, d := range depts {
			if h.Job == d { // both would be job="<name>" in the metrics
				return nil, &ConfigError{Path: cfg.Path, Field: fmt.Sprintf("housekeeping[%d].job", i), Err: fmt.Errorf("job %q has the name of a department", h.Job)}
			}
		}
		run := opts.Housekeeping[h.Job]
		if h.Job == jobPurgeRejects {
			run = s.purgeRejects(h.olderThan)
		}
		s.jobs = append(s.jobs, job{name: h.Job, spec: h.spec, run: run})
		jobs = append(jobs, h.Job)
	}
	s.metrics = newMetrics(depts, jobs)
	return s, nil
}

// RunOnce runs every department's tick and every housekeeping job once, in
// the order of the configuration, for hosts without cron and for tests. A
// department whose lock another scheduler holds is skipped, which is not an
// error. It returns the failures joined; when ctx is done it stops before
// the next job (an import in flight rolls back).
func (s *Scheduler) RunOnce(ctx context.Context) error {
	var errs []error
	for _, j := range s.jobs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := s.runJob(ctx, j); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", j.name, err))
		}
	}
	return errors.Join(errs...)
}

// Run runs the jobs on their schedules until ctx is done, then stops
// starting jobs and waits for the running ones: an import in flight sees
// ctx done and rolls back, or has committed and finishes moving its files.
// A failed job is logged and counted, and does not stop the others.
func (s *Scheduler) Run(ctx context.Context) error {
	cl := cronLogger{s.log}
	c := cron.New(cron.WithLocation(s.cfg.loc), cron.WithLogger(cl), cron.WithChain(cron.Recover(cl)))
	for _, j := range s.jobs {
		c.Schedule(j.spec, s.cronJob(ctx, j))
	}
	c.Start()
	now := time.Now().In(s.cfg.loc)
	for _, j := range s.jobs {
		s.log.Info("job_scheduled", slog.String("job", j.name), slog.Time("next", j.spec.Next(now)))
	}
	s.log.Info("schedule_started", slog.Int("departments", len(s.cfg.Departments)), slog.Int("housekeeping", len(s.cfg.Housekeeping)),
		slog.String("time_zone", s.cfg.loc.String()))
	<-ctx.Done()
	s.log.Info("schedule_stopping")
	<-c.Stop().Done()
	s.log.Info("schedule_stopped")
	return nil
}

// cronJob is j as its cron entry runs it: a tick that comes while the
// entry's previous one is still running is skipped, logged and counted.
// SkipIfStillRunning is applied per entry rather than through
// cron.WithChain so that what it logs names the job.
func (s *Scheduler) cronJob(ctx context.Context, j job) cron.Job {
	run := cron.FuncJob(func() { s.runJob(ctx, j) })
	return cron.NewChain(cron.SkipIfStillRunning(skipLogger{s, j})).Then(run)
}

// runJob runs one job and records its duration; the error is the job's
// failure (already logged and counted).
func (s *Scheduler) runJob(ctx context.Context, j job) error {
	start := time.Now()
	defer func() { s.metrics.duration(j.name, time.Since(start)) }()
	if j.dept != nil {
		return s.runDept(ctx, j.dept)
	}
	err := j.run(ctx)
	if err != nil {
		s.log.Error("housekeeping_failed", slog.String("job", j.name), slog.Any("error", err))
		s.metrics.add(s.metrics.hk, j.name, outcomeError, 1)
		return err
	}
	s.log.Info("housekeeping_done", slog.String("job", j.name), slog.Duration("took", time.Since(start)))
	s.metrics.add(s.metrics.hk, j.name, outcomeOK, 1)
	return nil
}

// cronLogger passes cron's own messages to slog: its routine ones at debug
// level.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	l.log.Debug("cron_"+msg, kv...)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron_"+msg, append([]any{slog.Any("error", err)}, kv...)...)
}

// skipLogger receives SkipIfStillRunning's "skip" for one job: a tick that
// came while the job's previous tick was still running.
type skipLogger struct {
	s *Scheduler
	j job
}

func (l skipLogger) Info(msg string, kv ...any) {
	if msg != "skip" {
		return
	}
	if l.j.dept != nil {
		l.s.log.Info("tick_skipped", slog.String("dept", l.j.name), slog.String("reason", "previous tick still running"))
		l.s.metrics.run(l.j.name, outcomeSkipped, l.s.opts.Now())
		return
	}
	l.s.log.Info("tick_skipped", slog.String("job", l.j.name), slog.String("reason", "previous run still going"))
	l.s.metrics.add(l.s.metrics.hk, l.j.name, outcomeSkipped, 1)
}

func (l skipLogger) Error(err error, msg string, kv ...any) {
	cronLogger{l.s.log}.Error(err, msg, kv...)
}
