package schemas

import "embed"

// Migrations holds the SQL migrations of the database, one file per version
// named migrations/NNN_name.sql (a three-digit version from 001 and a
// lower-case snake_case name), applied in version order by
// internal/database.Migrate, each in a transaction of its own: a file must
// not hold transaction control or CREATE INDEX CONCURRENTLY. A file that has
// been released is never edited; a change is a new version.
//
//go:embed migrations/*.sql
var Migrations embed.FS
