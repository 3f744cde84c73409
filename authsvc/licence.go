package authsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
)

// The electronic business licence scan login (电子营业执照, 法人登录): the
// page shows a QR code of a challenge (face_challenge, purpose 'licence',
// no account yet) bound to the browser's anonymous session; the legal
// representative scans it with the licence app, WeChat or Alipay mini
// program, and the app calls back with a signed LicenceResult (the credit
// code of the licence, the ID number of the representative who confirmed
// it). The callback is verified like the face's (one mechanism,
// verifySigned) and answers the challenge once; the polling session spends
// it (useFace) and signs in (methodLicence). Only with Config.Licence.

// faceLicence is the purpose of a licence login's challenge.
const faceLicence = "licence"

// licenceProvider names the provider in the audit rows.
const licenceProvider = "provider=电子营业执照"

// Errors of a licence callback, as the provider is answered.
var (
	errLicenceUnknown = errors.New("no legal account has the licence's credit code")
	errLicenceRep     = errors.New("the licence was confirmed by someone other than the representative on record")
	errLicenceFailed  = errors.New("the licence app reported a failed verification")
)

// challengeSession is the browser's session for a challenge: its own, or
// a new anonymous one, going to returnTo after the login.
func (s *Server) challengeSession(ctx context.Context, w http.ResponseWriter, r *http.Request, returnTo string) (*session, error) {
	sess, err := s.session(ctx, r)
	switch {
	case errors.Is(err, errNoSession):
		sess, err = s.startSession(ctx, s.pool, w, kindAnonymous, 0, safeReturn(returnTo))
	case err == nil && sess.returnTo != safeReturn(returnTo):
		// signIn takes where to go from the session.
		sess.returnTo = safeReturn(returnTo)
		_, err = s.pool.Exec(ctx, `UPDATE auth_session SET return_to = $2 WHERE id_hash = $1`, sess.hash, sess.returnTo)
	}
	return sess, err
}

// startLicenceLogin binds a licence challenge to this browser. It names no
// account: the scan says which.
func (s *Server) startLicenceLogin(ctx context.Context, w http.ResponseWriter, r *http.Request, returnTo string) (string, error) {
	sess, err := s.challengeSession(ctx, w, r, returnTo)
	if err != nil {
		return "", err
	}
	id, err := s.startFace(ctx, sess, 0, faceLicence)
	if err != nil {
		return "", err
	}
	s.audit(ctx, auditEvent{event: "licence_login_start", outcome: "ok", ip: clientIP(r), detail: licenceProvider})
	return id, nil
}

// licenceLoginStatus answers the polling of a licence login: once the app
// approved, the challenge is spent and the legal person signed in.
func (s *Server) licenceLoginStatus(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) (string, loginResult, error) {
	return s.challengeLoginStatus(ctx, w, r, id, faceLicence, methodLicence)
}

// answerLicence records the licence app's verified result for a
// challenge: approved, with the account, only when the challenge is a
// pending, unexpired licence login's, the credit code names a legal
// account, the result is a pass and the representative who confirmed it
// is the account's on record. A fail or another representative counts a
// failure against the account. Every outcome is audited (ip: the
// provider's), a stored one in its transaction.
func (s *Server) answerLicence(ctx context.Context, res LicenceResult, ip string) (int64, error) {
	return s.answerChallenge(ctx, res.Challenge, "licence_callback", licenceProvider, ip,
		func(purpose string) bool { return purpose == faceLicence },
		func(tx pgx.Tx, _ challengeRow) (*int64, int64, error, error) {
			// The credit code's own blind-index domain: an ID number never
			// names an account here.
			code, ok := account.NormalizeCreditCode(res.CreditCode)
			if !ok {
				code = strings.ToUpper(strings.TrimSpace(res.CreditCode))
			}
			a, err := account.ByIDIndex(ctx, tx, account.CreditCodeIndex(s.cfg.Keyring, code))
			switch {
			case err != nil:
				return nil, 0, nil, err
			case a == nil || !a.IsLegal():
				return nil, 0, errLicenceUnknown, nil
			case res.Result != LicencePass:
				return nil, a.ID, errLicenceFailed, nil
			case a.Legal == nil || a.Legal.RepBidx == nil || !bytes.Equal(a.Legal.RepBidx, s.idIndex(res.RepIDNumber)):
				return nil, a.ID, errLicenceRep, nil
			}
			return &a.ID, a.ID, nil, nil
		})
}

func (s *Server) licenceData(id, status string) pageData {
	d := pageData{Title: "电子营业执照登录", FaceID: id, FaceStatus: status, Dev: s.licenceSimulator() != nil}
	switch status {
	case "pending", "approved":
		d.Refresh = 2
	case "rejected":
		d.Error = "电子营业执照认证未通过：须由登记的法定代表人本人扫码确认"
	case "expired":
		d.Error = "二维码已过期，请刷新页面重新获取"
	}
	return d
}

