package authsvc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testSMSSecret is a shared secret of the minimum length.
var testSMSSecret = []byte("0123456789abcdef0123456789abcdef")

// gatewayRequest is what a fake gateway received.
type gatewayRequest struct {
	Method, Path, ContentType, KeyID, Timestamp, Signature string
	Body                                                   []byte
}

// fakeGateway is an SMS gateway over HTTPS that records the requests and
// answers with answer.
type fakeGateway struct {
	ts     *httptest.Server
	mu     sync.Mutex
	got    []gatewayRequest
	answer func(w http.ResponseWriter, r *http.Request)
}

func newFakeGateway(t testing.TB, answer func(w http.ResponseWriter, r *http.Request)) *fakeGateway {
	t.Helper()
	g := &fakeGateway{answer: answer}
	g.ts = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.got = append(g.got, gatewayRequest{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
			KeyID: r.Header.Get("X-SMS-Key-Id"), Timestamp: r.Header.Get("X-SMS-Timestamp"), Signature: r.Header.Get("X-SMS-Signature"), Body: body})
		g.mu.Unlock()
		g.answer(w, r)
	}))
	t.Cleanup(g.ts.Close)
	return g
}

func (g *fakeGateway) requests() []gatewayRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gatewayRequest(nil), g.got...)
}

// gateway returns an HTTPSMSGateway to g's /send, with the given clock.
func (g *fakeGateway) gateway(t testing.TB, now func() time.Time) *HTTPSMSGateway {
	t.Helper()
	gw, err := NewHTTPSMSGateway(g.ts.URL+"/send", "authsvc-1", testSMSSecret, g.ts.Client(), now)
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

func answerOK(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"ok","message_id":"m-1"}`)
}

// TestHTTPSMSGatewayRequest: the request is exactly the documented one,
// and its signature is the HMAC of the timestamp and the exact body.
func TestHTTPSMSGatewayRequest(t *testing.T) {
	t.Parallel()
	g := newFakeGateway(t, answerOK)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	gw := g.gateway(t, func() time.Time { return at })
	const text = "【统一身份认证】您的验证码为123456，5分钟内有效。"
	for range 2 {
		if err := gw.Send(context.Background(), "13800138000", text); err != nil {
			t.Fatal(err)
		}
	}
	got := g.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	var ids []string
	for _, r := range got {
		var body map[string]string
		dec := json.NewDecoder(strings.NewReader(string(r.Body)))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			t.Fatalf("body %s: %v", r.Body, err)
		}
		if !ValidChallengeID(body["request_id"]) {
			t.Errorf("request_id %q, want 32 lowercase hex", body["request_id"])
		}
		ids = append(ids, body["request_id"])
		want := map[string]string{"request_id": body["request_id"], "phone": "13800138000", "text": text}
		if diff := cmp.Diff(want, body); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
		wantReq := gatewayRequest{Method: http.MethodPost, Path: "/send", ContentType: "application/json", KeyID: "authsvc-1",
			Timestamp: "1795773600", Signature: SMSSignature(testSMSSecret, "1795773600", r.Body), Body: r.Body}
		if diff := cmp.Diff(wantReq, r); diff != "" {
			t.Errorf("request (-want +got):\n%s", diff)
		}
	}
	if ids[0] == ids[1] {
		t.Errorf("two messages share the request_id %s: the gateway would drop the second as a replay", ids[0])
	}
}

// TestSMSSignature pins the signature to a value computed independently
// (printf '1795773600\n{"a":1}' | openssl dgst -sha256 -hmac
// 0123456789abcdef0123456789abcdef), so that a change of the format
// cannot pass unnoticed by changing both sides.
func TestSMSSignature(t *testing.T) {
	t.Parallel()
	got := SMSSignature(testSMSSecret, "1795773600", []byte(`{"a":1}`))
	if want := "451d5069501485968495b9bbed17d98d371b0e5c9ff4003a1d688ae6dcbafac3"; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

// TestHTTPSMSGatewayFailures: whatever is not the documented success is a
// failure wrapping ErrSMSGateway, and its message holds neither the phone
// nor the code.
func TestHTTPSMSGatewayFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request)
		want   string // in the error
	}{
		{"server error", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "internal", http.StatusInternalServerError)
		}, "HTTP 500"},
		{"server error saying ok", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, `{"status":"ok"}`)
		}, "HTTP 502"},
		{"error answer", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"status":"error","error":"INVALID_PHONE"}`)
		}, "HTTP 400, status error, error INVALID_PHONE"},
		{"error answer with 200", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, `{"status":"error","error":"QUOTA_EXCEEDED"}`)
		}, "HTTP 200, status error, error QUOTA_EXCEEDED"},
		{"error echoing the request", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, `{"status":"error","error":"bad phone 13800138000 for 您的验证码为123456"}`)
		}, "error not shown"},
		{"not JSON", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK 13800138000") }, "not JSON"},
		{"empty 204", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }, "not JSON"},
		// Followed, a 307 would repeat the signed body wherever it points.
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}, "HTTP 3"},
		// Answers only when the client gives up and hangs up.
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newFakeGateway(t, tt.answer)
			client := g.ts.Client()
			client.Timeout = 10 * time.Second
			if tt.name == "timeout" {
				client.Timeout = 200 * time.Millisecond
			}
			gw, err := NewHTTPSMSGateway(g.ts.URL+"/send", "authsvc-1", testSMSSecret, client, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = gw.Send(context.Background(), "13800138000", "您的验证码为123456")
			if !errors.Is(err, ErrSMSGateway) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrSMSGateway with %q", err, tt.want)
			}
			for _, secret := range []string{"13800138000", "123456", string(testSMSSecret)} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error %q holds %q", err, secret)
				}
			}
		})
	}
}

// TestNewHTTPSMSGateway: a gateway that would send the codes in the clear,
// or with weak or misplaced credentials, is refused.
func TestNewHTTPSMSGateway(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, keyID string
		secret           []byte
		want             string // in the error; "" for none
	}{
		{"ok", "https://sms.example.gov.cn/v1/send", "authsvc-1", testSMSSecret, ""},
		{"plain http", "http://sms.example.gov.cn/v1/send", "authsvc-1", testSMSSecret, "https"},
		{"relative", "/v1/send", "authsvc-1", testSMSSecret, "https"},
		{"credentials in the URL", "https://u:p@sms.example.gov.cn/", "authsvc-1", testSMSSecret, "credentials"},
		{"no key id", "https://sms.example.gov.cn/", "", testSMSSecret, "key id"},
		{"key id with a newline", "https://sms.example.gov.cn/", "a\nb", testSMSSecret, "key id"},
		{"short secret", "https://sms.example.gov.cn/", "authsvc-1", testSMSSecret[:31], "at least 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewHTTPSMSGateway(tt.url, tt.keyID, tt.secret, nil, nil)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
