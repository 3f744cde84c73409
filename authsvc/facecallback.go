package authsvc

import (
	"io"
	"net/http"
)

// The face provider's side of a challenge: its signed callback, and the QR
// code that leads the citizen's phone to it (Config.Face).

// faceCallback takes the provider's signed result. Everything is checked
// (signature, freshness, the challenge pending and unexpired, the result
// for the account's own ID number) and every refusal is audited.
func (s *Server) faceCallback(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxFaceCallbackSize+1))
	if err != nil {
		s.audit(r.Context(), auditEvent{event: "face_callback", outcome: "refused", ip: clientIP(r), detail: "unreadable body: " + err.Error()})
		s.fail(w, r, bodyError(err))
		return
	}
	res, err := s.cfg.Face.VerifyCallback(body, s.cfg.Now(), s.cfg.FaceMaxAge)
	if err != nil {
		s.audit(r.Context(), auditEvent{event: "face_callback", outcome: "refused", ip: clientIP(r), detail: err.Error()})
		s.fail(w, r, err)
		return
	}
	if _, err := s.answerFace(r.Context(), res, clientIP(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "approved"})
}

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
	png, err := QRCodePNG(s.cfg.Face.ChallengeURL(id), 256)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

func (s *Server) faceData(title, id, status, poll string) pageData {
	d := pageData{Title: title, FaceID: id, FaceStatus: status, Dev: s.simulator() != nil}
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
	if s.simulator() != nil {
		out["simulator"] = "/dev/face/" + id
	}
	return out
}

// faceRoutes: the QR code of a challenge, and the provider's callback
// (server to server, signed).
func (s *Server) faceRoutes() []route {
	return []route{
		{"GET /face/{id}/qr.png", s.faceQR},
		{"POST /api/v1/face/callback", s.faceCallback},
	}
}
