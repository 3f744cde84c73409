package dbtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
)

func TestMain(m *testing.M) { Main(m) }

// TestNewIsolated gives parallel tests a database each: migrated, and
// holding only what the test wrote.
func TestNewIsolated(t *testing.T) {
	t.Parallel()
	for i := range 6 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := New(t)
			code := fmt.Sprintf("dept%d", i)
			if _, err := pool.Exec(ctx, "INSERT INTO department (code, name, priority) VALUES ($1, $1, $2)", code, i); err != nil {
				t.Fatal(err)
			}
			rows, err := pool.Query(ctx, "SELECT code FROM department")
			if err != nil {
				t.Fatal(err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{code}, got); diff != "" {
				t.Errorf("departments mismatch (-want +got):\n%s", diff)
			}
			pending, err := database.Pending(ctx, pool)
			if err != nil {
				t.Fatal(err)
			}
			if len(pending) != 0 {
				t.Errorf("test database lacks migrations %v", pending)
			}
			if got := pool.Config().MaxConns; got != maxConns {
				t.Errorf("MaxConns = %d, want %d", got, maxConns)
			}
		})
	}
}

// TestDropped checks that a test's database is gone after the test, even
// with a connection left open.
func TestDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var name string
	ok := t.Run("user", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, ConnString(t))
		if err != nil {
			t.Fatal(err)
		}
		// Left open on purpose: the drop must force it closed.
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	if !ok {
		return
	}
	if !strings.HasPrefix(name, "test_") {
		t.Fatalf("database name %q, want test_…", name)
	}
	var exists bool
	if err := server.admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test", name)
	}
}

// TestNewTx runs parallel tests in transactions on the shared database:
// each sees only its own writes, and nothing stays behind.
func TestNewTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ok := t.Run("group", func(t *testing.T) {
		for i := range 4 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				tx := NewTx(t)
				code := fmt.Sprintf("tx%d", i)
				if _, err := tx.Exec(ctx, "INSERT INTO department (code, name, priority) VALUES ($1, $1, 1)", code); err != nil {
					t.Fatal(err)
				}
				var got []string
				rows, err := tx.Query(ctx, "SELECT code FROM department")
				if err == nil {
					got, err = pgx.CollectRows(rows, pgx.RowTo[string])
				}
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]string{code}, got); diff != "" {
					t.Errorf("departments mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})
	if !ok {
		return
	}
	var n int
	if err := server.shared.QueryRow(ctx, "SELECT count(*) FROM department").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d departments left in the shared database after the tests", n)
	}
}

func TestNewEmpty(t *testing.T) {
	t.Parallel()
	applied, err := database.Applied(context.Background(), NewEmpty(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Errorf("empty database has migrations %v", applied)
	}
}

func TestTemplateName(t *testing.T) {
	t.Parallel()
	migs := []database.Migration{{Version: 1, Name: "a", SQL: "CREATE TABLE a ()"}}
	name := templateName(migs)
	if len(name) > 63 {
		t.Errorf("template name %q longer than 63 bytes", name)
	}
	if again := templateName(migs); again != name {
		t.Errorf("templateName not stable: %q, then %q", name, again)
	}
	changed := []database.Migration{{Version: 1, Name: "a", SQL: "CREATE TABLE a (x int)"}}
	if other := templateName(changed); other == name {
		t.Errorf("templateName ignores the SQL: %q for both", name)
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"postgres://u:p@localhost:5432/app?sslmode=disable", "postgres://u:p@localhost:5432/test_x?sslmode=disable"},
		{"postgresql://localhost", "postgresql://localhost/test_x"},
		{"host=/run/pg dbname=app", "host=/run/pg dbname=app dbname=test_x"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.in, "test_x")
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("withDatabase(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
