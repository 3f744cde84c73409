package pglocal

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// binaries holds the absolute paths of the server programs.
type binaries struct {
	dir, initdb, pgCtl, postgres string
}

// binariesIn returns the programs in dir, or false if one is missing.
func binariesIn(dir string) (binaries, bool) {
	b := binaries{
		dir:      dir,
		initdb:   filepath.Join(dir, "initdb"),
		pgCtl:    filepath.Join(dir, "pg_ctl"),
		postgres: filepath.Join(dir, "postgres"),
	}
	for _, p := range []string{b.initdb, b.pgCtl, b.postgres} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return binaries{}, false
		}
	}
	return b, true
}

// findBinaries returns the programs in binDir or, if binDir is empty, in the
// first folder holding all three of: the folder of initdb on $PATH (after
// symbolic links, as pg_ctl finds postgres beside itself), the version
// folder under /usr/lib/postgresql matching the existing data directory's
// PG_VERSION, the highest version folder there, /usr/local/pgsql/bin.
func findBinaries(binDir, dataDir string) (binaries, error) {
	if binDir != "" {
		if b, ok := binariesIn(binDir); ok {
			return b, nil
		}
		return binaries{}, fmt.Errorf("%w (looked in %s)", ErrBinariesNotFound, binDir)
	}
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil {
			if abs, err := filepath.Abs(p); err == nil {
				candidates = append(candidates, filepath.Dir(abs))
			}
		}
	}
	if v, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		candidates = append(candidates, filepath.Join("/usr/lib/postgresql", strings.TrimSpace(string(v)), "bin"))
	}
	candidates = append(candidates, debianVersionDirs()...)
	candidates = append(candidates, "/usr/local/pgsql/bin")
	for _, dir := range candidates {
		if b, ok := binariesIn(dir); ok {
			return b, nil
		}
	}
	return binaries{}, fmt.Errorf("%w (looked on $PATH and in /usr/lib/postgresql/*/bin, /usr/local/pgsql/bin)", ErrBinariesNotFound)
}

// debianVersionDirs returns /usr/lib/postgresql/<version>/bin, highest
// version first.
func debianVersionDirs() []string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if err != nil {
			return -1
		}
		return v
	}
	sort.SliceStable(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	return matches
}
