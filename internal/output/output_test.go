package output

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func list(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func text(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// TestFile: a file replaces the earlier one of its name with its own
// mode whatever the earlier file's, and a failed write — the content's
// or the rename's — leaves the earlier file and nothing else.
func TestFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "run-1.json")
	if err := os.WriteFile(path, []byte("earlier"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := File(path, Shared, text("new")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" || st.Mode().Perm() != 0o640 {
		t.Errorf("after writing: %q, mode %v; want \"new\", -rw-r-----", b, st.Mode().Perm())
	}
	if err := File(path, Private, text("secret")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("private mode %v, want -rw-------", st.Mode().Perm())
	}

	boom := errors.New("boom")
	err = File(path, Shared, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("failed content: err = %v, want boom", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "secret" {
		t.Errorf("a failed write replaced the file: %q", b)
	}
	// A folder where the file should go: the rename fails, and the error
	// names the path.
	taken := filepath.Join(dir, "taken")
	if err := os.Mkdir(taken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := File(taken, Shared, text("x")); err == nil {
		t.Error("writing over a folder succeeded")
	}
	if got := list(t, dir); !slices.Equal(got, []string{"run-1.json", "taken"}) {
		t.Errorf("folder after failures: %q, want no temporary file", got)
	}
}

// TestPending: Abort drops the file (also when deferred after Commit),
// and a second Commit is refused.
func TestPending(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := Create(filepath.Join(dir, "export.csv"), Shared)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(p, "a,b\n")
	p.Abort()
	if got := list(t, dir); len(got) != 0 {
		t.Fatalf("after Abort: %q", got)
	}
	p, err = Create(filepath.Join(dir, "export.csv"), Shared)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(p, "a,b\n")
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	p.Abort()
	if err := p.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}
	if got := list(t, dir); !slices.Equal(got, []string{"export.csv"}) {
		t.Errorf("after Commit and Abort: %q", got)
	}
}

// TestSet: a set's files appear in its folder only when it commits;
// closed without committing, it leaves the folder as it was.
func TestSet(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "out")
	s, err := NewSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.File("a-feedback.xlsx", Shared, text("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.File("b-feedback.xlsx", Shared, text("b")); err != nil {
		t.Fatal(err)
	}
	if got := list(t, dir); len(got) != 1 || got[0][0] != '.' {
		t.Fatalf("before Commit the folder shows %q", got)
	}
	paths, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "a-feedback.xlsx"), filepath.Join(dir, "b-feedback.xlsx")}; !slices.Equal(paths, want) {
		t.Errorf("Commit = %q, want %q", paths, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := list(t, dir); !slices.Equal(got, []string{"a-feedback.xlsx", "b-feedback.xlsx"}) {
		t.Errorf("after Commit and Close: %q", got)
	}

	s, err = NewSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.File("c-feedback.xlsx", Shared, text("c")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := list(t, dir); !slices.Equal(got, []string{"a-feedback.xlsx", "b-feedback.xlsx"}) {
		t.Errorf("a set closed without Commit left %q", got)
	}
}
