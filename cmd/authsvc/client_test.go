package main

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/dbtest"
)

// TestClientAdd: the admin command registers a business system, hashed
// secret or public, and refuses one without a redirect URI.
func TestClientAdd(t *testing.T) {
	conn := dbtest.ConnString(t)
	t.Setenv("DATABASE_URL", conn)
	t.Setenv("IDFUSION_KEY_FILE", "")
	ctx := context.Background()
	dir := t.TempDir()
	if err := run(ctx, []string{"client", "add", "--id", "portal", "--redirect-uri", "https://rp.example/cb", "--scope", "profile", "--scope", "idcard",
		"--post-logout-redirect-uri", "https://rp.example/bye", "--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"client", "add", "--id", "spa", "--public", "--require-face", "--redirect-uri", "https://spa.example/cb", "--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"client", "add", "--id", "proxy", "--pkce-optional", "--email-claim", "sub", "--scope", "email",
		"--redirect-uri", "https://proxy.example/oauth2/callback", "--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	var list strings.Builder
	if err := clientList(ctx, &list, []string{"--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"portal\tportal\tconfidential\tpkce=required\tface=false\temail=-\tscopes=openid profile idcard\tbackchannel=-\tfrontchannel=-\n",
		"proxy\tproxy\tconfidential\tpkce=optional\tface=false\temail=sub\tscopes=openid email\tbackchannel=-\tfrontchannel=-\n",
		"spa\tspa\tpublic\tpkce=required\tface=true\temail=-\tscopes=openid\tbackchannel=-\tfrontchannel=-\n"} {
		if !strings.Contains(list.String(), want) {
			t.Errorf("client list:\n%s\nlacks %q", list.String(), want)
		}
	}
	err := run(ctx, []string{"client", "add", "--id", "none", "--data-dir", dir})
	if err == nil || !strings.Contains(err.Error(), "RedirectURIs") {
		t.Errorf("no redirect URI: %v, want a refusal naming RedirectURIs", err)
	}
	db, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	type row struct {
		ID     string
		Secret bool
		URIs   []string
		Scopes []string
		Logout []string
		Face   bool
	}
	rows, err := db.Query(ctx, `SELECT id, secret_hash IS NOT NULL, redirect_uris, allowed_scopes, post_logout_redirect_uris, require_face FROM oidc_client ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.ID, &r.Secret, &r.URIs, &r.Scopes, &r.Logout, &r.Face); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []row{
		{ID: "portal", Secret: true, URIs: []string{"https://rp.example/cb"}, Scopes: []string{"openid", "profile", "idcard"}, Logout: []string{"https://rp.example/bye"}},
		{ID: "proxy", Secret: true, URIs: []string{"https://proxy.example/oauth2/callback"}, Scopes: []string{"openid", "email"}, Logout: []string{}},
		{ID: "spa", Secret: false, URIs: []string{"https://spa.example/cb"}, Scopes: []string{"openid"}, Logout: []string{}, Face: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clients mismatch (-want +got):\n%s", diff)
	}
}

// TestClientAddLogoutChannels: client add registers the back- and
// front-channel logout URIs, and refuses one that is not https (or http on
// a loopback address).
func TestClientAddLogoutChannels(t *testing.T) {
	conn := dbtest.ConnString(t)
	t.Setenv("DATABASE_URL", conn)
	t.Setenv("IDFUSION_KEY_FILE", "")
	ctx := context.Background()
	dir := t.TempDir()
	if err := run(ctx, []string{"client", "add", "--id", "portal", "--redirect-uri", "https://rp.example/cb",
		"--backchannel-logout-uri", "https://rp.example/bc", "--backchannel-logout-session-required",
		"--frontchannel-logout-uri", "http://127.0.0.1:9000/fc", "--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"--backchannel-logout-uri", "--frontchannel-logout-uri"} {
		err := run(ctx, []string{"client", "add", "--id", "bad", "--redirect-uri", "https://rp.example/cb", f, "http://rp.example/logout", "--data-dir", dir})
		if err == nil || !strings.Contains(err.Error(), "must be an absolute https URL") {
			t.Errorf("%s over plain http: %v, want a refusal", f, err)
		}
	}
	db, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var got []string
	rows, err := db.Query(ctx, `SELECT id || ' ' || backchannel_logout_uri || ' ' || backchannel_logout_session_required || ' ' ||
		frontchannel_logout_uri || ' ' || frontchannel_logout_session_required FROM oidc_client ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"portal https://rp.example/bc true http://127.0.0.1:9000/fc false"}; !cmp.Equal(want, got) {
		t.Errorf("clients = %q, want %q", got, want)
	}
}

// TestClientRotateDisable: client rotate replaces the secret (the hash
// changes, the new secret printed once), client disable marks the client
// disabled; both audited, through the functions the console uses.
func TestClientRotateDisable(t *testing.T) {
	conn := dbtest.ConnString(t)
	t.Setenv("DATABASE_URL", conn)
	t.Setenv("IDFUSION_KEY_FILE", "")
	ctx := context.Background()
	dir := t.TempDir()
	if err := run(ctx, []string{"client", "add", "--id", "portal", "--redirect-uri", "https://rp.example/cb", "--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	hash := func() (h []byte) {
		t.Helper()
		if err := db.QueryRow(ctx, `SELECT secret_hash FROM oidc_client WHERE id = 'portal'`).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	before := hash()
	var out strings.Builder
	if err := clientChange(ctx, &out, "rotate", []string{"--id", "portal", "--data-dir", dir}); err != nil || !strings.Contains(out.String(), "client_secret: ") {
		t.Fatalf("rotate: %v %q", err, out.String())
	}
	if string(hash()) == string(before) {
		t.Error("the secret's hash did not change")
	}
	if err := clientChange(ctx, &out, "disable", []string{"--id", "portal", "--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	var list strings.Builder
	if err := clientList(ctx, &list, []string{"--data-dir", dir}); err != nil || !strings.Contains(list.String(), "portal\tdisabled since ") {
		t.Errorf("client list after disable: %v\n%s", err, list.String())
	}
	if err := clientChange(ctx, &out, "rotate", []string{"--id", "portal", "--data-dir", dir}); err == nil {
		t.Error("a disabled client's secret was rotated")
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM auth_audit WHERE subject = 'portal' AND event IN ('oidc_client_rotate', 'oidc_client_disable')`).Scan(&n); err != nil || n != 2 {
		t.Errorf("audit rows: %d %v, want 2", n, err)
	}
}
