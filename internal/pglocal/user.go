package pglocal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runAs is the unprivileged user that runs initdb, pg_ctl and the server
// when this process runs as root: PostgreSQL refuses to run as root.
type runAs struct {
	name     string
	uid, gid int
}

// serverUser returns nil when the process is not root (the programs then
// run as the process's own user), else the user "postgres" or, failing
// that, "nobody".
func serverUser() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("user %q: %w", name, err)
		}
		return &runAs{name: name, uid: uid, gid: gid}, nil
	}
	return nil, fmt.Errorf("running as root, and no unprivileged user to run PostgreSQL as: %w", errors.Join(errs...))
}

// checkReachable checks that the user can search every parent folder of
// dir. Only the mode bits count (the programs run with no supplementary
// groups); ACLs are not consulted.
func (u *runAs) checkReachable(dir string) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		var bit fs.FileMode
		switch {
		case int(st.Uid) == u.uid:
			bit = 0o100
		case int(st.Gid) == u.gid:
			bit = 0o010
		default:
			bit = 0o001
		}
		if fi.Mode().Perm()&bit == 0 {
			return fmt.Errorf("%w: running as root, so PostgreSQL runs as user %q, who cannot pass through %s (mode %04o); "+
				"put the cluster folder under a path every user can traverse (such as /var/lib/idfusion or /tmp) "+
				"or make the folder searchable (chmod o+x %s)",
				ErrUnreachable, u.name, p, fi.Mode().Perm(), p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// chownTree hands dir and everything under it to the user, unless dir
// already belongs to the user (or does not exist).
func (u *runAs) chownTree(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == u.uid {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, u.uid, u.gid)
	})
}

// command returns a command that runs as the server's user in the cluster
// folder, in a process group of its own (so a Ctrl-C at the terminal reaches
// this process, which stops the server in order, and not the server itself),
// with no PG* variables from the environment to steer it elsewhere.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.runAs != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(c.runAs.uid), Gid: uint32(c.runAs.gid)}
	}
	return cmd
}

// lockFile takes an exclusive flock on name, waiting for it as long as ctx
// allows, and returns its release.
func lockFile(ctx context.Context, name string) (func(), error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
