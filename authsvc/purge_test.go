package authsvc

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/dbtest"
)

// labels names the rows of the tables Purge works on, so that what is
// left reads as a list of names.
type labels map[string]string

// purgeTables are the tables Purge works on, and the key of each row.
var purgeTables = []struct{ name, keys string }{
	{"auth_session", `SELECT encode(id_hash, 'hex') FROM auth_session`},
	{"sms_code", `SELECT id::text FROM sms_code`},
	{"face_challenge", `SELECT id FROM face_challenge`},
	{"sms_outbox", `SELECT id::text FROM sms_outbox`},
}

// left returns, per table, the names of its rows (sorted); a row without
// a name shows up as such.
func (l labels) left(t *testing.T, b *testBundle) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tb := range purgeTables {
		rows, err := b.pool.Query(context.Background(), tb.keys)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		names := []string{}
		for _, k := range keys {
			name, ok := l[tb.name+"/"+k]
			if !ok {
				name = "unnamed row " + k
			}
			names = append(names, name)
		}
		slices.Sort(names)
		out[tb.name] = names
	}
	return out
}

// all returns every name, per table (sorted).
func (l labels) all() map[string][]string {
	out := map[string][]string{}
	for k, name := range l {
		table, _, _ := strings.Cut(k, "/")
		out[table] = append(out[table], name)
	}
	for _, names := range out {
		slices.Sort(names)
	}
	return out
}

// newest names the newest row of a table (by its identity column).
func (l labels) newest(t *testing.T, b *testBundle, table, name string) {
	t.Helper()
	var id int64
	if err := b.pool.QueryRow(context.Background(), `SELECT max(id) FROM `+table).Scan(&id); err != nil {
		t.Fatal(err)
	}
	l[fmt.Sprintf("%s/%d", table, id)] = name
}

func (l labels) session(token, name string) {
	l["auth_session/"+hex.EncodeToString(hashToken(token))] = name
}

// auditLog is the whole audit log, one line a row.
func auditLog(t *testing.T, b *testBundle) []string {
	t.Helper()
	return b.column(t, `SELECT concat_ws('|', id, at, event, outcome, account_id, subject, ip, detail) FROM auth_audit ORDER BY id`)
}

