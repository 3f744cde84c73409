package authsvc

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCodeAnswerDoesNotWaitOnGateway: with the gateway queued
// (QueuedSMS, as in production), a login code request answers the same,
// without waiting on a gateway that hangs, whether its ID number and
// phone belong together or not; the message goes out after, once; the
// queue drains on Close and then takes no more.
func TestCodeAnswerDoesNotWaitOnGateway(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	g := newFakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		answerOK(w, r)
	})
	// Released when the test ends at the latest, before its cleanups:
	// the service's server waits for a request stuck on the gateway.
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()
	queue := NewQueuedSMS(g.gateway(t, nil), 1, 10, 10*time.Second, slog.New(slog.DiscardHandler))
	b := setup(t, func(c *Config) { c.SMS = queue })
	c := b.active(t, "朱十二", "13912340501", goodPassword)

	answer := func(idNumber, phone string) response {
		t.Helper()
		got := make(chan response, 1)
		go func() { got <- b.browser(t).sendCode(idNumber, phone) }()
		select {
		case r := <-got:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("the code request waited on the gateway")
			return response{}
		}
	}
	owner := answer(c.IDNumber, c.Phone)
	nobody := answer(residentID("19700101"), "13912340502")
	if owner.Status != http.StatusAccepted || owner.Raw != nobody.Raw || owner.Status != nobody.Status {
		t.Errorf("answers differ: owner %d %s, nobody %d %s", owner.Status, owner.Raw, nobody.Status, nobody.Raw)
	}
	releaseOnce()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := queue.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	reqs := g.requests()
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), c.Phone) {
		t.Errorf("the gateway got %d messages, want one to the owner's phone", len(reqs))
	}
	if err := queue.Send(ctx, c.Phone, "x"); err == nil {
		t.Error("a message was taken after Close")
	}
}

// TestQueuedSMSFull: a full queue refuses at once rather than wait.
func TestQueuedSMSFull(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	g := newFakeGateway(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		answerOK(w, r)
	})
	defer close(release)
	q := NewQueuedSMS(g.gateway(t, nil), 1, 1, 10*time.Second, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	// One in the worker (waiting on the gateway) and one queued.
	if err := q.Send(ctx, "13912340511", "a"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(g.requests()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the worker never sent")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := q.Send(ctx, "13912340512", "b"); err != nil {
		t.Fatal(err)
	}
	if err := q.Send(ctx, "13912340513", "c"); err != ErrSMSQueueFull {
		t.Errorf("a third message: %v, want ErrSMSQueueFull", err)
	}
}
