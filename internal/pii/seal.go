package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"sync"
	"unsafe"
)

// Keyring seals sensitive values at rest (AES-256-GCM) and computes their
// blind indexes (HMAC-SHA256) for lookup. Each sealed value carries the id
// of the key that sealed it, so keys rotate by adding a new active key while
// old ones keep opening what they sealed. The blind index key cannot rotate
// without recomputing every index, so it is separate and long-lived.
//
// GB/T 39786 deployments may need SM4: the sealed format's version byte
// leaves room for another algorithm.
type Keyring struct {
	active string
	aeads  map[string]cipher.AEAD
	bidx   []byte
	macs   sync.Pool
}

// KeyFile is the JSON form of a keyring: base64 keys of 32 bytes.
type KeyFile struct {
	// Active is the id of the key that seals new values.
	Active string `json:"active"`
	// Keys maps key ids to AES-256 keys.
	Keys map[string]string `json:"keys"`
	// BlindIndexKey is the HMAC-SHA256 key of the blind indexes.
	BlindIndexKey string `json:"blind_index_key"`
}

// sealVersion is the first byte of a sealed value: AES-256-GCM.
const sealVersion = 1

// NewKeyring builds a keyring from its file form.
func NewKeyring(kf KeyFile) (*Keyring, error) {
	k := &Keyring{active: kf.Active, aeads: map[string]cipher.AEAD{}}
	for id, b64 := range kf.Keys {
		if id == "" || len(id) > 255 {
			return nil, fmt.Errorf("keyring: key id %q must be 1-255 bytes", id)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("keyring: key %q must be 32 bytes in base64", id)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		if k.aeads[id], err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	if _, ok := k.aeads[kf.Active]; !ok {
		return nil, fmt.Errorf("keyring: active key %q is not among the keys", kf.Active)
	}
	var err error
	if k.bidx, err = base64.StdEncoding.DecodeString(kf.BlindIndexKey); err != nil || len(k.bidx) != 32 {
		return nil, errors.New("keyring: blind_index_key must be 32 bytes in base64")
	}
	k.macs.New = func() any { return &mac{h: hmac.New(sha256.New, k.bidx)} }
	return k, nil
}

// LoadKeyring reads a key file.
func LoadKeyring(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var kf KeyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	k, err := NewKeyring(kf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreateDevKeyring loads the key file at path, creating it with fresh
// random keys (mode 0600) when it does not exist. created says that it did:
// callers must say so, because such keys are for development only.
func LoadOrCreateDevKeyring(path string) (k *Keyring, created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		k, err := LoadKeyring(path)
		return k, false, err
	}
	kf := KeyFile{Active: "dev1", Keys: map[string]string{"dev1": randomKey()}, BlindIndexKey: randomKey()}
	b, _ := json.MarshalIndent(kf, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("keyring: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := f.Close(); err != nil {
		return nil, false, err
	}
	k, err = NewKeyring(kf)
	return k, true, err
}

func randomKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// Seal encrypts plaintext with the active key. aad binds the ciphertext to
// its use (the field name), so a sealed phone cannot pass for an ID number.
// Format: version | len(key id) | key id | nonce | ciphertext+tag.
func (k *Keyring) Seal(plaintext, aad []byte) []byte {
	return k.AppendSeal(make([]byte, 0, k.SealedLen(len(plaintext))), plaintext, aad)
}

// SealedLen is the length of a sealed value of n plaintext bytes.
func (k *Keyring) SealedLen(n int) int {
	aead := k.aeads[k.active]
	return 2 + len(k.active) + aead.NonceSize() + n + aead.Overhead()
}

// AppendSealString is AppendSeal of a string, without copying it.
func (k *Keyring) AppendSealString(dst []byte, plaintext string, aad []byte) []byte {
	// The AEAD only reads its plaintext.
	return k.AppendSeal(dst, unsafe.Slice(unsafe.StringData(plaintext), len(plaintext)), aad)
}

// AppendSeal appends the sealed form of plaintext to dst (SealedLen
// bytes), so bulk writers seal straight into their buffers.
func (k *Keyring) AppendSeal(dst, plaintext, aad []byte) []byte {
	aead := k.aeads[k.active]
	dst = append(dst, sealVersion, byte(len(k.active)))
	dst = append(dst, k.active...)
	start := len(dst)
	dst = append(dst, make([]byte, aead.NonceSize())...)
	nonce := dst[start:]
	rand.Read(nonce)
	return aead.Seal(dst, nonce, plaintext, aad)
}

// ErrSealed is wrapped by every error of Open.
var ErrSealed = errors.New("cannot open sealed value")

// Open decrypts a value sealed by Seal with any key of the ring.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 2 || sealed[0] != sealVersion || len(sealed) < 2+int(sealed[1]) {
		return nil, fmt.Errorf("%w: bad format", ErrSealed)
	}
	id := string(sealed[2 : 2+int(sealed[1])])
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: unknown key %q", ErrSealed, id)
	}
	rest := sealed[2+int(sealed[1]):]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrSealed)
	}
	pt, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	return pt, nil
}

// KeyID returns the id of the key that sealed a value, "" if malformed.
func KeyID(sealed []byte) string {
	if len(sealed) < 2 || len(sealed) < 2+int(sealed[1]) {
		return ""
	}
	return string(sealed[2 : 2+int(sealed[1])])
}

// BlindIndex returns the keyed index of a normalized value of a kind
// ("id_number", "phone"): equal values give equal indexes, and without the
// key the index reveals nothing, not even across kinds.
func (k *Keyring) BlindIndex(kind, normalized string) []byte {
	return k.AppendBlindIndex(make([]byte, 0, BlindIndexLen), kind, normalized)
}

// BlindIndexLen is the length of a blind index.
const BlindIndexLen = sha256.Size

// AppendBlindIndex appends the blind index of a value to dst.
func (k *Keyring) AppendBlindIndex(dst []byte, kind, normalized string) []byte {
	m := k.macs.Get().(*mac)
	m.h.Reset()
	m.buf = append(append(append(m.buf[:0], kind...), 0), normalized...)
	m.h.Write(m.buf)
	dst = m.h.Sum(dst)
	k.macs.Put(m)
	return dst
}

// mac is a pooled HMAC with a scratch buffer for its input: writing
// strings into a hash.Hash would allocate a copy of each.
type mac struct {
	h   hash.Hash
	buf []byte
}
