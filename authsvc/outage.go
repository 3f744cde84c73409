package authsvc

import (
	"log/slog"
	"sync"
	"time"
)

// outageLogEvery is how often a database outage is logged while it lasts.
const outageLogEvery = 10 * time.Second

// retryAfterOutage is the Retry-After of an answer refused for a
// database outage.
const retryAfterOutage = 5 * time.Second

// outageLog logs the requests refused because the database is unavailable
// once per interval instead of once per request: during an outage every
// request fails, and a line each would bury the log (and the disk). The
// first refusal is logged at once, with its error; the ones within the
// interval after a line are only counted, and the first one after it
// writes the next line, which says how many were refused since the
// previous one.
type outageLog struct {
	logger *slog.Logger
	now    func() time.Time
	every  time.Duration

	mu      sync.Mutex
	last    time.Time // when the last line was written; zero: never
	refused int       // requests refused since, not logged
}

func newOutageLog(logger *slog.Logger, now func() time.Time, every time.Duration) *outageLog {
	return &outageLog{logger: logger, now: now, every: every}
}

// refuse records a request to path refused for err.
func (o *outageLog) refuse(path string, err error) {
	o.mu.Lock()
	now := o.now()
	if !o.last.IsZero() && now.Sub(o.last) < o.every {
		o.refused++
		o.mu.Unlock()
		return
	}
	prev, n := o.last, o.refused
	o.last, o.refused = now, 0
	o.mu.Unlock()

	attrs := []any{slog.String("path", path), errAttr(err)}
	if !prev.IsZero() {
		attrs = append(attrs, slog.Int("refused_since", n), slog.Time("since", prev))
	}
	o.logger.Error("database_unavailable", attrs...)
}
