package authsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/dbtest"
)

// Group roles of migration 012.
const (
	roleAuthsvc = "idfusion_authsvc"
	roleImport  = "idfusion_import"
)

// memberPool is a pool on pool's database for a login user that is a
// member of group and nothing else: a deployment's service user.
func memberPool(t testing.TB, pool *pgxpool.Pool, group string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), dbtest.MemberConnString(t, pool.Config().ConnString(), group))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// insertAudit appends n audit rows as pool's user, one statement each,
// the way the service does.
func insertAudit(t testing.TB, pool *pgxpool.Pool, n int, detail string) {
	t.Helper()
	for i := range n {
		var acc *int64
		if i%2 == 1 {
			v := int64(i)
			acc = &v
		}
		if _, err := pool.Exec(context.Background(), `INSERT INTO auth_audit (at, event, outcome, account_id, subject, ip, detail)
			VALUES ($1, 'login_password', 'fail', $2, '4*****4', '192.0.2.1', $3)`,
			time.Date(2026, 11, 27, 10, 0, i, 1000, time.UTC), acc, detail); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoginAsServiceUser: a fused citizen's whole first login (SMS code,
// the three steps, the rotated session, a password login) and a business
// system's sign-in and userinfo, with the service connected as a member of
// idfusion_authsvc (as setup connects it for every test): its grants
// suffice. Its audit rows form a valid chain.
func TestLoginAsServiceUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var user string
	if err := b.svc.pool.QueryRow(context.Background(), `SELECT current_user`).Scan(&user); err != nil || user != roleAuthsvc+"_test" {
		t.Fatalf("the service connects as %q (%v), want the member user %s_test", user, err, roleAuthsvc)
	}
	b.syncClock()
	c := b.fused(t, "张三", "13912349071")
	br := b.browser(t)
	if r := br.smsLogin(c); r.Status != http.StatusOK || r.str("next_step") != "info" {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	br.completeTo(c, "")
	if me := br.get("/api/v1/me"); me.Status != http.StatusOK || me.str("status") != "active" {
		t.Fatalf("me: %d %s", me.Status, me.Raw)
	}
	if r := b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": c.IDNumber, "password": "wrong-Pass#1"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d %s", r.Status, r.Raw)
	}
	if r := b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": c.IDNumber, "password": "K9#vTq2!mZ"}); r.Status != http.StatusOK {
		t.Fatalf("password login: %d %s", r.Status, r.Raw)
	}
	rp := b.rp(t, Client{ID: "portal", Scopes: []string{"profile"}})
	other := b.active(t, "王小明", "13912349073", "Xy7#pQ2!wL")
	tok, _ := rp.signedIn(b.browser(t), other)
	if claims, err := rp.userinfo(tok); err != nil || claims["name"] != other.Name {
		t.Fatalf("userinfo: %v %v", claims, err)
	}
	chain, err := VerifyAuditChain(context.Background(), b.pool)
	if err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*)::int FROM auth_audit`); chain.Checked != n || n < 6 {
		t.Errorf("verified %d rows of %d", chain.Checked, n)
	}
}

// TestAuditShardKey: every audit row carries its shard key
// (docs/scale-out.md §3.1): an account's row the account's blind index,
// whether the writer held the account (a login) or only its id (a
// logout); a refusal of an unknown ID number that number's blind index;
// a row of neither the zero key.
func TestAuditShardKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	c := b.active(t, "张三", "13912349071", goodPassword)
	br := b.browser(t)
	if r := br.passwordLogin(c, "wrong-Pass#1"); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d %s", r.Status, r.Raw)
	}
	unknown := residentID("19700101")
	if r := b.browser(t).post("/api/v1/login/password", map[string]string{"id_number": unknown, "password": goodPassword}); r.Status != http.StatusUnauthorized {
		t.Fatalf("unknown ID number: %d %s", r.Status, r.Raw)
	}
	if r := br.passwordLogin(c, goodPassword); r.Status != http.StatusOK {
		t.Fatalf("password login: %d %s", r.Status, r.Raw)
	}
	if r := br.post("/api/v1/logout", nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Raw)
	}
	var own, wrong int
	if err := b.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE u.account_bidx = a.id_bidx), count(*) FILTER (WHERE u.account_bidx <> a.id_bidx)
		FROM auth_audit u JOIN account a ON a.id = u.account_id`).Scan(&own, &wrong); err != nil {
		t.Fatal(err)
	}
	if own < 3 || wrong != 0 {
		t.Errorf("account rows: %d with the account's key, %d with another", own, wrong)
	}
	for event, want := range map[string][]byte{"logout": b.svc.idIndex(c.IDNumber), "login_password": b.svc.idIndex(unknown)} {
		var got []byte
		if err := b.pool.QueryRow(context.Background(), `SELECT account_bidx FROM auth_audit WHERE event = $1 ORDER BY id DESC LIMIT 1`, event).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if event == "login_password" {
			// the last password row is the success; the unknown ID's is the one without an account
			if err := b.pool.QueryRow(context.Background(), `SELECT account_bidx FROM auth_audit WHERE event = $1 AND account_id IS NULL`, event).Scan(&got); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: key %x, want %x", event, got, want)
		}
	}
	if _, err := b.pool.Exec(context.Background(), `INSERT INTO auth_audit (at, event, outcome) VALUES (now(), 'x', 'ok')`); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*)::int FROM auth_audit WHERE account_id IS NULL AND account_bidx = '\x`+zeroKeyHex+`'::bytea`); n != 1 {
		t.Errorf("%d rows of the zero key, want the one of no account and no identifier", n)
	}
	if _, err := VerifyAuditChain(context.Background(), b.pool); err != nil {
		t.Fatal(err)
	}
}

// pgCode is the SQLSTATE of err, or "" for none.
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

const insufficientPrivilege = "42501"

// TestRoleGrants: each role may do what its statements need and is
// refused (42501) what is none of its business. Each statement runs in a
// transaction of its own, rolled back.
func TestRoleGrants(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "李四", "13912349072", "Xy7#pQ2!wL")
	ctx := context.Background()
	if _, err := b.pool.Exec(ctx, `INSERT INTO auth_session (id_hash, account_id, kind, created_at, last_seen_at, expires_at)
		VALUES ('\x01', $1, 'full', now(), now(), now())`, c.id); err != nil {
		t.Fatal(err)
	}
	b.addStaff(t, "g.kefu", "客服", "kefu")
	b.addStaff(t, "g.shenhe", "审核", "shenhe", "kefu")
	if _, err := b.pool.Exec(ctx, `UPDATE staff SET status = 'disabled' WHERE username = 'g.shenhe'`); err != nil {
		t.Fatal(err)
	}
	pools := map[string]*pgxpool.Pool{roleAuthsvc: memberPool(t, b.pool, roleAuthsvc), roleImport: memberPool(t, b.pool, roleImport)}
	for _, tc := range []struct {
		role, sql string
		want      string // SQLSTATE, "" for success
	}{
		{roleAuthsvc, `INSERT INTO auth_audit (at, event, outcome) VALUES (now(), 'login_sms', 'ok')`, ""},
		{roleAuthsvc, `UPDATE auth_audit SET detail = 'x'`, insufficientPrivilege},
		{roleAuthsvc, `DELETE FROM auth_audit`, insufficientPrivilege},
		{roleAuthsvc, `TRUNCATE auth_audit`, insufficientPrivilege},
		// The login records (020) read these columns of the audit, not
		// the masked subjects and details.
		{roleAuthsvc, `SELECT count(*) FROM auth_audit`, ""},
		{roleAuthsvc, `SELECT subject, detail FROM auth_audit`, ""}, // 043: 审计's search in the console
		{roleAuthsvc, `SELECT id, hash FROM auth_audit_head`, ""},   // 043: the console's chain check
		{roleAuthsvc, `UPDATE auth_audit_head SET id = 0`, insufficientPrivilege},
		{roleAuthsvc, `SELECT count(*) FROM auth_session`, ""},
		{roleAuthsvc, `UPDATE account SET failed_attempts = 1`, ""},
		// A registration inserts its columns (018), never a password or a
		// department's values.
		{roleAuthsvc, `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, status, origin) VALUES ('\x02', '\x00', 'x', 'resident', 'x', 'active', 'registered')`, ""},
		{roleAuthsvc, `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, status, origin, password_hash) VALUES ('\x03', '\x00', 'x', 'resident', 'x', 'active', 'registered', 'h')`, insufficientPrivilege},
		{roleAuthsvc, `DELETE FROM account`, insufficientPrivilege},
		{roleAuthsvc, `DELETE FROM auth_session`, insufficientPrivilege},
		{roleAuthsvc, `SELECT value FROM import_reject`, insufficientPrivilege},
		{roleAuthsvc, `SELECT source_key FROM account_lineage`, insufficientPrivilege},
		// 039: the console's account page reads the lineage's keys and
		// rows, not the rest.
		{roleAuthsvc, `SELECT account_bidx, file_id, row_num FROM account_lineage`, ""},
		{roleAuthsvc, `SELECT source_key, priority FROM account_lineage`, insufficientPrivilege},
		// 042: four eyes resolves a conflict, never rewrites its
		// candidates; a proposal is decided, never rewritten or removed.
		{roleAuthsvc, `UPDATE merge_conflict SET candidates = '[]'`, insufficientPrivilege},
		{roleAuthsvc, `UPDATE staff_proposal SET phone_sealed = NULL`, insufficientPrivilege},
		{roleAuthsvc, `UPDATE staff_proposal SET status = 'superseded' WHERE false`, ""},
		{roleAuthsvc, `DELETE FROM staff_proposal`, insufficientPrivilege},
		{roleAuthsvc, `INSERT INTO import_run (started_at, ledger) VALUES (now(), '{}')`, insufficientPrivilege},
		{roleAuthsvc, `UPDATE oidc_client SET redirect_uris = '{}'`, insufficientPrivilege},
		{roleAuthsvc, `SELECT reserve_account_ids(1)`, insufficientPrivilege},
		{roleAuthsvc, `CREATE TABLE mine (i int)`, insufficientPrivilege},
		// 024: the login service keeps legal registrations and schedules
		// their real-name checks; the importer does neither.
		{roleAuthsvc, `SELECT count(*) FROM legal_registration_flow`, ""},
		{roleAuthsvc, `UPDATE account SET realname_attempts = realname_attempts WHERE kind = 'legal'`, ""},
		{roleImport, `SELECT count(*) FROM legal_registration_flow`, insufficientPrivilege},
		{roleImport, `UPDATE account SET realname_next_check_at = now()`, insufficientPrivilege},
		{roleImport, `UPDATE account SET realname_status = 'verified'`, insufficientPrivilege},
		{roleImport, `UPDATE auth_session SET stale_at = now()`, insufficientPrivilege},

		// 027: the legal account's searches are counted and the inbox
		// written by the login service only; the importer purges the
		// searches and reads nothing else of them.
		{roleAuthsvc, `INSERT INTO agent_search_try (legal_account_id, legal_account_bidx, at) SELECT id, id_bidx, now() FROM account LIMIT 1`, ""},
		{roleAuthsvc, `DELETE FROM agent_search_try`, insufficientPrivilege},
		{roleAuthsvc, `INSERT INTO inbox_message (account_id, account_bidx, body, created_at) SELECT id, id_bidx, 'x', now() FROM account LIMIT 1`, ""},
		{roleAuthsvc, `UPDATE inbox_message SET read_at = now()`, ""},
		{roleAuthsvc, `DELETE FROM inbox_message`, insufficientPrivilege},
		{roleImport, `DELETE FROM agent_search_try WHERE at < now()`, ""},
		{roleImport, `SELECT legal_account_id FROM agent_search_try`, insufficientPrivilege},
		{roleImport, `SELECT body FROM inbox_message`, insufficientPrivilege},

		// 033: the subjects' lookup table is the login service's alone,
		// never updated (a subject is linked or unlinked).
		{roleAuthsvc, `INSERT INTO upstream_subject (subject_hash, provider, account_bidx, account_id) VALUES ('\x01', 'gov', '\x01', 1)`, ""},
		{roleAuthsvc, `DELETE FROM upstream_subject`, ""},
		{roleAuthsvc, `UPDATE upstream_subject SET account_id = 2`, insufficientPrivilege},
		{roleImport, `SELECT account_id FROM upstream_subject`, insufficientPrivilege},
		{roleAuthsvc, `INSERT INTO agent_link (link_hash, legal_account_bidx, authorization_id) VALUES ('\x01', '\x01', 1)`, ""},
		{roleAuthsvc, `DELETE FROM agent_link`, ""},
		{roleAuthsvc, `UPDATE agent_link SET authorization_id = 2`, insufficientPrivilege},
		{roleImport, `SELECT authorization_id FROM agent_link`, insufficientPrivilege},
		{roleImport, `INSERT INTO auth_session (id_hash, kind, created_at, last_seen_at, expires_at) VALUES ('\x02', 'anonymous', now(), now(), now())`, insufficientPrivilege},
		{roleImport, `UPDATE auth_session SET revoked_at = now()`, insufficientPrivilege},
		{roleImport, `SELECT id_hash FROM auth_session`, insufficientPrivilege},
		{roleImport, `SELECT code_hash FROM sms_code`, insufficientPrivilege},
		{roleImport, `DELETE FROM auth_session WHERE expires_at < now() + interval '1 hour'`, ""}, // purge_auth
		{roleImport, `WITH h AS (DELETE FROM oidc_refresh_hash h USING oidc_token t WHERE h.hash = t.hash AND t.expires_at < now())
			DELETE FROM oidc_token WHERE expires_at < now()`, ""}, // purge_auth
		{roleImport, `SELECT token_id FROM oidc_refresh_hash`, insufficientPrivilege},
		{roleImport, `WITH c AS (DELETE FROM oidc_auth_code c USING oidc_auth_request r WHERE c.request_id = r.id AND r.created_at < now())
			DELETE FROM oidc_auth_request WHERE created_at < now()`, ""}, // purge_auth
		{roleImport, `SELECT code_hash FROM oidc_auth_code`, insufficientPrivilege},
		{roleAuthsvc, `DELETE FROM oidc_auth_code`, insufficientPrivilege},
		{roleAuthsvc, `DELETE FROM oidc_refresh_hash`, insufficientPrivilege},
		{roleImport, `INSERT INTO auth_audit (at, event, outcome) VALUES (now(), 'login_sms', 'ok')`, insufficientPrivilege},
		{roleImport, `SELECT password_hash FROM account`, insufficientPrivilege},
		{roleImport, `UPDATE account SET password_hash = 'x'`, insufficientPrivilege},
		{roleImport, `UPDATE account SET status = 'active'`, insufficientPrivilege},
		{roleImport, `UPDATE account SET name = name, updated_at = now()`, ""},
		{roleImport, `SELECT count(*) FROM account a JOIN account_lineage l ON l.account_bidx = a.id_bidx`, ""},
		{roleImport, `SELECT reserve_account_ids(1)`, ""},
		{roleImport, `SELECT setval(pg_get_serial_sequence('account_lineage', 'id'), nextval(pg_get_serial_sequence('account_lineage', 'id')) + 9)`, ""},
		{roleImport, `ALTER SEQUENCE account_id_seq INCREMENT BY 1`, insufficientPrivilege},
		{roleImport, `INSERT INTO oidc_client (id, redirect_uris, allowed_scopes) VALUES ('x', '{}', '{}')`, insufficientPrivilege},
		{roleImport, `CREATE TEMP TABLE stage_key (bidx bytea)`, ""},

		// 034: the usernames' lookup tables. The login service writes
		// them with the account or the registration; an account's
		// username is never given up. The importer only removes the
		// claims of registrations gone with their session.
		{roleAuthsvc, `INSERT INTO account_username (username_lower, account_id, account_bidx) VALUES ('x', 1, '\x01')`, ""},
		{roleAuthsvc, `DELETE FROM account_username`, insufficientPrivilege},
		{roleAuthsvc, `UPDATE account_username SET account_id = 2`, insufficientPrivilege},
		{roleAuthsvc, `DELETE FROM registration_username`, ""},
		{roleImport, `DELETE FROM registration_username u WHERE NOT EXISTS (SELECT 1 FROM registration_flow f WHERE f.session_hash = u.session_hash)`, ""},
		{roleImport, `SELECT username_lower FROM registration_username`, insufficientPrivilege},
		{roleImport, `SELECT username FROM registration_flow`, insufficientPrivilege},
		{roleImport, `SELECT count(*) FROM account_username`, insufficientPrivilege},

		// 037: staff members are the owner's to create, disable and give
		// roles (the CLI); the login service keeps their counts, locks and
		// last TOTP steps, and their sessions. The importer sees none.
		{roleAuthsvc, `SELECT username, password_hash, totp_sealed, roles FROM staff`, ""},
		{roleAuthsvc, `UPDATE staff SET failed_attempts = 1, locked_until = now(), totp_last_step = 1`, ""},
		// 043: 运维 manages the staff from the console: adds them, sets
		// their roles and status, resets their credentials.
		// 044: the service makes and resets 客服 only, and gives no role
		// beyond 客服 a member does not hold; it may take roles away.
		{roleAuthsvc, `UPDATE staff SET roles = '{kefu}' WHERE username = 'g.kefu'`, ""},
		{roleAuthsvc, `UPDATE staff SET roles = '{kefu,yunwei}' WHERE username = 'g.kefu'`, insufficientPrivilege},
		{roleAuthsvc, `UPDATE staff SET roles = '{kefu}' WHERE username = 'g.shenhe'`, ""},
		{roleAuthsvc, `UPDATE staff SET roles = '{shenji}' WHERE username = 'g.shenhe'`, insufficientPrivilege},
		{roleAuthsvc, `UPDATE staff SET status = 'active' WHERE username = 'g.kefu'`, ""},
		{roleAuthsvc, `UPDATE staff SET status = 'disabled'`, ""},
		{roleAuthsvc, `UPDATE staff SET status = 'active' WHERE username = 'g.shenhe'`, insufficientPrivilege}, // disabled by the owner below
		{roleAuthsvc, `UPDATE staff SET password_hash = 'x', totp_sealed = '\x00' WHERE username = 'g.kefu'`, ""},
		{roleAuthsvc, `UPDATE staff SET password_hash = 'x' WHERE username = 'g.shenhe'`, insufficientPrivilege},
		{roleAuthsvc, `UPDATE staff SET totp_sealed = '\x00' WHERE username = 'g.shenhe'`, insufficientPrivilege},
		{roleAuthsvc, `INSERT INTO staff (username, name, password_hash, totp_sealed, roles, created_at, created_by) VALUES ('xy', 'x', 'x', '\x00', '{kefu}', now(), 'x')`, ""},
		{roleAuthsvc, `INSERT INTO staff (username, name, password_hash, totp_sealed, roles, created_at, created_by) VALUES ('xy', 'x', 'x', '\x00', '{kefu,yunwei}', now(), 'x')`, insufficientPrivilege},
		{roleAuthsvc, `UPDATE staff SET created_by = 'x', username = 'yz'`, insufficientPrivilege},
		{roleAuthsvc, `DELETE FROM staff`, insufficientPrivilege},
		{roleAuthsvc, `SELECT count(*) FROM staff_session`, ""},
		{roleAuthsvc, `UPDATE staff_session SET revoked_at = now()`, ""},
		{roleAuthsvc, `DELETE FROM staff_session`, insufficientPrivilege},
		{roleImport, `SELECT count(*) FROM staff`, insufficientPrivilege},
		{roleImport, `SELECT staff_id FROM staff_session`, insufficientPrivilege},
		{roleImport, `DELETE FROM staff_session WHERE expires_at < now()`, ""},

		// 041: the console's operations views read the runs' counts (as
		// internal/report does) and register, rotate and disable clients,
		// never delete one.
		{roleAuthsvc, `SELECT count(*) FROM import_run`, ""},
		{roleAuthsvc, `SELECT rows_read, warnings FROM import_file`, ""},
		{roleAuthsvc, `INSERT INTO oidc_client (id, redirect_uris, allowed_scopes) VALUES ('x', '{}', '{}')`, ""},
		{roleAuthsvc, `UPDATE oidc_client SET secret_hash = NULL, disabled_at = now()`, ""},
		{roleAuthsvc, `DELETE FROM oidc_client`, insufficientPrivilege},
	} {
		err := pgx.BeginFunc(ctx, pools[tc.role], func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, tc.sql)
			if err == nil {
				err = errRollback
			}
			return err
		})
		if errors.Is(err, errRollback) {
			err = nil
		}
		if got := pgCode(err); got != tc.want {
			t.Errorf("%s: %s: got %q, want %q", tc.role, tc.sql, got, tc.want)
		}
	}
	// fusion schedule's purge_auth, as the importer.
	if _, err := Purge(ctx, pools[roleImport], b.clock.Now().Add(48*time.Hour)); err != nil {
		t.Errorf("purge as the importer: %v", err)
	}
}

var errRollback = errors.New("rollback")

// TestAuditAppendOnly: the owner too is refused UPDATE, DELETE and
// TRUNCATE of the audit log, and cannot delete its head.
func TestAuditAppendOnly(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	insertAudit(t, pool, 3, "")
	for _, sql := range []string{
		`UPDATE auth_audit SET detail = 'x' WHERE id = 2`,
		`UPDATE auth_audit SET detail = 'x' WHERE false`,
		`DELETE FROM auth_audit WHERE id = 3`,
		`TRUNCATE auth_audit`,
		`DELETE FROM auth_audit_head`,
	} {
		if _, err := pool.Exec(context.Background(), sql); pgCode(err) != insufficientPrivilege {
			t.Errorf("%s as the owner: %v, want refused", sql, err)
		}
	}
	if chain, err := VerifyAuditChain(context.Background(), pool); err != nil || chain.Checked != 3 || chain.LastID != 3 {
		t.Errorf("chain after the refusals: %+v %v", chain, err)
	}
}

// TestAuditTamper: a change made by someone who can bypass the triggers
// (the owner disabling them) breaks the chain at the row it touched.
func TestAuditTamper(t *testing.T) {
	t.Parallel()
	const unlock = `ALTER TABLE auth_audit DISABLE TRIGGER auth_audit_append_only; `
	for _, tc := range []struct {
		name   string
		sql    string
		wantID int64
	}{
		{"detail changed", unlock + `UPDATE auth_audit SET detail = 'ok' WHERE id = 3`, 3},
		{"time changed", unlock + `UPDATE auth_audit SET at = at + interval '1 microsecond' WHERE id = 2`, 2},
		{"account set", unlock + `UPDATE auth_audit SET account_id = 7 WHERE id = 1`, 1},
		{"account cleared", unlock + `UPDATE auth_audit SET account_id = NULL WHERE id = 4`, 4},
		{"id changed", unlock + `UPDATE auth_audit SET id = 6 WHERE id = 5`, 6},
		{"row changed and rehashed", unlock + `UPDATE auth_audit SET detail = 'ok',
			hash = sha256(prev_hash || auth_audit_content(id, at, event, outcome, account_id, subject, ip, 'ok')) WHERE id = 3`, 4},
		{"row removed", unlock + `DELETE FROM auth_audit WHERE id = 3`, 4},
		{"last row removed", unlock + `DELETE FROM auth_audit WHERE id = 5`, 5},
		{"row added past the head", `ALTER TABLE auth_audit DISABLE TRIGGER auth_audit_chain;
			INSERT INTO auth_audit (id, at, event, outcome, prev_hash, hash) SELECT 6, now(), 'x', 'ok', hash, hash FROM auth_audit_head`, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := dbtest.New(t)
			insertAudit(t, pool, 5, "fail")
			if _, err := VerifyAuditChain(context.Background(), pool); err != nil {
				t.Fatalf("before: %v", err)
			}
			if _, err := pool.Exec(context.Background(), tc.sql); err != nil {
				t.Fatal(err)
			}
			_, err := VerifyAuditChain(context.Background(), pool)
			var broken *AuditChainError
			if !errors.As(err, &broken) || broken.ID != tc.wantID {
				t.Fatalf("verify: %v, want broken at row %d", err, tc.wantID)
			}
		})
	}
}

// TestAuditConcurrentInserts: inserts from many connections at once, some
// rolled back, form one chain without gaps, in id order.
func TestAuditConcurrentInserts(t *testing.T) {
	t.Parallel()
	owner := dbtest.New(t)
	pool := memberPool(t, owner, roleAuthsvc)
	ctx := context.Background()
	const workers, each = 8, 30
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				// Every third insert rolls back: its id must not be lost.
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome, subject) VALUES (now(), 'login_sms', 'ok', $1)`, fmt.Sprint(w*100+i)); err != nil {
						return err
					}
					if i%3 == 2 {
						return errRollback
					}
					return nil
				})
				if err != nil && !errors.Is(err, errRollback) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	chain, err := VerifyAuditChain(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	want := AuditChain{Checked: workers * each * 2 / 3, LastID: workers * each * 2 / 3}
	if diff := cmp.Diff(want, AuditChain{Checked: chain.Checked, LastID: chain.LastID}); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}
}

// TestAuditChainMigrated: rows written before migration 012 are chained
// in id order, gaps in their ids included, and new rows continue the
// chain.
func TestAuditChainMigrated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewBefore(t, 12)
	insertAudit(t, pool, 4, "old")
	if _, err := pool.Exec(ctx, `DELETE FROM auth_audit WHERE id = 2`); err != nil { // a gap
		t.Fatal(err)
	}
	if err := database.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	if chain, err := VerifyAuditChain(ctx, pool); err != nil || chain.Checked != 3 || chain.LastID != 4 {
		t.Fatalf("migrated chain: %+v %v", chain, err)
	}
	insertAudit(t, pool, 2, "new")
	chain, err := VerifyAuditChain(ctx, pool)
	if err != nil || chain.Checked != 5 || chain.LastID != 6 {
		t.Fatalf("continued chain: %+v %v", chain, err)
	}
	// The chain's first row follows 32 zero bytes.
	var prev []byte
	if err := pool.QueryRow(ctx, `SELECT prev_hash FROM auth_audit WHERE id = 1`).Scan(&prev); err != nil || string(prev) != string(make([]byte, 32)) {
		t.Errorf("first prev_hash %x %v", prev, err)
	}
}
