package authsvc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of an argon2id password hash.
type Argon2Params struct {
	// Memory is the memory one hash fills, in KiB; 0 means
	// DefaultArgon2.Memory. It is also what one hash in flight costs the
	// process, which is why PasswordHasher bounds how many run at once.
	Memory uint32
	// Time is the number of passes over the memory; 0 means
	// DefaultArgon2.Time.
	Time uint32
	// Threads is the number of lanes (argon2's parallelism); 0 means
	// DefaultArgon2.Threads. Above 1 it spreads one hash over as many
	// goroutines, which only helps while fewer logins than cores are in
	// flight.
	Threads uint8
	// SaltLen is the length of the random salt, in bytes; 0 means
	// DefaultArgon2.SaltLen.
	SaltLen uint32
	// KeyLen is the length of the derived hash, in bytes; 0 means
	// DefaultArgon2.KeyLen.
	KeyLen uint32
}

// DefaultArgon2 is OWASP's minimum for argon2id (19 MiB, two passes, one
// lane): the cheapest setting still recommended, because every login pays
// it and a login storm pays it once per attempt.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// The bounds Verify accepts in a stored hash. A hash comes from our own
// database, but one written by a bug or an intruder with m=4 GiB or t=10⁶
// must not turn a login into a denial of service.
const (
	maxArgon2Memory  = 1 << 21 // KiB: 2 GiB
	maxArgon2Time    = 100
	minArgon2SaltLen = 8 // the PHC string format's minimum
	maxArgon2SaltLen = 64
	minArgon2KeyLen  = 16
	maxArgon2KeyLen  = 128
)

// withDefaults returns p with its zero fields set from DefaultArgon2.
func (p Argon2Params) withDefaults() Argon2Params {
	if p.Memory == 0 {
		p.Memory = DefaultArgon2.Memory
	}
	if p.Time == 0 {
		p.Time = DefaultArgon2.Time
	}
	if p.Threads == 0 {
		p.Threads = DefaultArgon2.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = DefaultArgon2.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = DefaultArgon2.KeyLen
	}
	return p
}

// validate reports the first field of p outside what Verify accepts, so
// that a hasher never writes a hash it could not read back.
func (p Argon2Params) validate() error {
	switch {
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory:
		return fmt.Errorf("memory m=%d KiB outside [8 per lane, %d]", p.Memory, maxArgon2Memory)
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Errorf("passes t=%d outside [1, %d]", p.Time, maxArgon2Time)
	case p.Threads < 1:
		return errors.New("lanes p=0")
	case p.SaltLen < minArgon2SaltLen || p.SaltLen > maxArgon2SaltLen:
		return fmt.Errorf("salt of %d bytes outside [%d, %d]", p.SaltLen, minArgon2SaltLen, maxArgon2SaltLen)
	case p.KeyLen < minArgon2KeyLen || p.KeyLen > maxArgon2KeyLen:
		return fmt.Errorf("hash of %d bytes outside [%d, %d]", p.KeyLen, minArgon2KeyLen, maxArgon2KeyLen)
	}
	return nil
}

// ErrMalformedPasswordHash is wrapped by the errors of PasswordHasher.Verify
// when the stored hash is not an argon2id PHC string it can read.
var ErrMalformedPasswordHash = errors.New("malformed password hash")

// PasswordHasher hashes and verifies passwords with argon2id, running at
// most a fixed number of hashes at once: each fills Argon2Params.Memory, so
// a login storm left unbounded would exhaust the process's memory instead
// of queueing. It is safe for concurrent use.
type PasswordHasher struct {
	params Argon2Params
	// sem holds one token per hash in flight.
	sem chan struct{}
	// dummy is a PHC string with the hasher's parameters and a random salt
	// and hash, which no password matches: what VerifyDummy verifies
	// against.
	dummy string
	// idKey is argon2.IDKey; tests replace it to hold hashes in flight.
	idKey func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
	// queue admits the requests that will hash (password_queue.go).
	queue hashQueue
}

// DefaultHashLatency is the hash queue's default target: a password
// login admitted waits about this long for its hash at most. The rest of
// a login under a storm (its statements, the HTTP and TLS of hundreds of
// clients on the same cores) about doubles it: BenchmarkLoginStorm gives
// an admitted p99 of 1.5–1.7 s on two cores, within the 2 s aimed at.
const DefaultHashLatency = 750 * time.Millisecond

