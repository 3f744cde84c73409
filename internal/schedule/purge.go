package schedule

import (
	"context"
	"log/slog"
	"time"

	"github.com/idfusion/idfusion/internal/retention"
)

// purgeRejects is the purge_rejects job: the personal data of rejected
// rows of runs finished longer than olderThan ago, and the archive/ and
// rejected/ folders of every department's inbox last written before then
// (retention.Purge, recorded with the trigger "schedule").
func (s *Scheduler) purgeRejects(olderThan time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		inboxes := make([]string, len(s.cfg.Departments))
		for i, d := range s.cfg.Departments {
			inboxes[i] = d.Inbox
		}
		res, err := retention.Purge(ctx, s.pool, retention.Options{OlderThan: olderThan, Now: s.opts.Now(), Trigger: "schedule",
			Inboxes: inboxes, Logger: s.log.With(slog.String("job", jobPurgeRejects))})
		if err != nil {
			return err
		}
		s.log.Info("rejects_purge_done", slog.Int64("purge_id", res.AuditID), slog.Int64("reject_rows", res.RejectRows),
			slog.Int64("runs", res.Runs), slog.Int64("files", res.Files), slog.Int64("folders", res.Folders))
		return nil
	}
}
