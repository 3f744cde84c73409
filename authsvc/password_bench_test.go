package authsvc

import (
	"runtime"
	"testing"

	"golang.org/x/crypto/argon2"
)

// BenchmarkArgon2idRaw is the ceiling for BenchmarkPasswordVerify: argon2id
// with DefaultArgon2 and nothing around it, one hash per core at a time.
// Compare their ns/op: a login should reach at least 90% of this rate.
func BenchmarkArgon2idRaw(b *testing.B) {
	p := DefaultArgon2
	password := []byte("K9#vTq2!mZ")
	salt := make([]byte, p.SaltLen)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
}

// BenchmarkPasswordVerify is a login's password check: parsing the stored
// hash, waiting for a slot and argon2id with DefaultArgon2, with as many
// slots and callers as cores.
func BenchmarkPasswordVerify(b *testing.B) {
	h := NewPasswordHasher(DefaultArgon2, runtime.GOMAXPROCS(0))
	const password = "K9#vTq2!mZ"
	stored, err := h.Hash(b.Context(), password)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ok, err := h.Verify(ctx, password, stored)
			if err != nil || !ok {
				b.Errorf("Verify = %v, %v; want true, nil", ok, err)
				return
			}
		}
	})
}
