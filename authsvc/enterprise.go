package authsvc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Enterprise is what the national enterprise interface is asked about a
// legal person: its credit code (normalized), name and representative.
type Enterprise struct {
	CreditCode string `json:"credit_code"`
	Name       string `json:"name"`
	RepName    string `json:"rep_name"`
	RepIDType  string `json:"rep_id_type"`
	RepID      string `json:"rep_id"`
}

// Verdict is the enterprise interface's answer.
type Verdict string

const (
	// Match: the interface has the credit code with these very values.
	Match Verdict = "match"
	// Mismatch: it has the code, with other values.
	Mismatch Verdict = "mismatch"
	// NotYetAvailable: it has no data on the code yet (a new
	// enterprise's record reaches it days after the registration).
	NotYetAvailable Verdict = "not_yet_available"
)

// EnterpriseVerifier checks a legal person against the national
// enterprise interface (实名认证 of 2.2.1 and 2.2.5).
type EnterpriseVerifier interface {
	Verify(ctx context.Context, e Enterprise) (Verdict, error)
}

// HTTPEnterpriseVerifier is a client of the enterprise interface: a POST
// of the Enterprise as JSON to URL, with the shared secret as a bearer
// token (and the client certificate of its HTTP client, when the
// deployment has one); the answer is {"result": "match" | "mismatch" |
// "not_yet_available"}.
type HTTPEnterpriseVerifier struct {
	URL    string
	Secret string
	Client *http.Client
}

// NewHTTPEnterpriseVerifier builds the production client: the secret is
// read from secretFile (trimmed), the client certificate and key, when
// given, from their PEM files; every call times out after timeout.
func NewHTTPEnterpriseVerifier(url, secretFile, certFile, keyFile string, timeout time.Duration) (*HTTPEnterpriseVerifier, error) {
	v := &HTTPEnterpriseVerifier{URL: url}
	if secretFile != "" {
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return nil, fmt.Errorf("enterprise verifier secret: %w", err)
		}
		v.Secret = strings.TrimSpace(string(b))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("enterprise verifier certificate: %w", err)
		}
		tr.TLSClientConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	v.Client = &http.Client{Transport: tr, Timeout: timeout}
	return v, nil
}

// Verify asks the interface. A transport failure or an unknown answer is
// an error: the caller treats it as no verdict yet.
func (v *HTTPEnterpriseVerifier) Verify(ctx context.Context, e Enterprise) (Verdict, error) {
	body, _ := json.Marshal(e)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if v.Secret != "" {
		req.Header.Set("Authorization", "Bearer "+v.Secret)
	}
	c := v.Client
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("enterprise verifier: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("enterprise verifier: status %d", resp.StatusCode)
	}
	var out struct {
		Result Verdict `json:"result"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out); err != nil {
		return "", fmt.Errorf("enterprise verifier: %w", err)
	}
	switch out.Result {
	case Match, Mismatch, NotYetAvailable:
		return out.Result, nil
	}
	return "", fmt.Errorf("enterprise verifier: unknown result %q", out.Result)
}

// EnterpriseRegistry is the development stand-in of the national
// interface, a real HTTP handler (cmd/authsvc serves it in development
// mode at /dev/enterprise-registry): it answers not_yet_available for
// Delay after it first sees a credit code, then match when the fixture
// has the code with the same name and representative, mismatch when a
// value differs, not_yet_available when the fixture lacks the code.
type EnterpriseRegistry struct {
	// Delay is how long a new code stays unavailable.
	Delay time.Duration
	// Now is the registry's clock (time.Now when nil).
	Now func() time.Time
	// Secret, when set, must come as the bearer token.
	Secret string

	mu       sync.Mutex
	fixture  map[string]Enterprise
	firstSaw map[string]time.Time
}

// NewEnterpriseRegistry returns a registry of the fixture's enterprises.
func NewEnterpriseRegistry(fixture []Enterprise, delay time.Duration, now func() time.Time) *EnterpriseRegistry {
	r := &EnterpriseRegistry{Delay: delay, Now: now, fixture: map[string]Enterprise{}, firstSaw: map[string]time.Time{}}
	for _, e := range fixture {
		r.fixture[e.CreditCode] = e
	}
	return r
}

// LoadEnterpriseFixture reads a JSON array of Enterprise.
func LoadEnterpriseFixture(path string) ([]Enterprise, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Enterprise
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("enterprise fixture %s: %w", path, err)
	}
	return out, nil
}

// Add puts an enterprise in the fixture (or replaces it).
func (r *EnterpriseRegistry) Add(e Enterprise) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fixture[e.CreditCode] = e
}

func (r *EnterpriseRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Secret != "" && subtle.ConstantTimeCompare([]byte(req.Header.Get("Authorization")), []byte("Bearer "+r.Secret)) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	var e Enterprise
	if err := json.NewDecoder(io.LimitReader(req.Body, 1<<16)).Decode(&e); err != nil || e.CreditCode == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, map[string]Verdict{"result": r.verdict(e)})
}

func (r *EnterpriseRegistry) verdict(e Enterprise) Verdict {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	first, seen := r.firstSaw[e.CreditCode]
	if !seen {
		first = now()
		r.firstSaw[e.CreditCode] = first
	}
	if now().Sub(first) < r.Delay {
		return NotYetAvailable
	}
	want, ok := r.fixture[e.CreditCode]
	if !ok {
		return NotYetAvailable
	}
	if want.Name != e.Name || want.RepName != e.RepName || want.RepID != e.RepID ||
		(want.RepIDType != "" && want.RepIDType != e.RepIDType) {
		return Mismatch
	}
	return Match
}

// errNoVerifier: the service has no enterprise verifier configured.
var errNoVerifier = errors.New("no enterprise verifier configured")
