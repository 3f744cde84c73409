package authsvc

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// The hash queue: a password hash costs tens of milliseconds of one core
// and Argon2Params.Memory, so a login storm is served at the rate the
// cores hash, whatever arrives. The requests that will hash are admitted
// (Admit) only while the queue holds no more than the hasher can serve
// within its target latency; the rest are refused at once, with the time
// to come back, rather than all waiting seconds together. A drain (Drain,
// on shutdown) refuses new requests, and the queued ones that cannot be
// served before the stop; hashes already running finish.

// OverloadError refuses a request the hash queue cannot serve in time, or
// at all while the service stops.
type OverloadError struct {
	// RetryAfter is when the queue is likely to have room again.
	RetryAfter time.Duration
	// Stopping: the service is stopping (another instance, or this one
	// restarted, will answer).
	Stopping bool
}

func (e *OverloadError) Error() string {
	if e.Stopping {
		return "password hashing: the service is stopping"
	}
	return fmt.Sprintf("password hashing: queue full, retry after %s", e.RetryAfter)
}

// retryAfterStopping is what a request refused by a drain is told: long
// enough for a restart or for the load balancer to notice.
const retryAfterStopping = 5 * time.Second

// hashQueue is the admission of PasswordHasher.
type hashQueue struct {
	mu sync.Mutex
	// target is the latency within which an admitted request should have
	// its hash; concurrency the hashes run at once.
	target      time.Duration
	concurrency int
	// perHash is a moving average of how long one hash takes (wall time,
	// with concurrency of them running).
	perHash  time.Duration
	admitted int
	// waiting is how many hashes wait for a slot.
	waiting  int
	stopping bool
	// stopped is closed at Drain's deadline: hashes still waiting for a
	// slot give up.
	stopped chan struct{}
}

// capacity is how many requests can be admitted at once: what the
// hashers serve within target, and at least one per slot.
func (q *hashQueue) capacity() int {
	if q.perHash <= 0 {
		return math.MaxInt
	}
	return max(q.concurrency, int(int64(q.target)*int64(q.concurrency)/int64(q.perHash)))
}

// wait is how long n admitted requests take to be served, rounded up to
// whole seconds (the resolution of Retry-After).
func (q *hashQueue) wait(n int) time.Duration {
	d := time.Duration(n) * q.perHash / time.Duration(q.concurrency)
	return max(1, (d+time.Second-1)/time.Second) * time.Second
}

// withLatency sets the queue's target latency.
func (h *PasswordHasher) withLatency(target time.Duration) *PasswordHasher {
	h.queue.target = target
	return h
}

// Admit takes a place in the hash queue for a request that will hash a
// password, or refuses it at once with an *OverloadError. done gives the
// place back; it may be called more than once.
func (h *PasswordHasher) Admit() (done func(), err error) {
	q := &h.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopping {
		return nil, &OverloadError{RetryAfter: retryAfterStopping, Stopping: true}
	}
	if q.admitted >= q.capacity() {
		return nil, &OverloadError{RetryAfter: q.wait(q.admitted)}
	}
	q.admitted++
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			q.admitted--
			q.mu.Unlock()
		})
	}, nil
}

// Drain refuses new requests with an *OverloadError that says the
// service is stopping; the hashes running finish, and so do the ones
// waiting for a slot that get one before by. Those still waiting at by
// cannot finish before the stop and are refused then. Drain is what a
// shutdown calls first.
func (h *PasswordHasher) Drain(by time.Time) {
	q := &h.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopping {
		return
	}
	q.stopping = true
	time.AfterFunc(time.Until(by), func() { close(q.stopped) })
}

// waitingForSlot is how many hashes wait for a slot.
func (h *PasswordHasher) waitingForSlot() int {
	h.queue.mu.Lock()
	defer h.queue.mu.Unlock()
	return h.queue.waiting
}

// addWaiting counts a hash waiting for a slot (+1) or done waiting (-1).
func (q *hashQueue) addWaiting(n int) {
	q.mu.Lock()
	q.waiting += n
	q.mu.Unlock()
}

// stopping reports whether Drain has been called.
func (h *PasswordHasher) stopping() bool {
	h.queue.mu.Lock()
	defer h.queue.mu.Unlock()
	return h.queue.stopping
}

// observe adds one hash's duration to the moving average (weight 1/8:
// a few dozen hashes follow a change of the machine's load).
func (q *hashQueue) observe(d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.perHash <= 0 {
		q.perHash = d
		return
	}
	q.perHash += (d - q.perHash) / 8
}
