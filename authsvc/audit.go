package authsvc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The audit log (auth_audit) is append-only and hash-chained in the
// database (migration 012): a trigger refuses UPDATE, DELETE and TRUNCATE,
// and a BEFORE INSERT trigger numbers each row and sets
//
//	prev_hash = the hash of the row before (32 zero bytes for the first)
//	hash      = SHA-256(prev_hash || content)
//
// with content the row's fields in the fixed binary form auditContent
// writes. VerifyAuditChain recomputes every hash here, outside the
// database, so a row rewritten by someone who could bypass the triggers
// (the owner, a superuser, a restored copy) shows, and so does a row taken
// out: the next row's prev_hash no longer matches, or, for the last rows,
// the head (auth_audit_head) names a row that is gone.

// AuditChain is what VerifyAuditChain found: a chain of Checked rows whose
// last row is LastID with hash Head. Writing Head down elsewhere (a ticket,
// another system's log) anchors the chain: a rewrite of the whole log
// from some row on would have to produce the same hash.
type AuditChain struct {
	Checked int
	LastID  int64
	Head    []byte
}

// AuditChainError says where the audit log's chain breaks: the first row
// that does not verify.
type AuditChainError struct {
	// ID is the first row that does not verify (for rows missing at the
	// end, the last id the head names).
	ID int64
	// Reason says what is wrong with it.
	Reason string
}

func (e *AuditChainError) Error() string {
	return fmt.Sprintf("audit chain broken at row %d: %s", e.ID, e.Reason)
}

// VerifyAuditChain walks the audit log in id order, recomputing every
// row's hash from the previous row's and its own content, and checks that
// the last row is the one the head names. It returns the chain on success
// and an *AuditChainError naming the first row that breaks it; other
// errors are the database's. It reads in one snapshot (a read-only
// repeatable-read transaction), so rows inserted meanwhile do not disturb
// it. It needs SELECT on auth_audit and auth_audit_head: run it as the
// owner (the services' roles have neither).
func VerifyAuditChain(ctx context.Context, pool *pgxpool.Pool) (chain AuditChain, err error) {
	defer func() {
		var broken *AuditChainError
		if err != nil && !errors.As(err, &broken) {
			err = fmt.Errorf("authsvc.VerifyAuditChain: %w", err)
		}
	}()
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return AuditChain{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var headID int64
	var headHash []byte
	if err := tx.QueryRow(ctx, `SELECT id, hash FROM auth_audit_head`).Scan(&headID, &headHash); err != nil {
		return AuditChain{}, fmt.Errorf("audit head: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT id, at, event, outcome, account_id, subject, ip, detail, prev_hash, hash
		FROM auth_audit ORDER BY id`)
	if err != nil {
		return AuditChain{}, err
	}
	defer rows.Close()
	prev := make([]byte, sha256.Size) // the first row's predecessor
	var r auditRow
	var storedPrev, storedHash, content []byte
	for rows.Next() {
		if err := rows.Scan(&r.id, &r.at, &r.event, &r.outcome, &r.account, &r.subject, &r.ip, &r.detail, &storedPrev, &storedHash); err != nil {
			return AuditChain{}, err
		}
		switch {
		case r.id > headID:
			return AuditChain{}, &AuditChainError{ID: r.id, Reason: fmt.Sprintf("after the last row the head names (%d)", headID)}
		case !bytes.Equal(storedPrev, prev):
			return AuditChain{}, &AuditChainError{ID: r.id, Reason: "prev_hash is not the hash of the row before: a row before it was removed or rewritten"}
		}
		content = append(append(content[:0], prev...), auditContent(r)...)
		sum := sha256.Sum256(content)
		if !bytes.Equal(storedHash, sum[:]) {
			return AuditChain{}, &AuditChainError{ID: r.id, Reason: "hash does not match the row's content: the row was changed"}
		}
		prev = sum[:]
		chain.Checked++
		chain.LastID = r.id
	}
	if err := rows.Err(); err != nil {
		return AuditChain{}, err
	}
	if chain.LastID != headID || !bytes.Equal(prev, headHash) {
		return AuditChain{}, &AuditChainError{ID: headID, Reason: fmt.Sprintf("the head names row %d, the log ends at row %d: rows at the end were removed", headID, chain.LastID)}
	}
	chain.Head = prev
	return chain, nil
}

// auditRow is a row of auth_audit, as the chain covers it.
type auditRow struct {
	id                  int64
	at                  time.Time
	event, outcome      string
	account             *int64
	subject, ip, detail string
}

// pgEpochMicros is PostgreSQL's timestamp epoch, 2000-01-01 UTC, in Unix
// microseconds.
const pgEpochMicros = 946_684_800_000_000

// auditContent is the row's content as the database's auth_audit_content
// writes it: bigint and timestamptz as 8 bytes big endian (the time in
// microseconds since 2000-01-01 UTC), each text as a 4-byte length and its
// UTF-8 bytes, a NULL account as a zero byte, else a one byte and the id.
func auditContent(r auditRow) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(r.id))
	b = binary.BigEndian.AppendUint64(b, uint64(r.at.UnixMicro()-pgEpochMicros))
	text := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	text(r.event)
	text(r.outcome)
	if r.account == nil {
		b = append(b, 0)
	} else {
		b = binary.BigEndian.AppendUint64(append(b, 1), uint64(*r.account))
	}
	text(r.subject)
	text(r.ip)
	text(r.detail)
	return b
}
