package authsvc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The face provider's callback, the QR codes, and the development
// providers (SMS outbox page, face simulator).

// faceCallback takes the provider's signed result. Everything is checked
// (signature, freshness, the challenge pending and unexpired, the result
// for the account's own ID number) and every refusal is audited.
func (s *Server) faceCallback(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<10))
	if err != nil {
		s.fail(w, r, errBadRequest)
		return
	}
	res, err := VerifyFaceCallback(body, s.cfg.FacePublicKey, s.cfg.Now(), s.cfg.FaceMaxAge)
	if err != nil {
		s.audit(r.Context(), auditEvent{event: "face_callback", outcome: "refused", ip: clientIP(r), detail: err.Error()})
		s.fail(w, r, err)
		return
	}
	acc, err := s.answerFace(r.Context(), res)
	if err != nil {
		s.audit(r.Context(), auditEvent{event: "face_callback", outcome: "refused", account: acc, ip: clientIP(r), detail: err.Error()})
		s.fail(w, r, err)
		return
	}
	s.audit(r.Context(), auditEvent{event: "face_callback", outcome: "ok", account: acc, ip: clientIP(r)})
	writeJSON(w, http.StatusOK, map[string]string{"status": "approved"})
}

// faceURL is what the QR code holds: the page the province's app opens
// (in development, the simulator).
func (s *Server) faceURL(id string) string { return s.cfg.BaseURL + "/dev/face/" + id }

// faceQR serves a challenge's QR code, to the session that owns it only.
func (s *Server) faceQR(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if _, err := s.faceStatus(r.Context(), sess, id); err != nil {
		s.fail(w, r, err)
		return
	}
	png, err := QRCodePNG(s.faceURL(id), 256)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

func (s *Server) faceData(title, id, status, poll string) pageData {
	d := pageData{Title: title, FaceID: id, FaceStatus: status, Dev: s.cfg.Dev}
	switch status {
	case "pending", "approved":
		d.Refresh = 2 // the page polls by reloading: no script needed
	case "rejected":
		d.Error = "人脸识别未通过：须由账号使用人本人进行人脸识别"
	case "expired":
		d.Error = "二维码已过期，请刷新页面重新获取"
	}
	return d
}

func (s *Server) faceJSON(id, status string) map[string]any {
	out := map[string]any{"challenge": id, "status": status, "qr": "/face/" + id + "/qr.png"}
	if s.cfg.Dev {
		out["simulator"] = "/dev/face/" + id
	}
	return out
}

// devOutbox lists the development SMS outbox.
func (s *Server) devOutbox(w http.ResponseWriter, r *http.Request) {
	rows, err := s.pool.Query(r.Context(), `SELECT phone_hint, body, created_at FROM sms_outbox ORDER BY id DESC LIMIT 50`)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rows.Close()
	var msgs []outboxMessage
	for rows.Next() {
		var m outboxMessage
		var at time.Time
		if err := rows.Scan(&m.Phone, &m.Body, &at); err != nil {
			s.fail(w, r, err)
			return
		}
		m.At = at.In(shanghai).Format("2006-01-02 15:04:05")
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "outbox.html", pageData{Title: "开发环境短信发件箱", Messages: msgs})
}

type outboxMessage struct{ Phone, Body, At string }

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// devFacePage is the face simulator: it plays the province's app for a
// challenge.
func (s *Server) devFacePage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "simulator.html", pageData{Title: "人脸识别模拟器（开发环境）", FaceID: r.PathValue("id")})
}

// devFaceAnswer signs a result as the provider would and delivers it to
// the callback over HTTP, as the provider does.
func (s *Server) devFaceAnswer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	idNumber := NormalizeIDNumber(r.PostFormValue("id_number"))
	result := FacePass
	switch r.PostFormValue("verdict") {
	case "reject":
		result = FaceFail
	case "other":
		idNumber = "110101199003070000" // someone else's face
	}
	status, err := s.SimulateFace(r.Context(), id, idNumber, result)
	d := pageData{Title: "人脸识别模拟器（开发环境）", FaceID: id}
	if err != nil {
		d.Error = err.Error()
	} else {
		d.Notice = fmt.Sprintf("已回调：HTTP %d", status)
	}
	s.render(w, r, "simulator.html", d)
}

// SimulateFace signs a face result with the development key and posts it
// to this service's callback, returning the HTTP status it got. For the
// simulator page and tests; only with Config.Dev.
func (s *Server) SimulateFace(ctx context.Context, challenge, idNumber, result string) (int, error) {
	if !s.cfg.Dev {
		return 0, fmt.Errorf("the face simulator is off outside development")
	}
	body, err := SignFaceResult(s.cfg.FaceDevKey, FaceResult{Challenge: challenge, IDNumber: idNumber, Result: result,
		IssuedAt: s.cfg.Now().Unix(), Nonce: NewFaceNonce()})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.BaseURL+"/api/v1/face/callback", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