func (s *Server) licenceJSON(id, status string) map[string]any {
	out := map[string]any{"challenge": id, "status": status, "qr": "/licence/" + id + "/qr.png"}
	if s.licenceSimulator() != nil {
		out["simulator"] = "/dev/licence/" + id
	}
	return out
}

func (s *Server) loginLicenceForm(w http.ResponseWriter, r *http.Request) {
	id, err := s.startLicenceLogin(r.Context(), w, r, r.PostFormValue("return_to"))
	if err != nil {
		s.loginForm(w, r, legalLicenceTab, err, "")
		return
	}
	http.Redirect(w, r, "/login/licence/"+id, http.StatusSeeOther)
}

func (s *Server) loginLicencePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	status, res, err := s.licenceLoginStatus(r.Context(), w, r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if status == "used" {
		http.Redirect(w, r, res.Next, http.StatusSeeOther)
		return
	}
	s.render(w, r, "licence.html", s.licenceData(id, status))
}

func (s *Server) apiLoginLicence(w http.ResponseWriter, r *http.Request) {
	var in loginRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.startLicenceLogin(r.Context(), w, r, in.ReturnTo)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.licenceJSON(id, "pending"))
}

func (s *Server) apiLoginLicenceStatus(w http.ResponseWriter, r *http.Request) {
	status, res, err := s.licenceLoginStatus(r.Context(), w, r, r.PathValue("id"))
	s.writeChallengeStatus(w, r, s.licenceJSON(r.PathValue("id"), status), status, res, err)
}

// legalLicenceTab is the 法人登录 tab of the licence scan.
const legalLicenceTab = "legal-licence"

// licenceSimulator is the licence simulator when it is the licence
// provider, else nil.
func (s *Server) licenceSimulator() *LicenceSimulator {
	sim, _ := s.cfg.Licence.(*LicenceSimulator)
	return sim
}

// SimulateLicence signs a licence result with the simulator's key and
// posts it to this service's callback, returning the HTTP status it got.
// For the simulator page and tests; only when the simulator is the licence
// provider (Config.Dev).
func (s *Server) SimulateLicence(ctx context.Context, challenge, creditCode, repIDNumber, result string) (int, error) {
	sim := s.licenceSimulator()
	if sim == nil {
		return 0, fmt.Errorf("the licence simulator is not the licence provider")
	}
	body, err := sim.sign(LicenceResult{Challenge: challenge, CreditCode: creditCode, RepIDNumber: repIDNumber, Result: result,
		IssuedAt: s.cfg.Now().Unix(), Nonce: NewFaceNonce()})
	if err != nil {
		return 0, err
	}
	return s.postCallback(ctx, "/api/v1/licence/callback", body)
}

// devLicencePage is the licence simulator: it plays the licence app.
func (s *Server) devLicencePage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "licence_simulator.html", pageData{Title: "电子营业执照模拟器（开发环境）", FaceID: r.PathValue("id")})
}

// devLicenceAnswer signs what the developer typed and delivers it to the
// callback over HTTP, as the app does.
func (s *Server) devLicenceAnswer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	result := LicencePass
	if r.PostFormValue("verdict") == "reject" {
		result = LicenceFail
	}
	status, err := s.SimulateLicence(r.Context(), id, r.PostFormValue("credit_code"), r.PostFormValue("rep_id_number"), result)
	d := pageData{Title: "电子营业执照模拟器（开发环境）", FaceID: id}
	if err != nil {
		d.Error = err.Error()
	} else {
		d.Notice = fmt.Sprintf("已回调：HTTP %d", status)
	}
	s.render(w, r, "licence_simulator.html", d)
}

// licenceRoutes: the licence scan login (pages and JSON), its QR codes,
// the app's signed callback, and the simulator (with --dev). None without
// Config.Licence.
func (s *Server) licenceRoutes() []route {
	if s.cfg.Licence == nil {
		return nil
	}
	out := []route{
		{"POST /login/licence", s.limited(s.loginLicenceForm)},
		{"GET /login/licence/{id}", s.loginLicencePage},
		{"GET /licence/{id}/qr.png", s.challengeQR(s.cfg.Licence.ChallengeURL)},
		{"POST /api/v1/licence/callback", signedCallback(s, "licence_callback", licenceProvider, s.cfg.Licence.VerifyCallback, s.answerLicence)},
		{"POST /api/v1/login/licence", s.limited(s.apiLoginLicence)},
		{"GET /api/v1/login/licence/{id}", s.apiLoginLicenceStatus},
	}
	if s.licenceSimulator() != nil {
		out = append(out, route{"GET /dev/licence/{id}", s.devLicencePage}, route{"POST /dev/licence/{id}", s.devLicenceAnswer})
	}
	return out
}
