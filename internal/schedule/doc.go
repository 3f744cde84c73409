// Package schedule runs departmental imports unattended: each department
// drops its exports into an inbox folder, and on the department's cron
// schedule the files that are complete are imported as one run
// (pipeline.Import, trigger "schedule") and moved out of the way with the
// run report and the department's feedback workbook beside them.
//
// # The inbox convention
//
// A department's inbox is a folder of its own. Only regular files directly
// in it are considered; dotfiles (the temporary names of rsync and most
// uploaders), the names uploaders give a file being written ("*.part",
// "*.filepart", "*.partial", "*.tmp", "*.crdownload", "*~"), "*.done"
// markers and the subfolders (archive/, rejected/) are not. A file is
// complete, and taken on the next tick, when either
//
//   - a marker file "<name>.done" is beside it (gongan_2026-11.csv.done for
//     gongan_2026-11.csv; its content does not matter), or
//   - its modification time is at least Config.Settle (default one minute)
//     in the past: a file still being written keeps getting a fresh
//     modification time, so one that has not changed for that long is
//     taken as finished.
//
// Senders that can should write the marker after the file; the settle time
// is for those that cannot. A file that is not complete yet is left alone
// for a later tick.
//
// After a run commits, every file of the tick is moved, with its marker:
//
//	inbox/archive/run-<id>/      imported files, run-<id>.json, <dept>-feedback.xlsx
//	inbox/archive/<date>/        files imported before (nothing new in them), when the tick committed no run
//	inbox/rejected/<date>/       files that could not be used, and the feedback workbook saying why
//
// Dates are in Config.TimeZone. If the import fails as a whole (database
// error, cancellation), nothing is moved and the files are taken again on
// the next tick; a file imported before and still in the inbox (a crash
// between the commit and the move) is recognized by its hash and archived.
//
// # Locking
//
// Before it reads a department's inbox a scheduler takes a PostgreSQL
// session advisory lock of that department (pg_try_advisory_lock with the
// keys lockSchedule and hashtext(code)) on a connection of the pool, and
// gives it back after the files are moved. If another scheduler process (or
// an overlapping tick) holds it, the tick is skipped and logged as
// "tick_skipped", not queued. Within one process the cron entries are
// wrapped with cron.SkipIfStillRunning, and the departments of one
// scheduler import one at a time: imports serialize on the database's import
// lock anyway, and a waiting import would hold pool connections the running
// one needs.
//
// Housekeeping jobs (such as purging expired login sessions) are functions
// the caller registers by name; they run on their own schedules, without a
// lock, and must be safe to run in several processes at once. One is built
// in, since it needs the inboxes: purge_rejects (purge.go, with its period
// in older_than) clears the personal data of rejected rows of old runs and
// deletes the archive/ and rejected/ folders written before the period
// (package retention).
//
// Metrics are served by Scheduler.Handler in the Prometheus text format.
//
// The package composes pipeline (the stages) with a clock, folders and
// locks; like cmd, it sits above the stages and imports none of them.
package schedule
