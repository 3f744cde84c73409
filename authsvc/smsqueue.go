package authsvc

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// QueuedSMS sends through another SMSSender (the gateway) off the
// request's path: Send queues the message and returns at once. A code
// request's answer then takes the same time whether a message went out or
// not — the phone on record of an existing account, or nobody's — and a
// slow or failing gateway is not the citizen's wait nor a different
// answer: either would tell which ID numbers and phones go together. A
// failed delivery is logged (the gateway's error, never the phone or the
// text); the citizen asks again after the send interval.
type QueuedSMS struct {
	next    SMSSender
	logger  *slog.Logger
	timeout time.Duration

	mu     sync.Mutex
	closed bool
	queue  chan smsMessage
	done   sync.WaitGroup
}

type smsMessage struct{ phone, text string }

// ErrSMSQueueFull refuses a message while the queue is full: the gateway
// is down or far behind.
var ErrSMSQueueFull = errors.New("SMS queue full")

// errSMSQueueClosed refuses a message once the service stops.
var errSMSQueueClosed = errors.New("SMS queue closed")

// NewQueuedSMS starts workers delivering through next, each message given
// timeout, with up to depth messages waiting.
func NewQueuedSMS(next SMSSender, workers, depth int, timeout time.Duration, logger *slog.Logger) *QueuedSMS {
	q := &QueuedSMS{next: next, logger: logger, timeout: timeout, queue: make(chan smsMessage, depth)}
	for range workers {
		q.done.Go(func() {
			for m := range q.queue {
				q.deliver(m)
			}
		})
	}
	return q
}

// Send queues the message; ErrSMSQueueFull when the queue is full.
func (q *QueuedSMS) Send(_ context.Context, phone, text string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errSMSQueueClosed
	}
	select {
	case q.queue <- smsMessage{phone, text}:
		return nil
	default:
		return ErrSMSQueueFull
	}
}

func (q *QueuedSMS) deliver(m smsMessage) {
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	if err := q.next.Send(ctx, m.phone, m.text); err != nil {
		q.logger.Warn("sms_delivery_failed", errAttr(err))
	}
}

// Close stops taking messages and waits until the queued ones are
// delivered, or ctx ends.
func (q *QueuedSMS) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.queue)
	}
	q.mu.Unlock()
	drained := make(chan struct{})
	go func() { q.done.Wait(); close(drained) }()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
