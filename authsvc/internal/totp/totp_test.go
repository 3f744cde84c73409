package totp

import (
	"net/url"
	"testing"
	"time"
)

// rfcSecret is RFC 6238's SHA-1 seed: "12345678901234567890".
var rfcSecret = []byte("12345678901234567890")

// TestRFC6238Vectors: the SHA-1 test vectors of RFC 6238, appendix B
// (8 digits there), and their last 6 digits as the codes of Check.
func TestRFC6238Vectors(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		now := time.Unix(v.unix, 0)
		if got := Code(rfcSecret, Step(now), 8); got != v.code {
			t.Errorf("T=%d: code %s, want %s", v.unix, got, v.code)
		}
		if step, ok := Check(rfcSecret, v.code[2:], now, 0); !ok || step != Step(now) {
			t.Errorf("T=%d: Check(%s) = %d, %v; want %d, true", v.unix, v.code[2:], step, ok, Step(now))
		}
	}
}

// TestCheckWindowAndReplay: a code of the step before or after is taken,
// two steps away is not, and no step at or before the last used one.
func TestCheckWindowAndReplay(t *testing.T) {
	t.Parallel()
	now := time.Unix(1111111111, 0)
	cur := Step(now)
	for _, tc := range []struct {
		name     string
		step     int64
		lastUsed int64
		ok       bool
	}{
		{"current", cur, 0, true},
		{"one step before", cur - 1, 0, true},
		{"one step after", cur + 1, 0, true},
		{"two steps before", cur - 2, 0, false},
		{"two steps after", cur + 2, 0, false},
		{"replayed", cur, cur, false},
		{"before the last used", cur - 1, cur, false},
		{"after the last used", cur + 1, cur, true},
	} {
		step, ok := Check(rfcSecret, Code(rfcSecret, tc.step, Digits), now, tc.lastUsed)
		if ok != tc.ok || (ok && step != tc.step) {
			t.Errorf("%s: %d, %v; want %d, %v", tc.name, step, ok, tc.step, tc.ok)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := Check(rfcSecret, bad, now, 0); ok {
			t.Errorf("code %q taken", bad)
		}
	}
}

func TestURI(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(URI("统一身份认证", "zhang.san", rfcSecret))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/统一身份认证:zhang.san" ||
		q.Get("secret") != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" || q.Get("issuer") != "统一身份认证" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Errorf("URI %s", u)
	}
}
