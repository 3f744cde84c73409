package authsvc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/idfusion/idfusion/internal/database"
)

// Signing keys rotate: the newest key whose active_until is ahead signs;
// a key stays in the JWKS until retire_after, when nothing it signed is
// still valid. The private key is sealed with the keyring.

const signingKeyAAD = "oidc_signing_key"

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct {
	id  string
	key *rsa.PublicKey
}

func (k *publicKey) ID() string                         { return k.id }
func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return k.key }

// activeSigningKey returns the key that signs now, creating the first one.
func (s *Server) activeSigningKey(ctx context.Context) (*signingKey, error) {
	k, err := s.currentKey(ctx, s.pool)
	if !errors.Is(err, database.ErrNotFound) {
		return k, err
	}
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockKeys(ctx, tx); err != nil {
			return err
		}
		// Another instance may have created it while we waited.
		if k, err = s.currentKey(ctx, tx); !errors.Is(err, database.ErrNotFound) {
			return err
		}
		k, err = s.newSigningKey(ctx, tx)
		return err
	})
	return k, err
}

// RotateSigningKey retires the signing key from signing and makes a new
// one the active key. The old key stays in the JWKS until what it signed
// has expired.
func (s *Server) RotateSigningKey(ctx context.Context) error {
	return database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := s.rotateSigningKeyIn(ctx, tx)
		return err
	})
}

// rotateSigningKeyIn is RotateSigningKey in the caller's transaction (the
// console's, with its audit row): the new key's id.
func (s *Server) rotateSigningKeyIn(ctx context.Context, tx pgx.Tx) (string, error) {
	if err := lockKeys(ctx, tx); err != nil {
		return "", err
	}
	now := s.cfg.Now()
	if _, err := tx.Exec(ctx, `UPDATE oidc_signing_key SET active_until = $1, retire_after = $2 WHERE active_until > $1`,
		now, now.Add(s.keyGrace())); err != nil {
		return "", err
	}
	k, err := s.newSigningKey(ctx, tx)
	if err != nil {
		return "", err
	}
	return k.id, nil
}

// keyInfo is a signing key as the console lists it.
type keyInfo struct {
	ID          string    `json:"kid"`
	Created     time.Time `json:"created_at"`
	ActiveUntil time.Time `json:"active_until"`
	RetireAfter time.Time `json:"retire_after"`
	// Active says the key signs now; Retiring that it only verifies, until
	// RetireAfter.
	Active   bool `json:"active"`
	Retiring bool `json:"retiring"`
}

// signingKeys are the keys in the JWKS now, the one signing (the latest
// to stop signing) first.
func (s *Server) signingKeys(ctx context.Context) ([]keyInfo, error) {
	now := s.cfg.Now()
	rows, err := s.pool.Query(ctx, `SELECT id, created_at, active_until, retire_after FROM oidc_signing_key WHERE retire_after > $1
		ORDER BY active_until DESC, created_at DESC`, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (keyInfo, error) {
		var k keyInfo
		err := row.Scan(&k.ID, &k.Created, &k.ActiveUntil, &k.RetireAfter)
		k.Active = !k.Created.After(now) && k.ActiveUntil.After(now)
		k.Retiring = !k.Active
		return k, err
	})
}

// keyGrace is how long a key verifies after it stopped signing.
func (s *Server) keyGrace() time.Duration {
	return max(s.cfg.OIDCIDTokenTTL, s.cfg.OIDCAccessTokenTTL) + 5*time.Minute
}

func lockKeys(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('oidc_signing_key'))`)
	return err
}

func (s *Server) currentKey(ctx context.Context, q querier) (*signingKey, error) {
	now := s.cfg.Now()
	var id string
	var sealed []byte
	err := q.QueryRow(ctx, `SELECT id, private_sealed FROM oidc_signing_key WHERE created_at <= $1 AND active_until > $1
		ORDER BY created_at DESC LIMIT 1`, now).Scan(&id, &sealed)
	if err != nil {
		return nil, database.Translate(err)
	}
	der, err := s.cfg.Keyring.Open(sealed, []byte(signingKeyAAD))
	if err != nil {
		return nil, fmt.Errorf("open signing key %s: %w", id, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", id, err)
	}
	rk, ok := priv.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s is not RSA", id)
	}
	return &signingKey{id: id, key: rk}, nil
}

func (s *Server) newSigningKey(ctx context.Context, q querier) (*signingKey, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		return nil, err
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.cfg.Now()
	until := now.Add(s.cfg.OIDCKeyLifetime)
	if _, err := q.Exec(ctx, `INSERT INTO oidc_signing_key (id, algorithm, private_sealed, public_der, created_at, active_until, retire_after)
		VALUES ($1, 'RS256', $2, $3, $4, $5, $6)`, id, s.cfg.Keyring.Seal(der, []byte(signingKeyAAD)), pub, now, until, until.Add(s.keyGrace())); err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("oidc_signing_key_created", slog.String("kid", id))
	return &signingKey{id: id, key: rk}, nil
}

// publicKeys are the keys that verify now: the active one and those
// retired less than their grace ago.
func (s *Server) publicKeys(ctx context.Context) ([]op.Key, error) {
	if _, err := s.activeSigningKey(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, public_der FROM oidc_signing_key WHERE retire_after > $1 ORDER BY created_at`, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []op.Key
	for rows.Next() {
		var id string
		var der []byte
		if err := rows.Scan(&id, &der); err != nil {
			return nil, err
		}
		pk, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return nil, fmt.Errorf("parse public key %s: %w", id, err)
		}
		rk, ok := pk.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key %s is not RSA", id)
		}
		keys = append(keys, &publicKey{id: id, key: rk})
	}
	return keys, rows.Err()
}
