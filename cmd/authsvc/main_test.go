package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestServeAndShutdown: the service starts on the database, answers its
// readiness and login page, and stops cleanly on a cancelled context
// (what SIGTERM does).
func TestServeAndShutdown(t *testing.T) {
	addr, cancel, done := startService(t)
	defer cancel()
	resp, err := http.Get("http://" + addr + "/login")
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("login page: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	waitStopped(t, done)
}

// waitStopped waits for run, stopped, to return, and fails unless it
// returns nil (a clean shutdown) within 15 s.
func waitStopped(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no clean shutdown within 15 s")
	}
}

// startService runs the service in development mode, with extra
// arguments, on a fresh database and a free port, and waits until it is
// ready. cancel is SIGTERM; done yields run's result.
func startService(t *testing.T, extra ...string) (addr string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	return startWith(t, http.DefaultClient, "http", append([]string{"--dev"}, extra...)...)
}

// startWith runs the service with args on a fresh database and a free
// port, and waits until hc gets it ready at scheme://addr.
func startWith(t *testing.T, hc *http.Client, scheme string, args ...string) (addr string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	t.Setenv("DATABASE_URL", dbtest.ConnString(t))
	t.Setenv("IDFUSION_KEY_FILE", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	args = append(args, "--addr", addr, "--data-dir", t.TempDir())
	go func() { result <- run(ctx, args) }()
	for range 100 {
		if resp, err := hc.Get(scheme + "://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, cancel, result
			}
		}
		select {
		case err := <-result:
			cancel()
			t.Fatalf("authsvc stopped: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	cancel()
	t.Fatal("authsvc never became ready")
	return "", nil, nil
}

// TestSlowHeadersCut: a client that opens a connection and trickles its
// request headers (slowloris) is cut off by the header timeout instead of
// holding a connection for ever.
func TestSlowHeadersCut(t *testing.T) {
	addr, cancel, _ := startService(t)
	defer cancel()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /login HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	// The server's header timeout is 5 s; 20 s is the test's patience.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection with unfinished headers was still open after 20 s")
	}
	if strings.Contains(string(buf[:n]), "200 OK") {
		t.Fatalf("unfinished headers were answered: %q", buf[:n])
	}
}
