package authsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

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
// a pass for the account's own ID number (a registration's: the ID number
// it must prove; a legal account's: its representative's). Anything else
// is refused; a failed or wrong-person result counts against the account.
// Licence and CA challenges are not the face provider's to answer.
func (s *Server) answerFace(ctx context.Context, res FaceResult, ip string) (int64, error) {
	return s.answerChallenge(ctx, res.Challenge, "face_callback", "", ip,
		func(purpose string) bool { return purpose != faceLicence && purpose != faceCA },
		func(tx pgx.Tx, c challengeRow) (*int64, int64, error, error) {
			var accountID int64
			if c.account != nil {
				accountID = *c.account
			}
			switch {
			case res.Result != FacePass:
				return nil, accountID, errFaceFailed, nil
			case c.account == nil && c.idBidx != nil:
				// A registration's challenge: the face must be the holder
				// of the ID number the registrant gave.
				if !bytes.Equal(c.idBidx, s.idIndex(res.IDNumber)) {
					return nil, 0, errFacePerson, nil
				}
				return nil, 0, nil, nil
			case c.account == nil:
				return nil, 0, errFacePerson, nil
			}
			// A legal account's face is its representative's.
			bidx, err := account.FaceIndexOf(ctx, tx, accountID)
			if err != nil {
				return nil, accountID, nil, err
			}
			if bidx == nil || !bytes.Equal(bidx, s.idIndex(res.IDNumber)) {
				return nil, accountID, errFacePerson, nil
			}
			return nil, accountID, nil, nil
		})
}

// challengeRow is a challenge as its answer reads it.
type challengeRow struct {
	account *int64 // set at the start, or by the answer
	idBidx  []byte // a registration's: the ID number it must prove
}

// answerChallenge records a provider's verified answer to a challenge, in
// one transaction: the challenge locked, of a purpose the provider may
// answer (accepts), pending and unexpired; decide gives the verdict — the
// account to approve it with (nil keeps the challenge's), the account a
// refusal counts against (0: nobody), and the refusal (nil: approved). The
// answer and its audit row (event, detail, ip: the provider's) are stored
// together and a refusal is counted in the same transaction; the refusal
// goes back to the caller after the commit, an error that stored nothing
// is audited on its own.
func (s *Server) answerChallenge(ctx context.Context, id, event, detail, ip string, accepts func(purpose string) bool,
	decide func(tx pgx.Tx, c challengeRow) (approve *int64, accountID int64, refusal, err error)) (accountID int64, err error) {
	withDetail := func(why string) string { return strings.TrimPrefix(detail+"; "+why, "; ") }
	var refusal error
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		refusal, accountID = nil, 0
		var c challengeRow
		var status, purpose string
		var expired bool
		var sessHash []byte // the row's key with id: the update below is routed by it
		err := tx.QueryRow(ctx, `SELECT session_hash, account_id, id_bidx, status, purpose, expires_at <= $2 FROM face_challenge WHERE id = $1 FOR UPDATE`,
			id, s.cfg.Now()).Scan(&sessHash, &c.account, &c.idBidx, &status, &purpose, &expired)
		if errors.Is(database.Translate(err), database.ErrNotFound) {
			return errFaceUnknown
		}
		switch {
		case err != nil:
			return err
		case !accepts(purpose):
			return errFaceUnknown
		case status != "pending":
			return errFaceAnswered
		case expired:
			return errFaceExpired
		}
		if c.account != nil {
			accountID = *c.account
		}
		approve, counted, why, err := decide(tx, c)
		if err != nil {
			return err
		}
		refusal = why
		if counted != 0 {
			accountID = counted
		}
		verdict := "approved"
		if refusal != nil {
			verdict, approve = "rejected", nil
		}
		if _, err := tx.Exec(ctx, `UPDATE face_challenge SET status = $2, answered_at = $3, account_id = coalesce($4, account_id)
			WHERE session_hash = $5 AND id = $1`, id, verdict, s.cfg.Now(), approve, sessHash); err != nil {
			return err
		}
		// The audit row before the account's: see signIn.
		e := auditEvent{event: event, outcome: "ok", account: accountID, ip: ip, detail: detail}
		if refusal != nil {
			e.outcome, e.detail = "refused", withDetail(refusal.Error())
		}
		if err := s.auditIn(ctx, tx, e); err != nil {
			return err
		}
		if refusal != nil && counted != 0 {
			return s.lockout.CountFailure(ctx, tx, counted, s.cfg.Now())
		}
		return nil
	})
	if err != nil {
		s.audit(ctx, auditEvent{event: event, outcome: "refused", account: accountID, ip: ip, detail: withDetail(err.Error())})
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
