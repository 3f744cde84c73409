package authsvc

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testProxies are the trusted proxies of the tests: a private network and
// loopback (the tests' own connections).
var testProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}

// TestResolveClient: behind trusted proxies the client is the rightmost
// untrusted X-Forwarded-For hop and the scheme the nearest proxy's
// X-Forwarded-Proto; from anyone else, headers change nothing.
func TestResolveClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		peer    string
		trusted []netip.Prefix
		xff     []string
		xfp     []string
		tls     bool
		want    client
	}{
		{"untrusted peer spoofing", "203.0.113.9:5000", testProxies, []string{"198.51.100.7"}, []string{"https"}, false, client{ip: "203.0.113.9"}},
		{"no trusted proxies", "127.0.0.1:5000", nil, []string{"198.51.100.7"}, []string{"https"}, false, client{ip: "127.0.0.1"}},
		{"trusted proxy", "10.0.0.1:5000", testProxies, []string{"198.51.100.7"}, nil, false, client{ip: "198.51.100.7"}},
		{"spoofed left entries", "10.0.0.1:5000", testProxies, []string{"6.6.6.6, 10.1.1.1, 198.51.100.7"}, nil, false, client{ip: "198.51.100.7"}},
		{"chain of trusted proxies", "10.0.0.1:5000", testProxies, []string{"6.6.6.6, 198.51.100.7, 10.0.0.5,10.0.0.6"}, nil, false, client{ip: "198.51.100.7"}},
		{"several header lines", "10.0.0.1:5000", testProxies, []string{"6.6.6.6", "198.51.100.7, 10.0.0.5"}, nil, false, client{ip: "198.51.100.7"}},
		{"all hops trusted", "10.0.0.1:5000", testProxies, []string{"10.0.0.9, 10.0.0.5"}, nil, false, client{ip: "10.0.0.9"}},
		{"garbage before a trusted hop", "10.0.0.1:5000", testProxies, []string{"unknown, 10.0.0.5"}, nil, false, client{ip: "10.0.0.5"}},
		{"garbage from the proxy", "10.0.0.1:5000", testProxies, []string{"6.6.6.6, unknown"}, nil, false, client{ip: "10.0.0.1"}},
		{"no header", "10.0.0.1:5000", testProxies, nil, nil, false, client{ip: "10.0.0.1"}},
		{"hop with a port", "10.0.0.1:5000", testProxies, []string{"198.51.100.7:4711"}, nil, false, client{ip: "198.51.100.7"}},
		{"IPv6 hop with a port", "10.0.0.1:5000", testProxies, []string{"[2001:db8::1]:443"}, nil, false, client{ip: "2001:db8::1"}},
		{"IPv4-mapped hop", "10.0.0.1:5000", testProxies, []string{"::ffff:198.51.100.7"}, nil, false, client{ip: "198.51.100.7"}},
		{"IPv6 proxy", "[fd00::1]:5000", testProxies, []string{"198.51.100.7"}, nil, false, client{ip: "198.51.100.7"}},
		{"IPv4-mapped proxy", "[::ffff:10.0.0.1]:5000", testProxies, []string{"198.51.100.7"}, nil, false, client{ip: "198.51.100.7"}},
		{"https from a trusted proxy", "10.0.0.1:5000", testProxies, nil, []string{"https"}, false, client{ip: "10.0.0.1", tls: true}},
		{"HTTPS from a trusted proxy", "10.0.0.1:5000", testProxies, nil, []string{"HTTPS"}, false, client{ip: "10.0.0.1", tls: true}},
		{"http from a trusted proxy", "10.0.0.1:5000", testProxies, nil, []string{"http"}, false, client{ip: "10.0.0.1"}},
		{"the nearest proxy's proto counts", "10.0.0.1:5000", testProxies, nil, []string{"https, http"}, false, client{ip: "10.0.0.1"}},
		{"the nearest proxy's line counts", "10.0.0.1:5000", testProxies, nil, []string{"https", "http"}, false, client{ip: "10.0.0.1"}},
		{"https from anyone else", "203.0.113.9:5000", testProxies, nil, []string{"https"}, false, client{ip: "203.0.113.9"}},
		{"TLS to us", "203.0.113.9:5000", nil, nil, nil, true, client{ip: "203.0.113.9", tls: true}},
		{"TLS to us, the proxy says http", "10.0.0.1:5000", testProxies, nil, []string{"http"}, true, client{ip: "10.0.0.1", tls: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			r.RemoteAddr = tt.peer
			r.TLS = nil
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tt.xfp {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			if diff := cmp.Diff(tt.want, resolveClient(r, tt.trusted), cmp.AllowUnexported(client{})); diff != "" {
				t.Errorf("client (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHSTSOnlyOverTLS: Strict-Transport-Security is sent on answers over
// TLS (to us, or to a trusted proxy saying so), never over plain HTTP.
func TestHSTSOnlyOverTLS(t *testing.T) {
	t.Parallel()
	behindProxy := setup(t, func(c *Config) { c.TrustedProxies = testProxies })
	direct := setup(t)
	plain := func(b *testBundle) *httptest.Server {
		ts := httptest.NewServer(b.svc.Handler())
		t.Cleanup(ts.Close)
		return ts
	}
	proxyPlain, directPlain := plain(behindProxy), plain(direct)
	tests := []struct {
		name   string
		ts     *httptest.Server
		header []string
		want   string
	}{
		{"TLS", direct.ts, nil, "max-age=31536000"},
		{"plain HTTP", directPlain, nil, ""},
		{"plain HTTP claiming https", directPlain, []string{"X-Forwarded-Proto", "https"}, ""},
		{"trusted proxy over TLS", proxyPlain, []string{"X-Forwarded-Proto", "https"}, "max-age=31536000"},
		{"trusted proxy over HTTP", proxyPlain, []string{"X-Forwarded-Proto", "http"}, ""},
		{"trusted proxy saying nothing", proxyPlain, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, tt.ts.URL+"/healthz", nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := tt.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Strict-Transport-Security"); resp.StatusCode != http.StatusOK || got != tt.want {
				t.Errorf("%d, Strict-Transport-Security %q, want %q", resp.StatusCode, got, tt.want)
			}
		})
	}
}

// TestTrustedProxyClientAddress: behind a trusted proxy, each forwarded
// client has its own rate-limit bucket and its own address in the audit,
// and a client writing someone else's address on the left of the chain
// still spends its own; without trust, the header changes nothing.
func TestTrustedProxyClientAddress(t *testing.T) {
	t.Parallel()
	const a, b2 = "198.51.100.7", "198.51.100.8"
	tests := []struct {
		name    string
		trusted []netip.Prefix
		xff     []string // one request each
		status  []int
		audited []string // the audit's addresses, in order
	}{
		{"trusted proxy", testProxies,
			[]string{a, a, b2, a, b2 + ", " + a},
			[]int{401, 401, 401, 429, 429},
			[]string{a, a, b2}},
		{"untrusted peer", nil,
			[]string{a, b2, "203.0.113.1"},
			[]int{401, 401, 429},
			[]string{"127.0.0.1", "127.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bd := setup(t, func(c *Config) { c.TrustedProxies, c.RequestsPerMinute = tt.trusted, 2 })
			body := map[string]string{"id_number": residentID("19700101"), "password": "Wrong#Pass9"}
			var got []int
			for _, xff := range tt.xff {
				got = append(got, bd.browser(t).post("/api/v1/login/password", body, "X-Forwarded-For", xff).Status)
			}
			if diff := cmp.Diff(tt.status, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			rows, err := bd.pool.Query(context.Background(), `SELECT ip FROM auth_audit WHERE event = 'login_password' ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			var ips []string
			for rows.Next() {
				var ip string
				if err := rows.Scan(&ip); err != nil {
					t.Fatal(err)
				}
				ips = append(ips, ip)
			}
			if diff := cmp.Diff(tt.audited, ips); diff != "" {
				t.Errorf("audited addresses (-want +got):\n%s", diff)
			}
		})
	}
}
