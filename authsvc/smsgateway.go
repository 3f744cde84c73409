package authsvc

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// HTTPSMSGateway is the production SMSSender: the province's SMS gateway,
// over HTTPS. Each message is one request:
//
//	POST <URL>
//	Content-Type: application/json
//	X-SMS-Key-Id: <key id>
//	X-SMS-Timestamp: <Unix seconds, decimal>
//	X-SMS-Signature: <lowercase hex of HMAC-SHA256(secret, timestamp + "\n" + body)>
//
//	{"request_id":"<32 lowercase hex, new for every message>","phone":"<11 digits>","text":"<the message, UTF-8>"}
//
// The gateway finds the secret by the key id, recomputes the signature
// over the exact body bytes and compares it in constant time, refuses a
// timestamp more than 5 minutes from its clock, and refuses a request_id
// it has seen within that window: a captured request is neither changed
// nor sent again. The key id and the secret never travel in the clear
// otherwise; the URL must be https.
//
// It answers success with HTTP 2xx and the JSON object
//
//	{"status":"ok"}
//
// (other fields, such as the gateway's message id, are ignored). Anything
// else is a failure: another HTTP status, a body that is not that JSON,
// or {"status":"error","error":"<a short code, e.g. INVALID_PHONE>"}. The
// error returned names the HTTP status and the gateway's error code when
// it is a plain token; never the phone or the text, which holds the code.
type HTTPSMSGateway struct {
	url    string
	keyID  string
	secret []byte
	client *http.Client
	now    func() time.Time
}

// SMSGatewayTimeout is how long HTTPSMSGateway waits for the gateway's
// answer: the citizen waits for the page meanwhile.
const SMSGatewayTimeout = 5 * time.Second

// minSMSSecretLen is the shortest shared secret accepted, in bytes: 32
// random characters carry well over 128 bits.
const minSMSSecretLen = 32

// maxSMSAnswer is the most of an answer read: {"status":"ok"} and a few
// ids fit many times over.
const maxSMSAnswer = 4 << 10

// NewHTTPSMSGateway returns the gateway at gatewayURL (https, no
// credentials in it), signing with keyID's secret (at least 32 bytes).
// client carries the requests (nil: a client with SMSGatewayTimeout; a
// copy is used, never following redirects); now is the clock of the
// timestamps (nil: time.Now).
func NewHTTPSMSGateway(gatewayURL, keyID string, secret []byte, client *http.Client, now func() time.Time) (*HTTPSMSGateway, error) {
	u, err := url.Parse(gatewayURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("SMS gateway URL: %w", err)
	case u.Scheme != "https" || u.Host == "":
		return nil, errors.New("SMS gateway URL must be an absolute https URL: the messages hold the codes")
	case u.User != nil:
		return nil, errors.New("SMS gateway URL holds credentials; give the key id and secret instead")
	case keyID == "" || !smsToken.MatchString(keyID):
		return nil, errors.New("SMS gateway key id must be 1-64 letters, digits, '.', '_' or '-'")
	case len(secret) < minSMSSecretLen:
		return nil, fmt.Errorf("SMS gateway secret is %d bytes, want at least %d", len(secret), minSMSSecretLen)
	}
	c := http.Client{Timeout: SMSGatewayTimeout}
	if client != nil {
		c = *client
	}
	// A redirect is an answer, not followed: a 307 would repeat the signed
	// request, custom headers and all, wherever it points.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if now == nil {
		now = time.Now
	}
	return &HTTPSMSGateway{url: gatewayURL, keyID: keyID, secret: bytes.Clone(secret), client: &c, now: now}, nil
}

// smsToken is a key id, or a gateway error code fit to log.
var smsToken = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// smsRequest is the body of a gateway request.
type smsRequest struct {
	RequestID string `json:"request_id"`
	Phone     string `json:"phone"`
	Text      string `json:"text"`
}

// smsAnswer is the gateway's answer.
type smsAnswer struct {
	Status string `json:"status"`
	Error  string `json:"error"`
}

// ErrSMSGateway wraps every failure of the gateway to take a message.
var ErrSMSGateway = errors.New("SMS gateway refused or failed")

// Send posts the message to the gateway. ctx bounds it besides the
// client's timeout.
func (g *HTTPSMSGateway) Send(ctx context.Context, phone, text string) error {
	body, err := json.Marshal(smsRequest{RequestID: NewFaceNonce(), Phone: phone, Text: text})
	if err != nil {
		return fmt.Errorf("%w: encode: %w", ErrSMSGateway, err)
	}
	ts := strconv.FormatInt(g.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSMSGateway, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-SMS-Key-Id", g.keyID)
	req.Header.Set("X-SMS-Timestamp", ts)
	req.Header.Set("X-SMS-Signature", SMSSignature(g.secret, ts, body))
	resp, err := g.client.Do(req)
	if err != nil {
		// A *url.Error names the method and the URL (configuration, no
		// secret in it), and whether it timed out.
		return fmt.Errorf("%w: %w", ErrSMSGateway, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxSMSAnswer))
	if err != nil {
		return fmt.Errorf("%w: HTTP %d, reading the answer: %w", ErrSMSGateway, resp.StatusCode, err)
	}
	var ans smsAnswer
	jsonErr := json.Unmarshal(raw, &ans)
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return fmt.Errorf("%w: HTTP %d%s", ErrSMSGateway, resp.StatusCode, ans.describe())
	case jsonErr != nil:
		return fmt.Errorf("%w: HTTP %d, the answer is not JSON", ErrSMSGateway, resp.StatusCode)
	case ans.Status != "ok":
		return fmt.Errorf("%w: HTTP %d%s", ErrSMSGateway, resp.StatusCode, ans.describe())
	}
	return nil
}

// describe gives the answer's status and error code for an error message,
// each only when it is a plain token: a gateway echoing the request could
// otherwise put the phone or the code in a log.
func (a smsAnswer) describe() string {
	var out string
	for _, f := range []struct{ name, v string }{{"status", a.Status}, {"error", a.Error}} {
		switch {
		case f.v == "":
		case smsToken.MatchString(f.v):
			out += ", " + f.name + " " + f.v
		default:
			out += ", " + f.name + " not shown (not a plain code)"
		}
	}
	return out
}

// SMSSignature is the X-SMS-Signature of a request: the lowercase hex of
// HMAC-SHA256 under secret of the timestamp, a newline, and the body, for
// the gateway (and its tests) to recompute.
func SMSSignature(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'\n'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