// TestPurge: sessions, codes, face challenges and outbox messages made
// through the service over two days, and inserted around the one-day
// boundary; Purge takes exactly those ended for more than a day, keeps
// the audit log, and a live session keeps working.
func TestPurge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	l := labels{}

	// t0: a citizen logs in with a code and out again; another browser
	// starts a face login and leaves it.
	a := b.active(t, "蒋一", "13912340301", goodPassword)
	brA := b.browser(t)
	if r := brA.smsLogin(a); r.Status != http.StatusOK {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	l.newest(t, b, "sms_code", "code used at t0")
	l.newest(t, b, "sms_outbox", "message at t0")
	l.session(brA.cookie(), "session revoked at t0 (logout)")
	if r := brA.post("/api/v1/logout", nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Raw)
	}
	brB := b.browser(t)
	l["face_challenge/"+brB.startFace(a.IDNumber)] = "challenge expired at t0+3m"
	l.session(brB.cookie(), "anonymous session ended at t0+30m")

	// t0+2h: a password login and logout; a code asked for, never used.
	b.clock.Advance(2 * time.Hour)
	e := b.active(t, "沈二", "13912340302", goodPassword)
	brE := b.browser(t)
	if r := brE.passwordLogin(e, goodPassword); r.Status != http.StatusOK {
		t.Fatalf("password login: %d %s", r.Status, r.Raw)
	}
	l.session(brE.cookie(), "session revoked at t0+2h (logout)")
	if r := brE.post("/api/v1/logout", nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Raw)
	}
	f := b.active(t, "韩三", "13912340303", goodPassword)
	if r := b.browser(t).sendCode(f.IDNumber, f.Phone); r.Status != http.StatusAccepted {
		t.Fatalf("send code: %d %s", r.Status, r.Raw)
	}
	l.newest(t, b, "sms_code", "code sent at t0+2h, unused")
	l.newest(t, b, "sms_outbox", "message at t0+2h")

	// t0+25h30m: a live session and a face login in progress.
	b.clock.Advance(23*time.Hour + 30*time.Minute)
	now := b.clock.Now()
	c := b.active(t, "杨四", "13912340304", goodPassword)
	brC := b.browser(t)
	if r := brC.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	l.newest(t, b, "sms_code", "code used now")
	l.newest(t, b, "sms_outbox", "message now")
	l.session(brC.cookie(), "live session")
	brD := b.browser(t)
	l["face_challenge/"+brD.startFace(c.IDNumber)] = "challenge pending now"
	l.session(brD.cookie(), "anonymous session now")

	// Rows around the boundary, a day before now.
	for _, d := range []struct {
		name string
		age  time.Duration // how long ago it ended
	}{
		{"ended a day and a second ago", 24*time.Hour + time.Second},
		{"ended a day ago to the microsecond", 24 * time.Hour},
		{"ended a day less a second ago", 24*time.Hour - time.Second},
		{"ends in an hour", -time.Hour},
	} {
		end := now.Add(-d.age)
		token, hash, err := newToken()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.pool.Exec(ctx, `INSERT INTO auth_session (id_hash, account_id, kind, created_at, last_seen_at, expires_at)
			VALUES ($1, $2, 'full', $3, $3, $4)`, hash, a.id, end.Add(-time.Hour), end); err != nil {
			t.Fatal(err)
		}
		l.session(token, "session "+d.name)
		var id int64
		if err := b.pool.QueryRow(ctx, `INSERT INTO sms_code (phone_bidx, purpose, code_hash, created_at, expires_at)
			VALUES ('\x00', 'login', '\x00', $1, $2) RETURNING id`, end.Add(-5*time.Minute), end).Scan(&id); err != nil {
			t.Fatal(err)
		}
		l[fmt.Sprintf("sms_code/%d", id)] = "code " + d.name
		ch, err := NewChallengeID()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.pool.Exec(ctx, `INSERT INTO face_challenge (id, session_hash, purpose, created_at, expires_at)
			VALUES ($1, '\x00', 'login', $2, $3)`, ch, end.Add(-3*time.Minute), end); err != nil {
			t.Fatal(err)
		}
		l["face_challenge/"+ch] = "challenge " + d.name
		if err := b.pool.QueryRow(ctx, `INSERT INTO sms_outbox (phone_hint, body, created_at) VALUES ('139****0000', 'x', $1) RETURNING id`,
			end).Scan(&id); err != nil {
			t.Fatal(err)
		}
		l[fmt.Sprintf("sms_outbox/%d", id)] = "message " + d.name
	}
	if _, err := b.pool.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome) VALUES ($1, 'login_password', 'ok')`, now.AddDate(-1, 0, 0)); err != nil {
		t.Fatal(err)
	}

	audit := auditLog(t, b)
	if len(audit) < 10 {
		t.Fatalf("%d audit rows before Purge, want the flows'", len(audit))
	}
	if diff := cmp.Diff(l.all(), l.left(t, b)); diff != "" {
		t.Fatalf("rows before Purge, every one named: mismatch (-want +got):\n%s", diff)
	}

	got, err := Purge(ctx, b.pool, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Purged{Sessions: 3, Codes: 2, FaceChallenges: 2, OutboxMessages: 2}, got); diff != "" {
		t.Errorf("Purged: mismatch (-want +got):\n%s", diff)
	}
	want := map[string][]string{
		"auth_session": {
			"anonymous session now", "live session", "session ended a day ago to the microsecond",
			"session ended a day less a second ago", "session ends in an hour", "session revoked at t0+2h (logout)",
		},
		"sms_code": {
			"code ended a day ago to the microsecond", "code ended a day less a second ago", "code ends in an hour",
			"code sent at t0+2h, unused", "code used now",
		},
		"face_challenge": {
			"challenge ended a day ago to the microsecond", "challenge ended a day less a second ago",
			"challenge ends in an hour", "challenge pending now",
		},
		"sms_outbox": {
			"message at t0+2h", "message ended a day ago to the microsecond", "message ended a day less a second ago",
			"message ends in an hour", "message now",
		},
	}
	if diff := cmp.Diff(want, l.left(t, b)); diff != "" {
		t.Errorf("rows after Purge: mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(audit, auditLog(t, b)); diff != "" {
		t.Errorf("audit log after Purge: mismatch (-want +got):\n%s", diff)
	}

	// The live session works; the face login in progress goes on.
	if r := brC.get("/api/v1/me"); r.Status != http.StatusOK {
		t.Errorf("live session after Purge: %d %s, want 200", r.Status, r.Raw)
	}
	if r := brC.get("/center"); r.Status != http.StatusOK {
		t.Errorf("live session's page after Purge: %d, want 200", r.Status)
	}
	for k, v := range l {
		if v == "challenge pending now" {
			if r := brD.get("/api/v1/login/face/" + strings.TrimPrefix(k, "face_challenge/")); r.Status != http.StatusOK || r.str("status") != "pending" {
				t.Errorf("face login after Purge: %d %s, want 200 pending", r.Status, r.Raw)
			}
		}
	}

	// Nothing more to do at the same time.
	if got, err := Purge(ctx, b.pool, now); err != nil || got != (Purged{}) {
		t.Errorf("second Purge = %+v, %v; want nothing purged", got, err)
	}
}

// TestPurgeUsesExpiryIndexes: each DELETE of Purge but the development
// outbox's can run on its table's expiry index, whatever the table's
// size (the planner is told to avoid full scans, as it would on a large
// table).
func TestPurgeUsesExpiryIndexes(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	tests := []struct{ sql, index string }{
		{purgeSessionsSQL, "auth_session_expires"},
		{purgeCodesSQL, "sms_code_expires"},
		{purgeFaceSQL, "face_challenge_expires"},
		{purgeTokensSQL, "oidc_token_expires"},
		{purgeAuthRequestsSQL, "oidc_auth_request_created"},
		{purgeSigningKeysSQL, "oidc_signing_key_retire"},
		{purgeAgentTriesSQL, "agent_search_try_at"},
	}
	for _, tt := range tests {
		t.Run(tt.index, func(t *testing.T) {
			t.Parallel()
			var plan []string
			err := database.Transact(context.Background(), pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(context.Background(), `SET LOCAL enable_seqscan = off`); err != nil {
					return err
				}
				rows, err := tx.Query(context.Background(), `EXPLAIN `+tt.sql, time.Now())
				if err != nil {
					return err
				}
				plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if text := strings.Join(plan, "\n"); !strings.Contains(text, tt.index) {
				t.Errorf("plan of %s does not use %s:\n%s", tt.sql, tt.index, text)
			}
		})
	}
}

// TestPurgeOIDC: the provider's tokens, authorization requests and
// signing keys around the one-day boundary. A token goes once its whole
// grant ended more than a day ago (reuse detection needs the spent
// refresh tokens of a live grant), a request once it is two days old and
// its tokens are gone, a key once it left the JWKS more than a day ago.
func TestPurgeOIDC(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	now := b.clock.Now()
	a := b.active(t, "蒋五", "13912340305", goodPassword)
	if _, err := RegisterClient(ctx, b.pool, Client{ID: "portal", RedirectURIs: []string{"https://rp.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		id  string
		age time.Duration
	}{
		{"live grant", 72 * time.Hour}, {"ended grant", 72 * time.Hour}, {"recently ended grant", 72 * time.Hour},
		{"request two days and a second old", 48*time.Hour + time.Second}, {"request two days less a second old", 48*time.Hour - time.Second},
	} {
		if _, err := b.pool.Exec(ctx, `INSERT INTO oidc_auth_request (id, client_id, redirect_uri, scopes, response_type, created_at)
			VALUES ($1, 'portal', 'https://rp.example/cb', '{openid}', 'code', $2)`, r.id, now.Add(-r.age)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.pool.Exec(ctx, `INSERT INTO oidc_auth_code (code_hash, request_id) VALUES (sha256(convert_to($1, 'UTF8')), $1)`, r.id); err != nil {
			t.Fatal(err)
		}
	}
	for _, tk := range []struct {
		id, grant string
		ended     time.Duration // how long ago it ended (negative: ahead)
	}{
		{"spent refresh of a live grant", "live grant", 48 * time.Hour},
		{"live refresh", "live grant", -time.Hour},
		{"ended 30h ago", "ended grant", 30 * time.Hour},
		{"ended 25h ago", "ended grant", 25 * time.Hour},
		{"ended 25h ago, grant ended 23h ago", "recently ended grant", 25 * time.Hour},
		{"ended 23h ago", "recently ended grant", 23 * time.Hour},
		{"no grant, ended a day and a second ago", "", 24*time.Hour + time.Second},
		{"no grant, ended a day less a second ago", "", 24*time.Hour - time.Second},
	} {
		var grant *string
		if tk.grant != "" {
			grant = &tk.grant
		}
		end := now.Add(-tk.ended)
		if _, err := b.pool.Exec(ctx, `INSERT INTO oidc_token (id, hash, kind, account_id, subject, client_id, scopes, auth_time, created_at, expires_at, auth_request_id, account_bidx)
			VALUES ($1, sha256(convert_to($1, 'UTF8')), 'refresh', $2, 's', 'portal', '{openid}', $3, $3, $4, $5, (SELECT id_bidx FROM account WHERE id = $2))`, tk.id, a.id, end.Add(-time.Hour), end, grant); err != nil {
			t.Fatal(err)
		}
		if _, err := b.pool.Exec(ctx, `INSERT INTO oidc_refresh_hash (hash, account_bidx, token_id) SELECT hash, account_bidx, id FROM oidc_token WHERE id = $1`, tk.id); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []struct {
		id                  string
		activeUntil, retire time.Duration // from now
	}{
		{"left the JWKS a day and a second ago", -48 * time.Hour, -24*time.Hour - time.Second},
		{"left the JWKS a day less a second ago", -48 * time.Hour, -24*time.Hour + time.Second},
		{"retired, still verifying", -time.Hour, time.Hour},
		{"active", 24 * time.Hour, 48 * time.Hour},
	} {
		if _, err := b.pool.Exec(ctx, `INSERT INTO oidc_signing_key (id, algorithm, private_sealed, public_der, created_at, active_until, retire_after)
			VALUES ($1, 'RS256', '\x00', '\x00', $2, $3, $4)`, k.id, now.Add(-60*24*time.Hour), now.Add(k.activeUntil), now.Add(k.retire)); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(table string) []string {
		t.Helper()
		return b.column(t, `SELECT id FROM `+table+` ORDER BY id COLLATE "C"`)
	}

	got, err := Purge(ctx, b.pool, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Purged{OIDCAuthRequests: 2, OIDCTokens: 3, OIDCSigningKeys: 1}, got); diff != "" {
		t.Errorf("Purged: mismatch (-want +got):\n%s", diff)
	}
	want := map[string][]string{
		"oidc_auth_request": {"live grant", "recently ended grant", "request two days less a second old"},
		"oidc_token": {
			"ended 23h ago", "ended 25h ago, grant ended 23h ago", "live refresh",
			"no grant, ended a day less a second ago", "spent refresh of a live grant",
		},
		"oidc_signing_key": {"active", "left the JWKS a day less a second ago", "retired, still verifying"},
	}
	left := map[string][]string{}
	for table := range want {
		left[table] = ids(table)
	}
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("rows after Purge: mismatch (-want +got):\n%s", diff)
	}
	// A purged request's code goes with it (its lookup table).
	if diff := cmp.Diff(want["oidc_auth_request"], b.column(t, `SELECT request_id FROM oidc_auth_code ORDER BY request_id COLLATE "C"`)); diff != "" {
		t.Errorf("oidc_auth_code after Purge: mismatch (-want +got):\n%s", diff)
	}
	// A purged refresh token's hash goes with it (its lookup table).
	if diff := cmp.Diff(want["oidc_token"], b.column(t, `SELECT token_id FROM oidc_refresh_hash ORDER BY token_id COLLATE "C"`)); diff != "" {
		t.Errorf("oidc_refresh_hash after Purge: mismatch (-want +got):\n%s", diff)
	}
}
