package database_test

import (
	"context"
	"testing"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/dbtest"
)

// TestMigrateStaffMustChange: migration 047 asks every 客服 on record, whose
// password someone else was shown, to change it; no member with another
// role (whose credentials only the owner sets).
func TestMigrateStaffMustChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewBefore(t, 47)
	if _, err := pool.Exec(ctx, `INSERT INTO staff (username, name, password_hash, totp_sealed, roles, created_at, created_by) VALUES
		('kf', '客服', 'h', '\x00', '{kefu}', now(), 't'), ('both', '双岗', 'h', '\x00', '{kefu,shenhe}', now(), 't'), ('ops', '运维', 'h', '\x00', '{yunwei}', now(), 't')`); err != nil {
		t.Fatal(err)
	}
	if err := database.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	var must []string
	if err := pool.QueryRow(ctx, `SELECT array_agg(username ORDER BY username) FROM staff WHERE must_change`).Scan(&must); err != nil {
		t.Fatal(err)
	}
	if len(must) != 1 || must[0] != "kf" {
		t.Errorf("must change after 047: %v, want the 客服 only", must)
	}
}
