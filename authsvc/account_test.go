package authsvc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/dbtest"
)

// TestLockMigration: migration 009 gives the password what of the one
// count before it may have been password guesses (the count, a lock in
// force, a lock since the last login as the first level) and leaves the
// count of SMS codes and faces as it was.
func TestLockMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewBefore(t, 9)
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	type counts struct {
		Failed, PasswordFailures, PasswordLocks int
		LockedUntil, PasswordLockedUntil        *time.Time
	}
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	tests := []struct {
		name   string
		before counts // failed and locked until
		want   counts
	}{
		{"never failed", counts{}, counts{}},
		{"some failures", counts{Failed: 3}, counts{Failed: 3, PasswordFailures: 3}},
		{"locked now", counts{LockedUntil: at(10 * time.Minute)},
			counts{LockedUntil: at(10 * time.Minute), PasswordLocks: 1, PasswordLockedUntil: at(10 * time.Minute)}},
		{"locked since the last login", counts{Failed: 2, LockedUntil: at(-time.Hour)},
			counts{Failed: 2, LockedUntil: at(-time.Hour), PasswordFailures: 2, PasswordLocks: 1, PasswordLockedUntil: at(-time.Hour)}},
	}
	for i, tt := range tests {
		name := strings.Repeat("x", i+1)
		if _, err := pool.Exec(ctx, `INSERT INTO account (id, id_bidx, id_sealed, id_hint, id_type, name, status, origin, failed_attempts, locked_until)
			VALUES ($1, $2, '', '', 'resident', $5, 'active', 'fused', $3, $4)`, i+1, []byte(name), tt.before.Failed, tt.before.LockedUntil, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := database.Migrate(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		var got counts
		if err := pool.QueryRow(ctx, `SELECT failed_attempts, password_failures, password_locks, locked_until, password_locked_until FROM account WHERE id = $1`, i+1).
			Scan(&got.Failed, &got.PasswordFailures, &got.PasswordLocks, &got.LockedUntil, &got.PasswordLockedUntil); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

// fullWidth writes s's ASCII digits and letters in their full-width forms,
// as some departments' systems and input methods do.
func fullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '!' && r <= '~' {
			r += 0xFF01 - '!'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestLoginWithTypedForms: an account the pipeline stored is found with
// its ID number and phone typed in every form the pipeline accepts —
// full-width, lower-case x, spaces, the 15-digit legacy number, +86 and
// dashes — since the pipeline's blind index and every login normalize by
// one rule.
func TestLoginWithTypedForms(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.importSample(t)
	id, phone := c.IDNumber, c.Phone
	spaced := id[:6] + " " + id[6:14] + " " + id[14:]
	forms := []struct{ name, id, phone string }{
		{"as stored", id, phone},
		{"full-width", fullWidth(id), fullWidth(phone)},
		{"lower-case x, spaces", strings.ToLower(spaced), phone[:3] + " " + phone[3:7] + " " + phone[7:]},
		{"+86 and dashes", "\u3000" + id + " ", "+86 " + phone[:3] + "-" + phone[3:7] + "-" + phone[7:]},
	}
	if id[6:8] == "19" {
		forms = append(forms, struct{ name, id, phone string }{"15-digit legacy number", id[:6] + id[8:17], "0086" + phone})
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			b.clock.Advance(61 * time.Second)
			before := b.outboxCount(t)
			br := b.browser(t)
			if r := br.postSolving("/api/v1/login/sms/send", map[string]string{"id_number": f.id, "phone": f.phone}); r.Status != 202 {
				t.Fatalf("send: %d %s", r.Status, r.Raw)
			}
			if b.outboxCount(t) != before+1 {
				t.Fatal("no code sent: the account was not found")
			}
			r := br.post("/api/v1/login/sms", map[string]string{"id_number": f.id, "phone": f.phone, "code": b.lastCodeTo(t, phone)})
			if r.Status != 200 {
				t.Errorf("login: %d %s", r.Status, r.Raw)
			}
		})
	}
}
