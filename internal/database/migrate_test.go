package database_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// versions returns the applied versions as "NNN name" strings.
func versions(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	applied, err := database.Applied(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range applied {
		if a.AppliedAt.IsZero() {
			t.Errorf("version %d has no applied_at", a.Version)
		}
		got = append(got, database.Migration{Version: a.Version, Name: a.Name}.String())
	}
	return got
}

func tableExists(t *testing.T, pool *pgxpool.Pool, name string) bool {
	t.Helper()
	var exists bool
	if err := pool.QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

func TestMigrateEmbedded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewEmpty(t)

	migs, err := database.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) == 0 || migs[0].String() != "001 [department]" {
		t.Fatalf("embedded migrations start with %v, want 001 [department]", migs)
	}
	pending, err := database.Pending(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(migs, pending); diff != "" {
		t.Errorf("Pending on an empty database mismatch (-want +got):\n%s", diff)
	}

	if err := database.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	first, err := database.Applied(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(migs) {
		t.Fatalf("applied %d migrations, want %d", len(first), len(migs))
	}
	if !tableExists(t, pool, "department") {
		t.Error("no table department after Migrate")
	}

	// Migrating again is a no-op: nothing applied anew, nothing pending.
	if err := database.Migrate(ctx, pool, nil); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	again, err := database.Applied(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("second Migrate changed schema_migration (-want +got):\n%s", diff)
	}
	if pending, err = database.Pending(ctx, pool); err != nil || len(pending) != 0 {
		t.Errorf("Pending after Migrate = %v, %v; want none", pending, err)
	}
}

var testMigrations = fstest.MapFS{
	"001_alpha.sql":  {Data: []byte("CREATE TABLE alpha (id int PRIMARY KEY);")},
	"002_beta.sql":   {Data: []byte("CREATE TABLE beta (id int); INSERT INTO beta VALUES (1), (2);")},
	"003_broken.sql": {Data: []byte("CREATE TABLE gamma (id int);\nSELECT no_such_column FROM beta;")},
	"README.md":      {Data: []byte("not a migration")},
}

// TestMigrateFailure checks that a failing migration is rolled back whole,
// leaves the earlier ones applied, and is named in the error.
func TestMigrateFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewEmpty(t)

	err := database.MigrateFS(ctx, pool, testMigrations, nil)
	if err == nil {
		t.Fatal("MigrateFS with a broken migration succeeded")
	}
	for _, want := range []string{"error applying version 003 [broken]", "no_such_column"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if diff := cmp.Diff([]string{"001 [alpha]", "002 [beta]"}, versions(t, pool)); diff != "" {
		t.Errorf("applied versions mismatch (-want +got):\n%s", diff)
	}
	if tableExists(t, pool, "gamma") {
		t.Error("table gamma of the failed migration exists")
	}
	pending, err := database.PendingFS(ctx, pool, testMigrations)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].String() != "003 [broken]" {
		t.Errorf("pending = %v, want 003 [broken]", pending)
	}

	// Fixed, the run goes on from where it stopped.
	fixed := fstest.MapFS{}
	for name, f := range testMigrations {
		fixed[name] = f
	}
	fixed["003_broken.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE gamma (id int);")}
	if err := database.MigrateFS(ctx, pool, fixed, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"001 [alpha]", "002 [beta]", "003 [broken]"}, versions(t, pool)); diff != "" {
		t.Errorf("applied versions mismatch (-want +got):\n%s", diff)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM beta").Scan(&n); err != nil || n != 2 {
		t.Errorf("beta holds %d rows (%v), want 2: a migration ran twice?", n, err)
	}
}

// TestMigrateConcurrent migrates one database from several goroutines at
// once (as several processes would): every version is applied once.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewEmpty(t)
	fsys := fstest.MapFS{
		"001_alpha.sql": testMigrations["001_alpha.sql"],
		"002_beta.sql":  testMigrations["002_beta.sql"],
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = database.MigrateFS(ctx, pool, fsys, nil) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if diff := cmp.Diff([]string{"001 [alpha]", "002 [beta]"}, versions(t, pool)); diff != "" {
		t.Errorf("applied versions mismatch (-want +got):\n%s", diff)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM beta").Scan(&n); err != nil || n != 2 {
		t.Errorf("beta holds %d rows (%v), want 2: a migration ran twice?", n, err)
	}
}

func TestReadMigrations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []string
		wantErr string
	}{
		{
			name: "sorted, other files ignored",
			fsys: fstest.MapFS{
				"010_ten.sql":     {Data: []byte("SELECT 10")},
				"002_two.sql":     {Data: []byte("SELECT 2")},
				"notes.txt":       {Data: []byte("x")},
				"sub/003_sub.sql": {Data: []byte("SELECT 3")},
			},
			want: []string{"002 [two]", "010 [ten]"},
		},
		{name: "empty", fsys: fstest.MapFS{}},
		{
			name:    "bad name",
			fsys:    fstest.MapFS{"1_one.sql": {Data: []byte("SELECT 1")}},
			wantErr: `"1_one.sql"`,
		},
		{
			name:    "upper-case name",
			fsys:    fstest.MapFS{"001_One.sql": {Data: []byte("SELECT 1")}},
			wantErr: `"001_One.sql"`,
		},
		{
			name:    "version zero",
			fsys:    fstest.MapFS{"000_zero.sql": {Data: []byte("SELECT 0")}},
			wantErr: "start at 001",
		},
		{
			name: "duplicate version",
			fsys: fstest.MapFS{
				"001_one.sql":   {Data: []byte("SELECT 1")},
				"001_other.sql": {Data: []byte("SELECT 1")},
			},
			wantErr: "001 [one] and 001 [other] share a version",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			migs, err := database.ReadMigrations(tt.fsys)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadMigrations() error = %v, want one mentioning %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range migs {
				got = append(got, m.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadMigrations() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
