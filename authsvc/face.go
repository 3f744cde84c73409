package authsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
)

// Face challenge purposes.
const (
	faceLogin    = "login"    // a first factor
	faceComplete = "complete" // step ③ of the completion
	faceRegister = "register" // step ③ of a registration (register.go)
)

// Errors of face challenges.
var (
	errFaceUnknown  = errors.New("no such face challenge for this session")
	errFaceAnswered = errors.New("face challenge already answered")
	errFaceExpired  = errors.New("face challenge expired")
	errFacePerson   = errors.New("face result is for another person")
	// errNoRepresentative: a legal account without a representative on
	// record, whose face checks nobody can pass.
	errNoRepresentative = errors.New("legal account has no representative on record")
)

// noRepresentativeMessage tells a legal person without a representative on
// record the seed's way round the face check: the documents by mail to
// the service staff (2.2.3).
const noRepresentativeMessage = "该法人账号未登记法定代表人信息，无法进行法定代表人人脸核验。请将法定代表人身份证照片、营业执照、单位信息修改授权书盖章扫描件或照片发送至客服邮箱，并说明诉求，客服人员核实后将为您处理。"

// startFace creates a challenge for the session's browser and the account
// (0: a login naming an ID number without an account; the challenge then
// fails like any other).
func (s *Server) startFace(ctx context.Context, sess *session, accountID int64, purpose string) (string, error) {
	id, err := NewChallengeID()
	if err != nil {
		return "", err
	}
	var acc *int64
	if accountID != 0 {
		acc = &accountID
	}
	now := s.cfg.Now()
	_, err = s.pool.Exec(ctx, `INSERT INTO face_challenge (id, session_hash, account_id, purpose, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, sess.hash, acc, purpose, now, now.Add(s.cfg.FaceTTL))
	return id, err
}

// faceStatus is a challenge's status as its own session sees it:
// pending, approved, rejected, used or expired.
func (s *Server) faceStatus(ctx context.Context, sess *session, id string) (string, error) {
	var status string
	var pending bool
	err := s.pool.QueryRow(ctx, `SELECT status, status = 'pending' AND expires_at <= $3 FROM face_challenge WHERE id = $1 AND session_hash = $2`,
		id, sess.hash, s.cfg.Now()).Scan(&status, &pending)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return "", errFaceUnknown
	}
	if pending {
		return "expired", err
	}
	return status, err
}

// answerFace records the face provider's verified result for a challenge:
// approved only when the challenge is pending and fresh and the result is
// a pass for the account's own ID number. Anything else is refused; a
// failed or wrong-person result counts against the account. Every outcome
// is audited (ip: the provider's), a stored one in its transaction.
func (s *Server) answerFace(ctx context.Context, res FaceResult, ip string) (accountID int64, err error) {
	// A refused result is stored as the challenge's answer (it commits);
	// the refusal goes back to the caller after.
	var refusal error
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		refusal = nil
		var acc *int64
		var status string
		var expired bool
		var wantBidx []byte // a registration's: the ID number it must prove
		err := tx.QueryRow(ctx, `SELECT account_id, status, expires_at <= $2, id_bidx FROM face_challenge WHERE id = $1 AND purpose NOT IN ($3, $4) FOR UPDATE`,
			res.Challenge, s.cfg.Now(), faceLicence, faceCA).Scan(&acc, &status, &expired, &wantBidx)
		if errors.Is(database.Translate(err), database.ErrNotFound) {
			return errFaceUnknown
		}
		if err != nil {
			return err
		}
		if acc != nil {
			accountID = *acc
		}
		switch {
		case status != "pending":
			return errFaceAnswered
		case expired:
			return errFaceExpired
		}
		verdict := "rejected"
		if res.Result != FacePass {
			refusal = errFaceFailed
		} else if acc == nil && wantBidx != nil {
			// A registration's challenge: the face must be the holder of
			// the ID number the registrant gave.
			if !bytes.Equal(wantBidx, s.idIndex(res.IDNumber)) {
				refusal = errFacePerson
			} else {
				verdict = "approved"
			}
		} else if acc == nil {
			refusal = errFacePerson
		} else {
			// A legal account's face is its representative's.
			bidx, err := account.FaceIndexOf(ctx, tx, *acc)
			if err != nil {
				return err
			}
			if bidx == nil || !bytes.Equal(bidx, s.idIndex(res.IDNumber)) {
				refusal = errFacePerson
			} else {
				verdict = "approved"
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE face_challenge SET status = $2, answered_at = $3 WHERE id = $1`, res.Challenge, verdict, s.cfg.Now()); err != nil {
			return err
		}
		// The audit row before the account's: see signIn.
		e := auditEvent{event: "face_callback", outcome: "ok", account: accountID, ip: ip}
		if refusal != nil {
			e.outcome, e.detail = "refused", refusal.Error()
		}
		if err := s.auditIn(ctx, tx, e); err != nil {
			return err
		}
		if refusal != nil {
			return s.lockout.CountFailure(ctx, tx, accountID, s.cfg.Now())
		}
		return nil
	})
	if err != nil {
		s.audit(ctx, auditEvent{event: "face_callback", outcome: "refused", account: accountID, ip: ip, detail: err.Error()})
		return accountID, err
	}
	return accountID, refusal
}

var errFaceFailed = errors.New("the face did not match")

// useFace spends an approved challenge of this session (once) and returns
// its account.
func (s *Server) useFace(ctx context.Context, q querier, sess *session, id, purpose string) (int64, error) {
	var acc int64
	err := q.QueryRow(ctx, `UPDATE face_challenge SET status = 'used'
		WHERE id = $1 AND session_hash = $2 AND purpose = $3 AND status = 'approved' AND account_id IS NOT NULL
		RETURNING account_id`, id, sess.hash, purpose).Scan(&acc)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return 0, fmt.Errorf("%w: not approved, used, or not this session's", errFaceUnknown)
	}
	return acc, err
}