// NewPasswordHasher returns a hasher that writes hashes with p (zero fields
// take DefaultArgon2's values) and runs at most concurrency hashes at once;
// concurrency <= 0 means runtime.GOMAXPROCS(0), as argon2 is CPU-bound and
// more hashes in flight than cores only add memory, not throughput. Its
// queue admits what it serves within DefaultHashLatency (Admit), from the
// time of one hash measured now and the hashes' times after.
//
// NewPasswordHasher panics when p is outside the bounds Verify accepts,
// since every hash it wrote would then be unreadable.
func NewPasswordHasher(p Argon2Params, concurrency int) *PasswordHasher {
	p = p.withDefaults()
	if err := p.validate(); err != nil {
		panic("authsvc.NewPasswordHasher: " + err.Error())
	}
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	salt := make([]byte, p.SaltLen)
	key := make([]byte, p.KeyLen)
	// crypto/rand.Read never returns an error: it crashes the program
	// when the system's generator fails.
	rand.Read(salt)
	rand.Read(key)
	h := &PasswordHasher{
		params: p,
		sem:    make(chan struct{}, concurrency),
		dummy:  encodePHC(p, salt, key),
		idKey:  argon2.IDKey,
		queue:  hashQueue{target: DefaultHashLatency, concurrency: concurrency, stopped: make(chan struct{})},
	}
	start := time.Now()
	h.idKey(key, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.queue.observe(time.Since(start))
	return h
}

// Hash returns the argon2id hash of password as a PHC string,
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> with the salt and hash in
// unpadded standard base64. The error is ctx's when it ends while Hash
// waits for a free slot.
func (h *PasswordHasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt)
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", fmt.Errorf("PasswordHasher.Hash: %w", err)
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches phc, a PHC string written by
// Hash, with the parameters phc names rather than the hasher's, so hashes
// written before a parameter change still verify (see NeedsRehash). The
// error wraps ErrMalformedPasswordHash when phc cannot be read, or is ctx's
// when it ends while Verify waits for a free slot; ok is then false.
func (h *PasswordHasher) Verify(ctx context.Context, password, phc string) (ok bool, err error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, fmt.Errorf("PasswordHasher.Verify: %w", err)
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, fmt.Errorf("PasswordHasher.Verify: %w", err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy spends what Verify spends on a hash with the hasher's
// parameters, against a hash no password matches. A login naming an
// account that does not exist, or one without a password, calls it so that
// its response time does not tell an attacker which accounts exist. Its
// error is Verify's (a drain, ctx ended while waiting): the caller answers
// it as it would answer Verify's, else the answer itself would tell.
func (h *PasswordHasher) VerifyDummy(ctx context.Context, password string) error {
	_, err := h.Verify(ctx, password, h.dummy)
	return err
}

// NeedsRehash reports whether phc was written with parameters other than
// the hasher's, or cannot be read at all: after a successful login the
// caller then stores Hash of the password just verified, so raising the
// parameters takes effect as citizens log in.
func (h *PasswordHasher) NeedsRehash(phc string) bool {
	p, _, _, err := parsePHC(phc)
	return err != nil || p != h.params
}

// derive runs argon2id once a slot is free. A ctx already ended is
// reported even when a slot is free, so a request whose client has gone
// does not spend a hash; a drain (Drain) ends the wait with an
// *OverloadError.
func (h *PasswordHasher) derive(ctx context.Context, password string, salt []byte, p Argon2Params) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("waiting for a hashing slot: %w", err)
	}
	h.queue.addWaiting(1)
	select {
	case h.sem <- struct{}{}:
		h.queue.addWaiting(-1)
	case <-ctx.Done():
		h.queue.addWaiting(-1)
		return nil, fmt.Errorf("waiting for a hashing slot: %w", ctx.Err())
	case <-h.queue.stopped:
		h.queue.addWaiting(-1)
		return nil, &OverloadError{RetryAfter: retryAfterStopping, Stopping: true}
	}
	defer func() { <-h.sem }()
	start := time.Now()
	key := h.idKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.queue.observe(time.Since(start))
	return key, nil
}

// encodePHC formats an argon2id hash in the PHC string format, the one
// libsodium, the reference implementation and most libraries read.
func encodePHC(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// parsePHC reads a string written by encodePHC: exactly that layout, the
// parameters in that order, canonical base64, and values within the bounds
// above. SaltLen and KeyLen of the returned parameters are the lengths
// found. Its errors never quote phc, which is a credential.
func parsePHC(phc string) (p Argon2Params, salt, key []byte, err error) {
	bad := func(format string, args ...any) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedPasswordHash, fmt.Sprintf(format, args...))
	}
	fields := strings.Split(phc, "$")
	if len(fields) != 6 || fields[0] != "" {
		return bad("want 5 fields each after a $")
	}
	if fields[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("version is not v=%d", argon2.Version)
	}
	params := strings.Split(fields[3], ",")
	if len(params) != 3 {
		return bad("want parameters m, t and p")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return bad("parameter %d is not %s", i+1, name)
		}
		// ParseUint refuses signs and spaces; a leading zero is not
		// canonical and refused too, so one hash has one spelling.
		if len(v) > 1 && v[0] == '0' {
			return bad("parameter %s has a leading zero", name)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter %s is not a number", name)
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return bad("parameter p=%d above 255", vals[2])
	}
	enc := base64.RawStdEncoding.Strict()
	if salt, err = enc.DecodeString(fields[4]); err != nil {
		return bad("salt is not unpadded base64")
	}
	if key, err = enc.DecodeString(fields[5]); err != nil {
		return bad("hash is not unpadded base64")
	}
	p = Argon2Params{
		Memory:  uint32(vals[0]),
		Time:    uint32(vals[1]),
		Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.validate(); err != nil {
		return bad("%v", err)
	}
	return p, salt, key, nil
}
