package authsvc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
)

// SMSSender sends a text message to a mainland mobile number. The
// production sender is the province's SMS gateway; the development one is
// the outbox.
type SMSSender interface {
	Send(ctx context.Context, phone, text string) error
}

// Outbox is the development SMSSender: it stores each message (phone
// masked) in sms_outbox, listed at /dev/sms, instead of sending it.
type Outbox struct {
	q querier
	// now is the service's clock, so that Purge (given the same clock)
	// ages the messages as the codes they carry.
	now func() time.Time
}

// Send stores the message.
func (o Outbox) Send(ctx context.Context, phone, text string) error {
	_, err := o.q.Exec(ctx, `INSERT INTO sms_outbox (phone_hint, body, created_at) VALUES ($1, $2, $3)`, pii.MaskPhone(phone), text, o.now())
	return err
}

// Code purposes: a code proves a phone for one purpose only.
const (
	purposeLogin       = "login"
	purposeVerifyPhone = "verify_phone"
	purposeRecover     = "recover"      // forgot password (recovery.go)
	purposeNewPhone    = "phone_change" // the new phone of a change (phone.go)
	purposeRegister    = "register"     // step ① of a registration: the phone is the registrant's
)

// Errors of sending and checking codes.
var (
	errCodeTooSoon = errors.New("a code was sent to this phone moments ago")
	errCodeDayCap  = errors.New("this phone got its codes for the day")
	errCodeIPCap   = errors.New("this client asked for too many codes")
	errCodeWrong   = errors.New("wrong, expired or used code")
)

// codeHash keys the stored code: six digits hashed without a key would be
// read back from a copy of the table in a million tries.
func (s *Server) codeHash(phoneBidx []byte, purpose, code string) []byte {
	return s.cfg.Keyring.BlindIndex("sms_code", fmt.Sprintf("%x|%s|%s", phoneBidx, purpose, code))
}

// sendCode issues a fresh code to phone for purpose, within the limits:
// one per CodeInterval and CodesPerDay a day per phone, CodesPerIPHour an
// hour per client address (ip, as clientNet gives it), counted under a
// lock on the phone so parallel requests cannot slip past them. The code
// is sent only when deliver: a request that must not learn whether the
// phone matched is limited, and answered, the same way.
func (s *Server) sendCode(ctx context.Context, phone, purpose string, accountID int64, ip string, deliver bool) error {
	bidx := s.phoneIndex(phone)
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	now := s.cfg.Now()
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		// The address first, then the phone: every request locks in the
		// same order.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sms-ip:' || $2, 7)),
			pg_advisory_xact_lock(hashtextextended(encode($1::bytea, 'hex'), 7))`, bidx, ip); err != nil {
			return err
		}
		var recent, today, fromIP int
		if err := tx.QueryRow(ctx, `SELECT
				count(*) FILTER (WHERE created_at > $2),
				count(*) FILTER (WHERE created_at > $3),
				(SELECT count(*) FROM sms_code WHERE ip = $4 AND created_at > $5)
			FROM sms_code WHERE phone_bidx = $1 AND created_at > $3`,
			bidx, now.Add(-s.cfg.CodeInterval), now.Add(-24*time.Hour), ip, now.Add(-time.Hour)).Scan(&recent, &today, &fromIP); err != nil {
			return err
		}
		switch {
		case recent > 0:
			return errCodeTooSoon
		case today >= s.cfg.CodesPerDay:
			return errCodeDayCap
		case ip != "" && fromIP >= s.cfg.CodesPerIPHour:
			return errCodeIPCap
		}
		var acc *int64
		if accountID != 0 {
			acc = &accountID
		}
		// A code that is not sent is stored already expired: it counts
		// for the limits but never shadows the code the phone did get
		// (else anyone knowing a phone could void its codes).
		expires := now.Add(s.cfg.CodeTTL)
		if !deliver {
			expires = now
		}
		_, err := tx.Exec(ctx, `INSERT INTO sms_code (phone_bidx, purpose, account_id, code_hash, ip, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, bidx, purpose, acc, s.codeHash(bidx, purpose, code), ip, now, expires)
		return err
	})
	if err != nil || !deliver {
		return err
	}
	text := fmt.Sprintf("【统一身份认证】您的验证码为%s，%d分钟内有效。请勿泄露给他人，工作人员不会向您索取验证码。", code, int(s.cfg.CodeTTL.Minutes()))
	return s.cfg.SMS.Send(ctx, phone, text)
}

// checkCode uses the newest live code of phone for purpose sent for
// accountID if code is it: exactly once, however many requests submit it
// at the same moment. Every check first claims one of the code's
// CodeTries (a conditional UPDATE), then compares: parallel guesses cannot
// get more tries than that, and after the last the code is dead. A code
// and its tries belong to its account and phone: a check naming another
// account never touches it. accountID 0 (a login naming no account, or
// not the phone on record) finds no code: the check then costs what a
// wrong code does and claims nobody's try.
func (s *Server) checkCode(ctx context.Context, accountID int64, phone, purpose, code string) error {
	return s.useCode(ctx, "account_id = $5", accountID, s.phoneIndex(phone), purpose, code)
}

// checkCodeAt is checkCode for the phone with blind index bidx.
func (s *Server) checkCodeAt(ctx context.Context, accountID int64, bidx []byte, purpose, code string) error {
	return s.useCode(ctx, "account_id = $5", accountID, bidx, purpose, code)
}

// checkRegisterCode uses the newest live registration code of phone if
// code is it, like checkCode: a registration's codes belong to no
// account yet.
func (s *Server) checkRegisterCode(ctx context.Context, phone, code string) error {
	return s.useCode(ctx, "account_id IS NULL AND $5::bigint = 0", int64(0), s.phoneIndex(phone), purposeRegister, code)
}

// useCode is checkCode with the condition on the code's account_id ($5 is
// accountArg), for the phone with blind index bidx.
func (s *Server) useCode(ctx context.Context, accountCond string, accountArg int64, bidx []byte, purpose, code string) error {
	want := s.codeHash(bidx, purpose, code) // before: a check finding no code does the same work
	now := s.cfg.Now()
	var id int64
	var stored []byte
	err := s.pool.QueryRow(ctx, `UPDATE sms_code SET attempts = attempts + 1
		WHERE phone_bidx = $1 AND id = (SELECT id FROM sms_code
			WHERE phone_bidx = $1 AND purpose = $2 AND `+accountCond+` AND used_at IS NULL AND expires_at > $3 AND attempts < $4
			ORDER BY created_at DESC, id DESC LIMIT 1)
		AND used_at IS NULL AND attempts < $4
		RETURNING id, code_hash`, bidx, purpose, now, s.cfg.CodeTries, accountArg).Scan(&id, &stored)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return errCodeWrong
	}
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(stored, want) != 1 {
		return errCodeWrong
	}
	// A used code expires then too (see Purge); the limits count
	// created_at, which stays.
	tag, err := s.pool.Exec(ctx, `UPDATE sms_code SET used_at = $2, expires_at = LEAST(expires_at, $2)
		WHERE phone_bidx = $3 AND id = $1 AND used_at IS NULL`, id, now, bidx)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return errCodeWrong // another request used it first
	}
	return nil
}

// sendOutcome is the audit outcome of a code send: refused by a limit, or
// failed (the gateway, the database) — an operator looks for the latter.
func sendOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errCodeTooSoon), errors.Is(err, errCodeDayCap), errors.Is(err, errCodeIPCap):
		return "limited"
	}
	return "error"
}
