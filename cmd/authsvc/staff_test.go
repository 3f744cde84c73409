package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/dbtest"
)

// TestStaffAddDisable: `authsvc staff add` prints the initial password
// and the TOTP secret once, stores the secret sealed and the password
// hashed; the schema refuses an empty or unknown role and a username
// taken in another case; `staff disable` disables and ends the sessions.
func TestStaffAddDisable(t *testing.T) {
	conn := dbtest.ConnString(t)
	t.Setenv("DATABASE_URL", conn)
	ctx := context.Background()
	dir := t.TempDir()
	db, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)

	if err := run(ctx, []string{"staff", "add", "--data-dir", dir, "--username", "admin", "--name", "管理员"}); err == nil {
		t.Error("staff add without a role succeeded")
	}
	if err := run(ctx, []string{"staff", "add", "--data-dir", dir, "--username", "admin", "--name", "管理员", "--role", "root"}); err == nil || !strings.Contains(err.Error(), "unknown role") {
		t.Errorf("staff add with an unknown role: %v, want the roles named", err)
	}
	var out bytes.Buffer
	if err := staffAdd(ctx, &out, []string{"--data-dir", dir, "--username", "Admin", "--name", "管理员", "--role", "yunwei", "--role", "shenji"}); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^staff \d+: Admin created\ninitial password: (\S+)\nTOTP secret: ([A-Z2-7]{32})\notpauth URI: (otpauth://totp/\S+)\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output %q", out.String())
	}
	password, secret, uri := m[1], m[2], m[3]
	if strings.Count(out.String(), secret) != 2 || !strings.Contains(uri, "secret="+secret) {
		t.Errorf("the secret is not printed once as itself and once in the URI: %q", out.String())
	}
	var hash string
	var sealed []byte
	var roles []string
	if err := db.QueryRow(ctx, `SELECT password_hash, totp_sealed, roles FROM staff WHERE username = 'Admin'`).Scan(&hash, &sealed, &roles); err != nil {
		t.Fatal(err)
	}
	k, err := keyring(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	opened, err := k.Open(sealed, []byte("staff_totp"))
	if err != nil {
		t.Fatalf("the secret is not sealed with the service's key: %v", err)
	}
	if bytes.Contains(sealed, opened) || strings.Contains(hash, password) || !strings.HasPrefix(hash, "$argon2id$") {
		t.Error("the secret or the password is stored in the clear")
	}
	if strings.Join(roles, ",") != "yunwei,shenji" {
		t.Errorf("roles %v", roles)
	}
	if n := countRows(t, db, `SELECT count(*) FROM auth_audit WHERE event = 'staff_add' AND strpos(detail, $1) = 0 AND strpos(detail, 'staff=Admin') > 0`, password); n != 1 {
		t.Errorf("%d staff_add audit rows naming Admin without the password, want 1", n)
	}

	// The schema: a username taken in another case, no role, an unknown one.
	if err := staffAdd(ctx, &out, []string{"--data-dir", dir, "--username", "admin", "--name", "x", "--role", "kefu"}); err == nil {
		t.Error("a username taken in another case was taken again")
	}
	for _, r := range []string{`'{}'`, `'{root}'`, `'{kefu,NULL}'`} {
		_, err := db.Exec(ctx, `INSERT INTO staff (username, name, password_hash, totp_sealed, roles, created_at, created_by) VALUES ('u1', 'x', 'x', '\x00', `+r+`, now(), 'x')`)
		if err == nil {
			t.Errorf("roles %s accepted", r)
		}
	}

	// The owner's roles and reset: any role, any member (the console's
	// stop at 客服).
	out.Reset()
	if err := staffRoles(ctx, &out, []string{"--data-dir", dir, "--username", "admin", "--role", "shenhe", "--role", "kefu"}); err != nil {
		t.Fatal(err)
	}
	// 审核 is new to the member: new credentials (whoever knew the old
	// ones must not approve through them).
	if n := countRows(t, db, `SELECT count(*) FROM staff WHERE username = 'Admin' AND roles = '{shenhe,kefu}' AND password_hash <> $1`, hash); n != 1 ||
		!strings.HasPrefix(out.String(), "staff admin: roles shenhe,kefu\na role beyond 客服 was given: new credentials, its sessions ended\nnew password: ") {
		t.Errorf("roles: %d rows, output %q", n, out.String())
	}
	var promoted string
	if err := db.QueryRow(ctx, `SELECT password_hash FROM staff WHERE username = 'Admin'`).Scan(&promoted); err != nil {
		t.Fatal(err)
	}
	// Taking a role away keeps the credentials.
	out.Reset()
	if err := staffRoles(ctx, &out, []string{"--data-dir", dir, "--username", "admin", "--role", "shenhe"}); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM staff WHERE username = 'Admin' AND roles = '{shenhe}' AND password_hash = $1`, promoted); n != 1 || out.String() != "staff admin: roles shenhe\n" {
		t.Errorf("roles taken away: %d rows, output %q", n, out.String())
	}
	if err := run(ctx, []string{"staff", "roles", "--data-dir", dir, "--username", "admin", "--role", "root"}); err == nil {
		t.Error("roles with an unknown role succeeded")
	}
	if _, err := db.Exec(ctx, `INSERT INTO staff_session (id_hash, staff_id, created_at, last_seen_at, expires_at) SELECT '\x02', id, now(), now(), now() + interval '1 hour' FROM staff`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := staffReset(ctx, &out, []string{"--data-dir", dir, "--username", "ADMIN"}); err != nil {
		t.Fatal(err)
	}
	m = regexp.MustCompile(`^staff ADMIN: credentials reset, its sessions ended\nnew password: (\S+)\nTOTP secret: ([A-Z2-7]{32})\n`).FindStringSubmatch(out.String())
	if m == nil || m[1] == password || m[2] == secret {
		t.Fatalf("reset output %q", out.String())
	}
	var newHash string
	if err := db.QueryRow(ctx, `SELECT password_hash FROM staff WHERE username = 'Admin'`).Scan(&newHash); err != nil || newHash == hash || strings.Contains(newHash, m[1]) {
		t.Errorf("the password hash after a reset: %v", err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM staff_session WHERE id_hash = '\x02' AND revoked_at IS NOT NULL`); n != 1 {
		t.Error("a reset left the member's session")
	}
	if n := countRows(t, db, `SELECT count(*) FROM auth_audit WHERE event IN ('staff_roles', 'staff_reset') AND strpos(detail, $1) = 0`, m[1]); n != 3 {
		t.Errorf("%d roles and reset audit rows without the password, want 3", n)
	}
	if err := run(ctx, []string{"staff", "reset", "--data-dir", dir, "--username", "nobody"}); err == nil {
		t.Error("reset of an unknown username succeeded")
	}

	if _, err := db.Exec(ctx, `INSERT INTO staff_session (id_hash, staff_id, created_at, last_seen_at, expires_at) SELECT '\x01', id, now(), now(), now() + interval '1 hour' FROM staff`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := staffDisable(ctx, &out, []string{"--data-dir", dir, "--username", "ADMIN"}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "staff ADMIN: disabled, its sessions ended\n" {
		t.Errorf("output %q", out.String())
	}
	if n := countRows(t, db, `SELECT count(*) FROM staff s JOIN staff_session ss ON ss.staff_id = s.id WHERE s.status = 'disabled' AND ss.revoked_at IS NOT NULL AND ss.id_hash = '\x01'`); n != 1 {
		t.Errorf("after disable: %d disabled with a revoked session, want 1", n)
	}
	if err := run(ctx, []string{"staff", "disable", "--data-dir", dir, "--username", "nobody"}); err == nil {
		t.Error("disable of an unknown username succeeded")
	}
}

func countRows(t *testing.T, db *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
