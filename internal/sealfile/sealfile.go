// Package sealfile writes the temporary files a run spills to disk (rows it
// cannot hold, findings it holds until the feedback is written) sealed with
// a key that lives only in the process: AES-256-GCM in frames of 64 KiB,
// each frame's nonce its number, the last frame marked as such, so that a
// frame changed, moved, dropped or cut off fails to open. A file left by a
// run that died cannot be read by anyone: its key died with the run.
package sealfile

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// frameSize is the plaintext size of every frame but the last.
const frameSize = 64 << 10

// WriterBytes is the memory an open Writer holds: a plaintext frame and
// its sealed copy. A caller keeping many Writers open counts them.
const WriterBytes = 2*frameSize + 64

// ErrCorrupt is wrapped when a sealed file does not open: changed, cut
// off, or not written by this process.
var ErrCorrupt = errors.New("sealed spill file is corrupt")

// Writer seals what is written to it into a new file. Close it to write
// the last frame; the File it returns reads the file back.
type Writer struct {
	f     *os.File
	aead  cipher.AEAD
	plain []byte
	out   []byte
	frame uint64
	err   error
}

// Create creates a new file in dir (os.CreateTemp's pattern, mode 0600)
// sealed with a fresh key.
func Create(dir, pattern string) (*Writer, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	// Frames are written whole, a write each: no further buffer.
	return &Writer{f: f, aead: aead, plain: make([]byte, 0, frameSize)}, nil
}

// Write buffers p, sealing each full frame.
func (w *Writer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && w.err == nil {
		k := copy(w.plain[len(w.plain):frameSize], p)
		w.plain, p = w.plain[:len(w.plain)+k], p[k:]
		if len(w.plain) == frameSize {
			w.seal(false)
		}
	}
	if w.err != nil {
		return 0, w.err
	}
	return n, nil
}

func nonce(frame uint64, last bool) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[:8], frame)
	if last {
		n[11] = 1
	}
	return n[:]
}

func (w *Writer) seal(last bool) {
	w.out = w.aead.Seal(w.out[:0], nonce(w.frame, last), w.plain, nil)
	w.frame++
	w.plain = w.plain[:0]
	if _, err := w.f.Write(w.out); err != nil {
		w.err = err
	}
}

// Close seals the last frame and returns the file to read back. On error
// the file is removed.
func (w *Writer) Close() (*File, error) {
	if w.err == nil {
		w.seal(true)
	}
	if w.err != nil {
		w.f.Close()
		os.Remove(w.f.Name())
		return nil, fmt.Errorf("write %s: %w", w.f.Name(), w.err)
	}
	st, err := w.f.Stat()
	if err != nil {
		w.Abort()
		return nil, err
	}
	return &File{f: w.f, aead: w.aead, size: st.Size()}, nil
}

// Abort closes and removes the file being written.
func (w *Writer) Abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// File is a sealed file written by this process.
type File struct {
	f    *os.File
	aead cipher.AEAD
	size int64
}

// Name is the file's path.
func (f *File) Name() string { return f.f.Name() }

// Size is the file's size on disk.
func (f *File) Size() int64 { return f.size }

// Reader returns a reader of the file's contents from the start. Readers
// are independent of each other and may be used at the same time.
func (f *File) Reader() io.Reader {
	return &reader{r: io.NewSectionReader(f.f, 0, f.size), aead: f.aead, name: f.f.Name(), in: make([]byte, frameSize+f.aead.Overhead())}
}

// Remove closes and removes the file.
func (f *File) Remove() error {
	f.f.Close()
	return os.Remove(f.f.Name())
}

type reader struct {
	r     io.Reader
	aead  cipher.AEAD
	name  string
	in    []byte
	plain []byte
	frame uint64
	done  bool
	err   error
}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.plain) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.next()
	}
	n := copy(p, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

// next opens the next frame: a full one is not the last; a short one must
// be, and nothing may follow it.
func (r *reader) next() {
	n, err := io.ReadFull(r.r, r.in)
	last := false
	switch {
	case err == io.ErrUnexpectedEOF:
		last = true
	case err == io.EOF:
		r.err = fmt.Errorf("%w: %s ends before its last frame", ErrCorrupt, r.name)
		return
	case err != nil:
		r.err = err
		return
	}
	plain, err := r.aead.Open(r.in[:0], nonce(r.frame, last), r.in[:n], nil)
	if err != nil {
		r.err = fmt.Errorf("%w: %s frame %d", ErrCorrupt, r.name, r.frame)
		return
	}
	r.frame++
	r.plain, r.done = plain, last
}
