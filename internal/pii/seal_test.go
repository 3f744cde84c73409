package pii

import (
	"bytes"
	"encoding/base64"
	"errors"
	"path/filepath"
	"testing"
)

func testKeyFile(active string, ids ...string) KeyFile {
	kf := KeyFile{Active: active, Keys: map[string]string{}, BlindIndexKey: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))}
	for i, id := range ids {
		kf.Keys[id] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{byte(i + 1)}, 32))
	}
	return kf
}

func TestSealOpenRotation(t *testing.T) {
	t.Parallel()
	old, err := NewKeyring(testKeyFile("k1", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	id := []byte("11010519491231002X")
	sealed := old.Seal(id, []byte("id_number"))
	if bytes.Contains(sealed, id) || KeyID(sealed) != "k1" {
		t.Fatalf("sealed value %x shows its plaintext or lacks its key id", sealed)
	}
	if bytes.Equal(sealed, old.Seal(id, []byte("id_number"))) {
		t.Error("two seals of one value are equal: nonce reused")
	}
	rotated, err := NewKeyring(testKeyFile("k2", "k1", "k2"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(sealed, []byte("id_number")); err != nil || !bytes.Equal(got, id) {
		t.Errorf("rotated ring opens old value: %q, %v", got, err)
	}
	if KeyID(rotated.Seal(id, nil)) != "k2" {
		t.Error("rotated ring does not seal with the new active key")
	}
	for name, bad := range map[string][]byte{
		"wrong_aad": sealed, "truncated": sealed[:10], "flipped": append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1), "empty": nil,
	} {
		aad := []byte("id_number")
		if name == "wrong_aad" {
			aad = []byte("phone")
		}
		if _, err := rotated.Open(bad, aad); !errors.Is(err, ErrSealed) {
			t.Errorf("%s: Open() error = %v, want ErrSealed", name, err)
		}
	}
	gone, _ := NewKeyring(testKeyFile("k2", "k2"))
	if _, err := gone.Open(sealed, []byte("id_number")); !errors.Is(err, ErrSealed) {
		t.Errorf("ring without k1: error = %v, want ErrSealed", err)
	}
}

func TestBlindIndex(t *testing.T) {
	t.Parallel()
	k, _ := NewKeyring(testKeyFile("k1", "k1"))
	a := k.BlindIndex("id_number", "11010519491231002X")
	if !bytes.Equal(a, k.BlindIndex("id_number", "11010519491231002X")) {
		t.Error("blind index is not deterministic")
	}
	if bytes.Equal(a, k.BlindIndex("phone", "11010519491231002X")) || bytes.Equal(a, k.BlindIndex("id_number", "110105194912310021")) {
		t.Error("blind index collides across kinds or values")
	}
	kf := testKeyFile("k1", "k1")
	kf.BlindIndexKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	other, _ := NewKeyring(kf)
	if bytes.Equal(a, other.BlindIndex("id_number", "11010519491231002X")) {
		t.Error("blind index does not depend on the key")
	}
}

func TestDevKeyring(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys", "dev.key")
	k1, created, err := LoadOrCreateDevKeyring(path)
	if err != nil || !created {
		t.Fatalf("first load: created=%v err=%v", created, err)
	}
	k2, created, err := LoadOrCreateDevKeyring(path)
	if err != nil || created {
		t.Fatalf("second load: created=%v err=%v", created, err)
	}
	if !bytes.Equal(k1.BlindIndex("x", "y"), k2.BlindIndex("x", "y")) {
		t.Error("reloaded keyring differs")
	}
}
