package authsvc

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// The face provider's side of a challenge: its signed callback, and the QR
// code that leads the citizen's phone to it (Config.Face).

// signedCallback is the handler of a provider's signed callback (the face
// app's, the electronic business licence app's): the body read within
// MaxFaceCallbackSize, verified by the provider (signature, freshness),
// then answered (the challenge pending, unexpired and of its purpose; the
// result for its account). Every refusal is audited as event, named by
// detail.
func signedCallback[T any](s *Server, event, detail string, verify func(body []byte, now time.Time, maxAge time.Duration) (T, error),
	answer func(ctx context.Context, res T, ip string) (int64, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		refused := func(why string) {
			s.audit(r.Context(), auditEvent{event: event, outcome: "refused", ip: clientIP(r), detail: strings.TrimPrefix(detail+"; "+why, "; ")})
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxFaceCallbackSize+1))
		if err != nil {
			refused("unreadable body: " + err.Error())
			s.fail(w, r, bodyError(err))
			return
		}
		res, err := verify(body, s.cfg.Now(), s.cfg.FaceMaxAge)
		if err != nil {
			refused(err.Error())
			s.fail(w, r, err)
			return
		}
		if _, err := answer(r.Context(), res, clientIP(r)); err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "approved"})
	}
}

// challengeQR serves the QR code of a challenge, to the session that owns
// it only: the provider's address for it (challengeURL).
func (s *Server) challengeQR(challengeURL func(id string) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
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
		png, err := QRCodePNG(challengeURL(id), 256)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	}
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
		{"GET /face/{id}/qr.png", s.challengeQR(s.cfg.Face.ChallengeURL)},
		{"POST /api/v1/face/callback", signedCallback(s, "face_callback", "", s.cfg.Face.VerifyCallback, s.answerFace)},
	}
}
