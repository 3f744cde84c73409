package sealfile

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

func write(t *testing.T, data []byte) *File {
	t.Helper()
	w, err := Create(t.TempDir(), "s-*")
	if err != nil {
		t.Fatal(err)
	}
	// Uneven writes: frames must not depend on how the caller splits.
	for p := data; len(p) > 0; {
		k := min(len(p), 1+rand.IntN(3*frameSize/2))
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	f, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Remove() })
	return f
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, frameSize - 1, frameSize, frameSize + 1, 3*frameSize + 17} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte('a' + i%26)
		}
		f := write(t, data)
		// Two readers at once read the same bytes.
		r1, r2 := f.Reader(), f.Reader()
		b1, err1 := io.ReadAll(r1)
		b2, err2 := io.ReadAll(r2)
		if err1 != nil || err2 != nil || !bytes.Equal(b1, data) || !bytes.Equal(b2, data) {
			t.Fatalf("%d bytes: read %d, %d (%v, %v)", n, len(b1), len(b2), err1, err2)
		}
		raw, err := os.ReadFile(f.f.Name())
		if err != nil {
			t.Fatal(err)
		}
		// A needle of 26 bytes: a shorter one (a 1-byte file's "a")
		// occurs in random bytes by chance.
		if n >= 26 && bytes.Contains(raw, data[:26]) {
			t.Fatalf("%d bytes: clear text on disk", n)
		}
		if st, _ := os.Stat(f.f.Name()); st.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", st.Mode())
		}
	}
}

// Every change to the file fails the read: a flipped byte, a frame cut off
// at its boundary or in its middle, two frames swapped, an appended frame.
func TestCorrupt(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 3*frameSize/10+5) // three full frames and a short last one
	f := write(t, data)
	raw, err := os.ReadFile(f.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	full := frameSize + 16
	swapped := append(append(append([]byte{}, raw[full:2*full]...), raw[:full]...), raw[2*full:]...)
	cases := map[string][]byte{
		"flipped":       func() []byte { b := bytes.Clone(raw); b[full+5] ^= 1; return b }(),
		"cut at frame":  raw[:2*full],
		"cut in frame":  raw[:2*full+100],
		"last cut":      raw[:len(raw)-1],
		"swapped":       swapped,
		"frame dropped": append(append([]byte{}, raw[:full]...), raw[2*full:]...),
		"appended":      append(bytes.Clone(raw), raw[:full]...),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(f.f.Name(), b, 0o600); err != nil {
				t.Fatal(err)
			}
			g := &File{f: f.f, aead: f.aead, size: int64(len(b))}
			got, err := io.ReadAll(g.Reader())
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("read %d bytes, err %v; want ErrCorrupt", len(got), err)
			}
		})
	}
}

func TestAbortRemoves(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, "s-*")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	w.Abort()
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Fatalf("left %v", es)
	}
}

// TestWriteError: a frame that cannot be written fails the Write (and
// every one after it), and Close reports it and removes the file.
func TestWriteError(t *testing.T) {
	w, err := Create(t.TempDir(), "w-*")
	if err != nil {
		t.Fatal(err)
	}
	name := w.f.Name()
	w.f.Close() // the disk is gone
	if n, err := w.Write(make([]byte, frameSize+1)); err == nil || n != 0 {
		t.Fatalf("Write of a full frame to a closed file: %d, %v", n, err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("a Write after a failed one succeeded")
	}
	if f, err := w.Close(); err == nil || f != nil {
		t.Errorf("Close after a failed write: %v, %v", f, err)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("the file of a failed write is left: %v", err)
	}
}
