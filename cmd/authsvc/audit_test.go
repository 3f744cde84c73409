package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/authsvc"
	"github.com/idfusion/idfusion/internal/dbtest"
)

// TestAuditVerify: authsvc audit verify reports an intact chain with its
// count, and the first row of a chain broken by the owner.
func TestAuditVerify(t *testing.T) {
	conn := dbtest.ConnString(t)
	t.Setenv("DATABASE_URL", conn)
	ctx := context.Background()
	db, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for _, ev := range []string{"login_sms", "login_password", "logout"} {
		if _, err := db.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome) VALUES (now(), $1, 'ok')`, ev); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	var out bytes.Buffer
	if err := auditVerify(ctx, &out, []string{"--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^audit chain OK: 3 rows, last row 3, head sha256 [0-9a-f]{64}\n$`).MatchString(out.String()) {
		t.Errorf("output %q", out.String())
	}
	if _, err := db.Exec(ctx, `ALTER TABLE auth_audit DISABLE TRIGGER auth_audit_append_only;
		UPDATE auth_audit SET outcome = 'fail' WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"audit", "verify", "--data-dir", dir})
	var broken *authsvc.AuditChainError
	if !errors.As(err, &broken) || broken.ID != 2 {
		t.Errorf("verify after a rewrite: %v, want broken at row 2", err)
	}
}

// TestServeAsRole: with --db-role the service serves as the role (its
// connections' SET ROLE is internal/database's TestOpenDefaultRole).
func TestServeAsRole(t *testing.T) {
	addr, cancel, done := startService(t, "--db-role", "idfusion_authsvc")
	defer cancel()
	resp, err := http.Get("http://" + addr + "/login")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login page: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
