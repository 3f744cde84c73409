package schedule

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// markerSuffix ends the name of the marker that says a file is complete.
const markerSuffix = ".done"

// partialSuffixes end the names uploaders give a file while they write it
// (WinSCP's .filepart, browsers' .crdownload, …): such a file is never
// taken, however old, since a mapping with an explicit format would read
// it.
var partialSuffixes = []string{markerSuffix, ".part", ".filepart", ".partial", ".tmp", ".crdownload", "~"}

// inboxFile is a file of an inbox as it was when the inbox was listed.
type inboxFile struct {
	path   string
	size   int64
	mtime  time.Time
	marker bool // "<path>.done" exists
}

// scanInbox lists the regular files directly in dir (no dotfiles, no
// markers or partial uploads, no subfolders) and splits them into the complete ones and the
// ones still being written: a file is complete when its marker exists or
// when it has not been modified for settle (see the package comment).
func scanInbox(dir string, now time.Time, settle time.Duration) (complete, waiting []inboxFile, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("inbox: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !e.Type().IsRegular() || slices.ContainsFunc(partialSuffixes, func(s string) bool {
			return strings.HasSuffix(strings.ToLower(name), s)
		}) {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) { // taken away since the listing
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("inbox: %w", err)
		}
		f := inboxFile{path: filepath.Join(dir, name), size: fi.Size(), mtime: fi.ModTime()}
		if mi, err := os.Stat(f.path + markerSuffix); err == nil && mi.Mode().IsRegular() {
			f.marker = true
		}
		if f.marker || now.Sub(f.mtime) >= settle {
			complete = append(complete, f)
		} else {
			waiting = append(waiting, f)
		}
	}
	return complete, waiting, nil
}

// changed reports whether f is no longer what was listed: its size or
// modification time differ, or it is gone.
func (f inboxFile) changed() bool {
	fi, err := os.Lstat(f.path)
	return err != nil || fi.Size() != f.size || !fi.ModTime().Equal(f.mtime)
}

// moveInto moves f, and its marker if it has one, into dir under its own
// name, or with "-2", "-3"… before the extension when dir already holds
// that name. It returns the new path.
func moveInto(f inboxFile, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	dest, err := freeName(dir, filepath.Base(f.path))
	if err != nil {
		return "", err
	}
	// The marker leaves first: a marker left behind by a crash between
	// the two moves would mark the next upload of the same name complete
	// while it is still being written. (A file left without its marker is
	// only taken after the settle time.) One that vanished is no loss.
	if err := os.Rename(f.path+markerSuffix, dest+markerSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.Rename(f.path, dest); err != nil {
		return "", err
	}
	return dest, nil
}

// freeName returns a path in dir for name that neither a file nor its
// marker uses yet.
func freeName(dir, name string) (string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; i < 10000; i++ {
		p := filepath.Join(dir, name)
		if i > 1 {
			p = filepath.Join(dir, fmt.Sprintf("%s-%d%s", stem, i, ext))
		}
		if !exists(p) && !exists(p+markerSuffix) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no free name for %s in %s", name, dir)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// copyFile copies src to a free name for name in dir and returns it.
func copyFile(src, dir, name string) (_ string, err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	dest, err := freeName(dir, name)
	if err != nil {
		return "", err
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	// The workbooks hold ID numbers in clear: as private as pipeline
	// writes them.
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return dest, err
}

// mkdirIn creates dir, a folder under root, and the folders between; each
// one that exists already must be a folder, not a symlink (see checkDirIn).
func mkdirIn(root, dir string) error {
	return walkDirIn(root, dir, true)
}

// checkDirIn reports an error if a part of dir, a folder under root, exists
// but is not a folder: a symlink there, made by whoever writes the inbox,
// would send what is moved into dir out of the inbox.
func checkDirIn(root, dir string) error {
	return walkDirIn(root, dir, false)
}

func walkDirIn(root, dir string, create bool) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s is not under %s", dir, root)
	}
	p := root
	for _, e := range strings.Split(rel, string(filepath.Separator)) {
		if e == "." {
			continue
		}
		p = filepath.Join(p, e)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			if !create {
				return nil
			}
			if err := os.Mkdir(p, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if fi, err = os.Lstat(p); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a folder (%s): refusing to move files there", p, fi.Mode().Type())
		}
	}
	return nil
}
