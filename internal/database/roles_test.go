package database_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/dbtest"
)

// TestRolePrivileges: what the roles of migrations 012 and 013 may do,
// table by table (column grants as PRIVILEGE(columns)), and which
// functions they may call. Every table and function of the schema is
// listed, so one added later without a decision about the roles fails
// here.
func TestRolePrivileges(t *testing.T) {
	t.Parallel()
	tx := dbtest.NewTx(t)
	ctx := context.Background()
	rows, err := tx.Query(ctx, `
		WITH roles AS (SELECT oid, rolname FROM pg_roles WHERE rolname IN ('idfusion_authsvc', 'idfusion_import')),
		rel AS (SELECT oid, relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'S')),
		tbl AS (
			SELECT rel.relname, r.rolname, a.privilege_type AS priv
			FROM rel JOIN pg_class c ON c.oid = rel.oid CROSS JOIN LATERAL aclexplode(c.relacl) a JOIN roles r ON r.oid = a.grantee),
		col AS (
			SELECT rel.relname, r.rolname, a.privilege_type || '(' || string_agg(att.attname, ',' ORDER BY att.attnum) || ')' AS priv
			FROM rel JOIN pg_attribute att ON att.attrelid = rel.oid CROSS JOIN LATERAL aclexplode(att.attacl) a JOIN roles r ON r.oid = a.grantee
			GROUP BY rel.relname, r.rolname, a.privilege_type),
		fn AS (
			SELECT p.proname || '()' AS relname, r.rolname, 'EXECUTE' AS priv
			FROM pg_proc p CROSS JOIN roles r
			WHERE p.pronamespace = current_schema()::regnamespace AND has_function_privilege(r.oid, p.oid, 'EXECUTE'))
		SELECT rel.relname, '', '' FROM rel
		UNION ALL SELECT p.proname || '()', '', '' FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace
		UNION ALL SELECT * FROM tbl UNION ALL SELECT * FROM col UNION ALL SELECT * FROM fn`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string][]string{}
	for rows.Next() {
		var obj, role, priv string
		if err := rows.Scan(&obj, &role, &priv); err != nil {
			t.Fatal(err)
		}
		if got[obj] == nil {
			got[obj] = map[string][]string{}
		}
		if role != "" {
			got[obj][strings.TrimPrefix(role, "idfusion_")] = append(got[obj][strings.TrimPrefix(role, "idfusion_")], priv)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	flat := map[string]string{}
	for obj, byRole := range got {
		var parts []string
		for _, role := range []string{"authsvc", "import"} {
			if privs := byRole[role]; len(privs) > 0 {
				slices.Sort(privs)
				parts = append(parts, role+": "+strings.Join(privs, " "))
			}
		}
		flat[obj] = strings.Join(parts, "; ")
	}
	const (
		purge           = "import: DELETE"
		accountImport   = "import: INSERT(id,id_bidx,id_sealed,id_hint,id_type,name,gender,birth_date,phone_sealed,phone_bidx,phone_hint,address,status,origin,required_steps,name_source,phone_source,address_source,created_run,updated_run,kind,legal_type,rep_name,rep_id_type,rep_id_sealed,rep_id_bidx,rep_id_hint,rep_nationality,rep_id_valid_from,rep_id_valid_to,contact_name,rep_source,contact_source,realname_status) SELECT(id,id_bidx,id_sealed,id_hint,id_type,name,gender,birth_date,phone_sealed,phone_bidx,phone_hint,phone_verified,address,status,origin,required_steps,name_source,phone_source,address_source,created_run,updated_run,created_at,updated_at,kind,legal_type,rep_name,rep_id_type,rep_id_sealed,rep_id_bidx,rep_id_hint,rep_nationality,rep_id_valid_from,rep_id_valid_to,contact_name,rep_source,contact_source,realname_status,name_pinned,rep_pinned) UPDATE(name,phone_sealed,phone_bidx,phone_hint,address,name_source,phone_source,address_source,updated_run,updated_at,rep_name,rep_id_type,rep_id_sealed,rep_id_bidx,rep_id_hint,rep_nationality,rep_id_valid_from,rep_id_valid_to,contact_name,rep_source,contact_source)"
		importReadWrite = "import: INSERT SELECT UPDATE"
		importAppend    = "import: INSERT SELECT"

		// 039: the console's account page reads the lineage, conflicts
		// and their files and departments, column by column.
		view039department = "authsvc: SELECT(code,name)"
		view039sourceFile = "authsvc: SELECT(id,dept,sha256)"
		view039importFile = "authsvc: SELECT(run_id,file_id,name,format)"
		view039lineage    = "authsvc: SELECT(id,run_id,file_id,row_num,account_bidx)"
		view039conflict   = "authsvc: SELECT(id,account_id,field,candidates,status,run_id,created_at,account_bidx,reps)" // 045: account_id, run_id; 046: reps
		authsvcOwn        = "authsvc: INSERT SELECT UPDATE"
		// 018: the login service creates registered accounts; 022: legal ones too.
		accountRegister = "INSERT(id_bidx,id_sealed,id_hint,id_type,name,phone_sealed,phone_bidx,phone_hint,phone_verified,address,status,origin,required_steps,username,realname_level,agreement_version,agreement_accepted_at,kind,legal_type,rep_name,rep_id_type,rep_id_sealed,rep_id_bidx,rep_id_hint,rep_nationality,rep_id_valid_from,rep_id_valid_to,contact_name,realname_status,realname_checked_at,realname_source,realname_next_check_at)"
	)
	want := map[string]string{
		"schema_migration":         "authsvc: SELECT; import: SELECT",
		"department":               view039department + "; " + importReadWrite,
		"import_run":               importReadWrite,
		"source_file":              view039sourceFile + "; " + importAppend,
		"import_file":              view039importFile + "; " + importAppend,
		"account":                  "authsvc: " + accountRegister + " SELECT UPDATE; " + accountImport,
		"account_lineage":          view039lineage + "; " + importAppend,
		"account_lineage_id_seq":   "import: UPDATE USAGE",
		"account_id_seq":           "authsvc: USAGE",
		"account_key":              "authsvc: INSERT SELECT; import: INSERT SELECT",
		"import_reject":            "import: INSERT SELECT UPDATE(source_key,value)",
		"merge_conflict":           view039conflict + " UPDATE(status,resolved_by,resolved_at,resolved_value); " + importAppend, // 042: four eyes resolves
		"merge_conflict_id_seq":    "",
		"export_audit":             importReadWrite,
		"export_audit_id_seq":      "",
		"import_run_id_seq":        "",
		"source_file_id_seq":       "",
		"auth_session":             authsvcOwn + "; " + purge + " SELECT(expires_at)",
		"captcha":                  authsvcOwn + "; " + purge + " SELECT(expires_at)",
		"captcha_free_send":        authsvcOwn + "; " + purge + " SELECT(claimed_at)",
		"completion_flow":          "authsvc: DELETE INSERT SELECT UPDATE",
		"sms_code":                 authsvcOwn + "; " + purge + " SELECT(expires_at)",
		"sms_code_id_seq":          "",
		"sms_outbox":               "authsvc: INSERT SELECT; " + purge + " SELECT(created_at)",
		"sms_outbox_id_seq":        "",
		"face_challenge":           authsvcOwn + "; " + purge + " SELECT(expires_at)",
		"auth_audit":               "authsvc: INSERT SELECT(id,at,event,outcome,account_id,subject,ip,account_bidx)", // SELECT: 020, the login records; 039, the console's page and unmask bound
		"auth_audit_head":          "",
		"oidc_client":              "authsvc: SELECT",
		"oidc_consent":             "authsvc: DELETE INSERT SELECT UPDATE",
		"oidc_auth_request":        authsvcOwn + "; " + purge + " SELECT(id,created_at)",
		"oidc_token":               authsvcOwn + "; " + purge + " SELECT(hash,expires_at,auth_request_id)",
		"oidc_refresh_hash":        "authsvc: INSERT SELECT; " + purge + " SELECT(hash)",
		"oidc_auth_code":           "authsvc: INSERT SELECT; " + purge + " SELECT(request_id)",
		"oidc_signing_key":         authsvcOwn + "; " + purge + " SELECT(active_until,retire_after)",
		"purge_audit":              "import: INSERT SELECT UPDATE(files,folders)",
		"purge_audit_id_seq":       "",
		"reserve_account_ids()":    "import: EXECUTE",
		"auth_audit_content()":     "authsvc: EXECUTE; import: EXECUTE",
		"auth_audit_chain()":       "",
		"staff_privilege_guard()":  "", // 044
		"auth_audit_append_only()": "authsvc: EXECUTE; import: EXECUTE",

		// 014: single logout.
		"oidc_session_client":       authsvcOwn,
		"oidc_logout_outbox":        authsvcOwn + "; " + purge + " SELECT(delivered_at,failed_at)",
		"oidc_logout_outbox_id_seq": "",

		// 018: registration.
		"registration_flow":        "authsvc: DELETE INSERT SELECT UPDATE; import: SELECT(session_hash)", // 034: the purge of username claims
		"account_username_fixed()": "authsvc: EXECUTE; import: EXECUTE",

		// 019: forgot password, change of the bound phone.
		"recovery_flow":     "authsvc: DELETE INSERT SELECT UPDATE",
		"phone_change_flow": "authsvc: DELETE INSERT SELECT UPDATE",

		// 020: the personal center's addresses and login records.
		"account_address": "authsvc: DELETE INSERT SELECT UPDATE",
		// 026: agents' authorizations.
		"agent_authorization":        authsvcOwn,
		"agent_authorization_id_seq": "",
		// 027: 创建经办人's misses (purged as the others), the inbox.
		"agent_search_try":        "authsvc: INSERT SELECT; " + purge + " SELECT(at)",
		"agent_search_try_id_seq": "",
		"upstream_login":          "authsvc: DELETE INSERT SELECT UPDATE",
		"upstream_link":           "authsvc: DELETE INSERT SELECT UPDATE",
		"upstream_subject":        "authsvc: DELETE INSERT SELECT",
		"agent_link":              "authsvc: DELETE INSERT SELECT",
		"inbox_message":           authsvcOwn,
		"inbox_message_id_seq":    "",
		"account_address_id_seq":  "",

		// 024: legal registration.
		"legal_registration_flow": "authsvc: DELETE INSERT SELECT UPDATE",

		// 034: usernames in lookup tables (scale-out); the purge removes
		// the claims of registrations gone with their session.
		"account_username":      "authsvc: INSERT SELECT",
		"registration_username": "authsvc: DELETE INSERT SELECT; " + purge + " SELECT(session_hash)",

		// 037: staff accounts (created and disabled by the CLI as the
		// owner; the service keeps their counts, locks and last TOTP
		// steps) and their sessions.
		"staff":         "authsvc: SELECT UPDATE(totp_last_step,failed_attempts,locked_until)",
		"staff_id_seq":  "",
		"staff_session": "authsvc: INSERT SELECT UPDATE; " + purge + " SELECT(expires_at)",
		// 042: four eyes, 客服 proposes and 审核 decides.
		"staff_proposal":        "authsvc: INSERT SELECT UPDATE(status,decided_by,decided_at,decision_reason)",
		"staff_proposal_id_seq": "",
	}
	// 041: the console's operations views (运维) read the runs and their
	// files as internal/report does (counts only), the departments; and
	// register, rotate and disable clients.
	want["import_run"] = "authsvc: SELECT(id,started_at,finished_at,trigger,forced,ledger); " + importReadWrite
	want["import_file"] = "authsvc: SELECT(run_id,file_id,dept,sha256,name,format,encoding,rows_read,rows_accepted,rows_rejected,warnings); " + importAppend
	// account_lineage: 039's columns hold 041's (file_id).
	want["import_reject"] = "authsvc: SELECT(run_id,file_id); import: INSERT SELECT UPDATE(source_key,value)"
	want["department"] = "authsvc: SELECT(code,name); " + importReadWrite
	want["oidc_client"] = "authsvc: INSERT SELECT UPDATE(secret_hash,disabled_at)"
	// 043: the console's audit search, export and chain check (审计) read
	// the whole log and its head; its staff management (运维) adds staff
	// members, sets their roles and status, resets their credentials.
	want["auth_audit"] = "authsvc: INSERT SELECT(id,at,event,outcome,account_id,subject,ip,detail,prev_hash,hash,account_bidx)"
	want["auth_audit_head"] = "authsvc: SELECT"
	// 047: a 客服's own password change.
	want["staff"] = "authsvc: INSERT(username,name,password_hash,totp_sealed,roles,created_at,created_by,must_change) SELECT " +
		"UPDATE(password_hash,totp_sealed,totp_last_step,roles,status,failed_attempts,locked_until,must_change)"
	if diff := cmp.Diff(want, flat); diff != "" {
		t.Errorf("privileges (-want +got):\n%s", diff)
	}
}

// TestOpenDefaultRole: with a role, OpenDefault migrates as the connecting
// user, then every connection of the pool acts as the role; a role the
// user may not take is refused with the reason; and a user that is only a
// member of a role starts on a migrated database without migrating.
func TestOpenDefaultRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	url := dbtest.NewEmpty(t).Config().ConnString()
	pool, closeFn, err := database.OpenDefault(ctx, database.OpenConfig{URL: url, Role: "idfusion_authsvc", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn(ctx)
	if pending, err := database.Pending(ctx, pool); err != nil || len(pending) != 0 {
		t.Errorf("Pending after OpenDefault with a role = %v, %v; want none", pending, err)
	}
	for range 3 { // every connection, not only the first
		var user string
		if err := pool.QueryRow(ctx, "SELECT current_user FROM pg_sleep(0.01)").Scan(&user); err != nil || user != "idfusion_authsvc" {
			t.Errorf("current_user = %q, %v; want idfusion_authsvc", user, err)
		}
	}
	if _, err := pool.Exec(ctx, "SELECT value FROM import_reject"); err == nil { // 041: the runs' counts only
		t.Error("the pool acting as idfusion_authsvc reads import_reject's values")
	}

	member := dbtest.MemberConnString(t, url, "idfusion_import")
	if _, _, err := database.OpenDefault(ctx, database.OpenConfig{URL: member, Role: "idfusion_authsvc", Logger: logger}); err == nil ||
		!strings.Contains(err.Error(), "set role idfusion_authsvc") {
		t.Errorf("a role the user is no member of: %v, want a refusal naming it", err)
	}
	_, closeMember, err := database.OpenDefault(ctx, database.OpenConfig{URL: member, Logger: logger})
	if err != nil {
		t.Fatalf("a member user on a migrated database: %v", err)
	}
	closeMember(ctx)
	if _, _, err := database.OpenDefault(ctx, database.OpenConfig{URL: dbtest.MemberConnString(t, dbtest.NewEmpty(t).Config().ConnString(), "idfusion_import"), Logger: logger}); err == nil {
		t.Error("a member user migrated an empty database")
	}
}
