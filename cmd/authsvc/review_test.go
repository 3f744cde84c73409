package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestShutdownFinishesRequests: a request in flight when SIGTERM comes
// finishes with its real answer: its context is not cancelled under it
// (a login half done, a code spent and no session).
func TestShutdownFinishesRequests(t *testing.T) {
	addr, cancel, done := startService(t)
	defer cancel()

	// A login whose body is still coming when the signal arrives: the
	// handler has started and waits for it.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"id_number":"110101199003070000","password":"Wrong#Pass9"}`
	fmt.Fprintf(conn, "POST /api/v1/login/password HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		addr, len(body), body[:10])
	time.Sleep(100 * time.Millisecond)
	cancel()
	// The listener closes when the shutdown starts.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if i == 100 {
			t.Fatal("the listener is still open after the signal")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login in flight at shutdown: %d %s, want 401 (its real answer)", resp.StatusCode, raw)
	}
	waitStopped(t, done)
}
