package authsvc

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cheapArgon2 keeps the hasher tests fast; the format test uses the
// defaults.
var cheapArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordHasherFormat(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(DefaultArgon2, 1)
	phc, err := h.Hash(t.Context(), "K9#vTq2!mZ")
	if err != nil {
		t.Fatal(err)
	}
	// 16 bytes of salt are 22 base64 characters, 32 of hash 43.
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(phc) {
		t.Errorf("Hash = %q, want to match %s", phc, re)
	}
	ok, err := h.Verify(t.Context(), "K9#vTq2!mZ", phc)
	if err != nil || !ok {
		t.Errorf("Verify of the default hash = %v, %v; want true, nil", ok, err)
	}
}

func TestPasswordHasherVerify(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 0)
	stored := func(h *PasswordHasher, password string) string {
		t.Helper()
		phc, err := h.Hash(t.Context(), password)
		if err != nil {
			t.Fatal(err)
		}
		return phc
	}
	other := NewPasswordHasher(Argon2Params{Memory: 128, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 16}, 1)
	tests := []struct {
		name     string
		password string
		phc      string
		want     bool
	}{
		{"right", "K9#vTq2!mZ", stored(h, "K9#vTq2!mZ"), true},
		{"wrong", "K9#vTq2!mz", stored(h, "K9#vTq2!mZ"), false},
		{"empty", "", stored(h, "K9#vTq2!mZ"), false},
		{"empty stored", "", stored(h, ""), true},
		{"non-ASCII", "海南省", stored(h, "海南省"), true},
		// A hash keeps verifying after the parameters change.
		{"other parameters", "K9#vTq2!mZ", stored(other, "K9#vTq2!mZ"), true},
		{"other parameters, wrong", "K9#vTq2!mZ!", stored(other, "K9#vTq2!mZ"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := h.Verify(t.Context(), tt.password, tt.phc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Verify mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPasswordHasherVerifyMalformed(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 0)
	const salt = "c29tZXNhbHRzb21lc2FsdA" // 16 bytes
	const hash = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	good := "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + hash
	if _, err := h.Verify(t.Context(), "x", good); err != nil {
		t.Fatalf("the well-formed base case fails: %v", err)
	}
	tests := []struct {
		name string
		phc  string
	}{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"plain text", "K9#vTq2!mZ"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + hash},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + hash},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + hash},
		{"parameters out of order", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + hash},
		{"missing p", "$argon2id$v=19$m=64,t=1$" + salt + "$" + hash},
		{"extra parameter", "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + hash},
		{"negative", "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + hash},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + hash},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + hash},
		{"not a number", "$argon2id$v=19$m=sixty,t=1,p=1$" + salt + "$" + hash},
		{"t=0", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + hash},
		{"p=0", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + hash},
		{"p=256", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + hash},
		{"memory below 8 per lane", "$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + hash},
		{"memory of 4 GiB", "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + hash},
		{"a million passes", "$argon2id$v=19$m=64,t=1000000,p=1$" + salt + "$" + hash},
		{"padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + hash},
		{"salt not base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + hash},
		{"salt of 4 bytes", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + hash},
		{"hash of 4 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$aGFzaA"},
		{"no hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"trailing field", good + "$x"},
		{"no leading $", good[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, err := h.Verify(t.Context(), "K9#vTq2!mZ", tt.phc)
			if !errors.Is(err, ErrMalformedPasswordHash) {
				t.Errorf("Verify error = %v, want ErrMalformedPasswordHash", err)
			}
			if ok {
				t.Error("Verify = true for a malformed hash")
			}
			if tt.phc != "" && err != nil && strings.Contains(err.Error(), tt.phc) {
				t.Errorf("the error %q quotes the stored hash", err)
			}
		})
	}
}

func TestPasswordHasherSaltDiffers(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 0)
	a, err := h.Hash(t.Context(), "K9#vTq2!mZ")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(t.Context(), "K9#vTq2!mZ")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password are both %q", a)
	}
	if strings.Split(a, "$")[4] == strings.Split(b, "$")[4] {
		t.Errorf("two hashes share their salt: %q, %q", a, b)
	}
}

func TestPasswordHasherNeedsRehash(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 0)
	hashWith := func(p Argon2Params) string {
		t.Helper()
		phc, err := NewPasswordHasher(p, 1).Hash(t.Context(), "K9#vTq2!mZ")
		if err != nil {
			t.Fatal(err)
		}
		return phc
	}
	with := func(edit func(*Argon2Params)) Argon2Params {
		p := cheapArgon2
		edit(&p)
		return p
	}
	tests := []struct {
		name string
		phc  string
		want bool
	}{
		{"same parameters", hashWith(cheapArgon2), false},
		{"more memory", hashWith(with(func(p *Argon2Params) { p.Memory = 128 })), true},
		{"less time", hashWith(with(func(p *Argon2Params) { p.Time = 2 })), true},
		{"more threads", hashWith(with(func(p *Argon2Params) { p.Threads = 2 })), true},
		{"shorter salt", hashWith(with(func(p *Argon2Params) { p.SaltLen = 8 })), true},
		{"longer key", hashWith(with(func(p *Argon2Params) { p.KeyLen = 64 })), true},
		{"malformed", "$argon2id$v=19$m=64", true},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, h.NeedsRehash(tt.phc)); diff != "" {
				t.Errorf("NeedsRehash mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewPasswordHasher(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(Argon2Params{}, 0)
	if diff := cmp.Diff(DefaultArgon2, h.params); diff != "" {
		t.Errorf("zero params mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(runtime.GOMAXPROCS(0), cap(h.sem)); diff != "" {
		t.Errorf("default concurrency mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(3, cap(NewPasswordHasher(cheapArgon2, 3).sem)); diff != "" {
		t.Errorf("concurrency mismatch (-want +got):\n%s", diff)
	}
	if h.NeedsRehash(h.dummy) {
		t.Errorf("the dummy hash %q does not have the hasher's parameters", h.dummy)
	}
}

func TestNewPasswordHasherPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Argon2Params
	}{
		{"memory below 8 per lane", Argon2Params{Memory: 8, Threads: 2}},
		{"memory of 4 GiB", Argon2Params{Memory: 4 << 20}},
		{"a million passes", Argon2Params{Time: 1_000_000}},
		{"salt of 4 bytes", Argon2Params{SaltLen: 4}},
		{"key of 8 bytes", Argon2Params{KeyLen: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("NewPasswordHasher(%+v) did not panic", tt.p)
				}
			}()
			NewPasswordHasher(tt.p, 1)
		})
	}
}

// blockingIDKey replaces a hasher's argon2 with one that counts the hashes
// in flight and holds each until release is closed.
type blockingIDKey struct {
	release  chan struct{}
	inFlight atomic.Int32
	max      atomic.Int32
	calls    atomic.Int32
	mu       sync.Mutex
	params   []Argon2Params // what each call was asked for
}

func newBlockingIDKey(h *PasswordHasher) *blockingIDKey {
	b := &blockingIDKey{release: make(chan struct{})}
	h.idKey = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		b.calls.Add(1)
		b.mu.Lock()
		b.params = append(b.params, Argon2Params{Memory: memory, Time: time, Threads: threads, SaltLen: uint32(len(salt)), KeyLen: keyLen})
		b.mu.Unlock()
		n := b.inFlight.Add(1)
		for {
			m := b.max.Load()
			if n <= m || b.max.CompareAndSwap(m, n) {
				break
			}
		}
		<-b.release
		b.inFlight.Add(-1)
		return make([]byte, keyLen)
	}
	return b
}

// TestPasswordHasherBoundsConcurrency runs in a synctest bubble, where
// synctest.Wait returns once every goroutine is blocked: then the hashes
// that got a slot sit in idKey and the rest wait for one, with no timing
// involved.
func TestPasswordHasherBoundsConcurrency(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := NewPasswordHasher(cheapArgon2, 2)
		b := newBlockingIDKey(h)
		var wg sync.WaitGroup
		errs := make(chan error, 5)
		for range 5 {
			wg.Go(func() {
				_, err := h.Hash(t.Context(), "K9#vTq2!mZ")
				errs <- err
			})
		}
		synctest.Wait()
		if diff := cmp.Diff(int32(2), b.inFlight.Load()); diff != "" {
			t.Errorf("hashes in flight mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(0, len(errs)); diff != "" {
			t.Errorf("hashes finished while all were held (-want +got):\n%s", diff)
		}
		close(b.release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if diff := cmp.Diff(int32(2), b.max.Load()); diff != "" {
			t.Errorf("most hashes in flight mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(int32(5), b.calls.Load()); diff != "" {
			t.Errorf("hashes run mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestPasswordHasherContextWhileWaiting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(ctx context.Context, h *PasswordHasher) error
	}{
		{"Hash", func(ctx context.Context, h *PasswordHasher) error {
			_, err := h.Hash(ctx, "K9#vTq2!mZ")
			return err
		}},
		{"Verify", func(ctx context.Context, h *PasswordHasher) error {
			_, err := h.Verify(ctx, "K9#vTq2!mZ", h.dummy)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := NewPasswordHasher(cheapArgon2, 1)
				b := newBlockingIDKey(h)
				// The only slot is taken.
				var wg sync.WaitGroup
				wg.Go(func() {
					if _, err := h.Hash(t.Context(), "first"); err != nil {
						t.Error(err)
					}
				})
				synctest.Wait()

				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- tt.call(ctx, h) }()
				synctest.Wait()
				if diff := cmp.Diff(0, len(done)); diff != "" {
					t.Fatalf("returned while waiting for the slot (-want +got):\n%s", diff)
				}
				cancel()
				if err := <-done; !errors.Is(err, context.Canceled) {
					t.Errorf("error = %v, want context.Canceled", err)
				}
				close(b.release)
				wg.Wait()
				if diff := cmp.Diff(int32(1), b.calls.Load()); diff != "" {
					t.Errorf("hashes run mismatch (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestPasswordHasherContextAlreadyDone(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 1)
	b := newBlockingIDKey(h)
	close(b.release)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// A slot is free, but a request already given up spends no hash.
	if _, err := h.Hash(ctx, "K9#vTq2!mZ"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash error = %v, want context.Canceled", err)
	}
	if _, err := h.Verify(ctx, "K9#vTq2!mZ", h.dummy); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify error = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff(int32(0), b.calls.Load()); diff != "" {
		t.Errorf("hashes run mismatch (-want +got):\n%s", diff)
	}
}

// TestPasswordHasherVerifyDummy checks that VerifyDummy runs one hash with
// the hasher's own parameters, the cost of verifying a fresh hash.
func TestPasswordHasherVerifyDummy(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 1)
	b := newBlockingIDKey(h)
	close(b.release)
	h.VerifyDummy(t.Context(), "K9#vTq2!mZ")
	if diff := cmp.Diff([]Argon2Params{cheapArgon2}, b.params); diff != "" {
		t.Errorf("hashes run mismatch (-want +got):\n%s", diff)
	}
}

// TestHashQueueCapacity: the queue admits what its hashers serve within
// the target (at least one per slot), tells a refused request when to
// come back in whole seconds, and follows the hashes' times.
func TestHashQueueCapacity(t *testing.T) {
	t.Parallel()
	q := hashQueue{target: time.Second, concurrency: 2, perHash: 50 * time.Millisecond}
	if got := q.capacity(); got != 40 {
		t.Errorf("capacity with 2 slots, 50 ms a hash, 1 s target = %d, want 40", got)
	}
	for n, want := range map[int]time.Duration{1: time.Second, 40: time.Second, 41: 2 * time.Second, 200: 5 * time.Second} {
		if got := q.wait(n); got != want {
			t.Errorf("wait(%d) = %s, want %s", n, got, want)
		}
	}
	q.target = time.Millisecond
	if got := q.capacity(); got != 2 {
		t.Errorf("capacity with a target below one hash = %d, want 2 (one per slot)", got)
	}
	q.observe(130 * time.Millisecond)
	if q.perHash != 60*time.Millisecond {
		t.Errorf("after a 130 ms hash the average is %s, want 60 ms (weight 1/8)", q.perHash)
	}
	if got := (&hashQueue{concurrency: 2}).capacity(); got < 1<<30 {
		t.Errorf("capacity before any hash was measured = %d, want unbounded", got)
	}
}
