package schedule

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// lockSchedule is the first key of the departments' session advisory
// locks ("schd" in ASCII); the second is hashtext of the department code.
// Two-key locks live apart from the single-key ones the import and the
// migrations take.
const lockSchedule int32 = 0x73636864

// tryLock takes the department's session advisory lock on a connection of
// the pool, without waiting. It returns ok false, and holds nothing, when
// another session has it. unlock gives it back and returns the connection;
// if the lock cannot be given back the connection is closed, which ends the
// session and so its locks.
func tryLock(ctx context.Context, pool *pgxpool.Pool, dept string, log *slog.Logger) (unlock func(), ok bool, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockSchedule, dept).Scan(&ok); err != nil {
		// A query cut short (cancelled) may leave the lock taken or not:
		// closing the session settles it.
		conn.Hijack().Close(context.WithoutCancel(ctx))
		return nil, false, err
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		var released bool
		err := conn.QueryRow(uctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockSchedule, dept).Scan(&released)
		if err != nil || !released {
			log.Warn("dept_unlock_failed", slog.String("dept", dept), slog.Any("error", err))
			conn.Hijack().Close(uctx)
			return
		}
		conn.Release()
	}, true, nil
}
