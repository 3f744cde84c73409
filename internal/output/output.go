// Package output writes every file idfusion hands to people: the run
// report, the departments' feedback workbooks, the rejects and stage
// Parquet files, the golden-record exports. Each is written under a
// temporary name beside its final one, synced, given its mode and renamed
// into place, so a reader never finds half a file and a failed write
// leaves nothing behind; the files of one run are staged in a Set and
// appear together, or not at all.
package output

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of the outputs. Everything a run writes holds personal data (the
// departments' own values in their workbooks, masked values elsewhere):
// readable by its owner and group only. A decrypted export is its owner's
// alone.
const (
	Shared  fs.FileMode = 0o640
	Private fs.FileMode = 0o600
)

// Pending is a file being written; Commit puts it in place, Abort drops
// it.
type Pending struct {
	f    *os.File
	path string
	mode fs.FileMode
	done bool
}

// Create starts writing the file path, with mode once committed.
func Create(path string, mode fs.FileMode) (*Pending, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp") // mode 0600 until committed
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &Pending{f: f, path: path, mode: mode}, nil
}

// Write writes to the pending file.
func (p *Pending) Write(b []byte) (int, error) { return p.f.Write(b) }

// Path is where the file goes.
func (p *Pending) Path() string { return p.path }

// Commit syncs the file, gives it its mode and renames it into place,
// replacing an earlier file of the name. On failure nothing is left.
func (p *Pending) Commit() error {
	if p.done {
		return fmt.Errorf("write %s: already finished", p.path)
	}
	p.done = true
	err := p.f.Chmod(p.mode)
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.f.Name(), p.path)
	}
	if err != nil {
		os.Remove(p.f.Name())
		return fmt.Errorf("write %s: %w", p.path, err)
	}
	return nil
}

// Abort drops the pending file; after Commit it does nothing, so it can
// be deferred.
func (p *Pending) Abort() {
	if p.done {
		return
	}
	p.done = true
	p.f.Close()
	os.Remove(p.f.Name())
}

// File writes path atomically with mode: write gets the pending file.
func File(path string, mode fs.FileMode, write func(io.Writer) error) error {
	p, err := Create(path, mode)
	if err != nil {
		return err
	}
	defer p.Abort()
	if err := write(p); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return p.Commit()
}

// A Set stages files that belong together (a run's workbooks) in a
// hidden folder of dir; Commit moves them into dir, Close drops what was
// not committed.
type Set struct {
	dir, staging string
	names        []string
	stale        []string // files of dir the set replaces with none
}

// NewSet starts a set of files for dir, creating dir if needed.
func NewSet(dir string) (*Set, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp(dir, ".pending-")
	if err != nil {
		return nil, err
	}
	return &Set{dir: dir, staging: staging}, nil
}

// File writes a file of the set (see File).
func (s *Set) File(name string, mode fs.FileMode, write func(io.Writer) error) error {
	if err := File(filepath.Join(s.staging, name), mode, write); err != nil {
		return err
	}
	s.names = append(s.names, name)
	return nil
}

// Remove makes Commit remove the file name of the set's folder, if there is
// one: a companion of an earlier set's file (a workbook's overflow CSV)
// that this set has none of, which must not stay beside the new file.
func (s *Set) Remove(name string) { s.stale = append(s.stale, name) }

// Commit moves the set's files into its folder, removes the stale ones
// (Remove), and returns the paths of the files it moved.
func (s *Set) Commit() ([]string, error) {
	for _, n := range s.stale {
		if err := os.Remove(filepath.Join(s.dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove the stale %s: %w", n, err)
		}
	}
	s.stale = nil
	var paths []string
	for _, n := range s.names {
		p := filepath.Join(s.dir, n)
		if err := os.Rename(filepath.Join(s.staging, n), p); err != nil {
			return paths, fmt.Errorf("write %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	s.names = nil
	return paths, nil
}

// Close removes the staging folder and what is left in it.
func (s *Set) Close() error {
	err := os.RemoveAll(s.staging)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
