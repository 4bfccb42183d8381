package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/concord-planning/concord/domain/eventstore"
)

// Errors of the Feed.
var (
	// ErrConsumerBusy is returned by Feed.Subscribe when the consumer already
	// has a running subscription on this feed: two readers of one checkpoint
	// would advance it past events one of them never saw.
	ErrConsumerBusy = errors.New("projections: consumer already subscribed")
	// ErrFeedClosed is returned by Feed.Subscribe after Close.
	ErrFeedClosed = errors.New("projections: feed closed")
)

// Backoff is a bounded exponential backoff: the first wait is Initial, each
// next one doubles, none exceeds Max.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Delay returns the wait before attempt n (0 for the first retry).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Initial
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

func (b Backoff) orDefault(initial, maxWait time.Duration) Backoff {
	if b.Initial <= 0 {
		b.Initial = initial
	}
	if b.Max < b.Initial {
		b.Max = max(maxWait, b.Initial)
	}
	return b
}

// FeedConfig configures a Feed.
type FeedConfig struct {
	// Checkpoints holds each consumer's position. Required.
	Checkpoints Checkpoints
	// Redelivery is the wait before a nacked message is delivered again, and
	// before a failed checkpoint save or store subscription is retried.
	// Defaults: 50ms doubling up to 5s.
	Redelivery Backoff
	// CloseTimeout bounds how long a stopping subscription waits for the
	// outcome of the message it has handed out. Default 30s.
	CloseTimeout time.Duration
	// Logger receives the feed's errors. Default: discard.
	Logger *slog.Logger
	// Yield, if not nil, is called before every scanPage events a
	// subscription hands out, and may wait: a process whose consumers
	// rebuild from the start of the log lets its foreground work go first
	// (serve passes view.Service.Quiet). An error stops the subscription,
	// as its context ending does.
	Yield func(context.Context) error
}

// Feed exposes the event store's global log as a Watermill subscriber, one
// durable checkpoint per consumer. The topic of Subscribe names the
// consumer. Each subscription starts after the consumer's checkpoint, reads
// the stored events (catch-up) and then each new one (live), and hands out
// one message at a time: the next message is sent only once the previous
// one is acknowledged, and acknowledging saves the checkpoint first. A
// nacked message is sent again after a bounded backoff, as often as it takes;
// no event is ever skipped. Delivery is therefore at least once and in
// position order; consumers are idempotent by position (the Router's wrapper
// skips positions at or before the checkpoint).
//
// When a subscription stops (its context ends, or Close), the message in
// flight, if any, is waited for up to CloseTimeout, and its checkpoint saved
// if it was acknowledged, so a graceful stop neither loses nor repeats an
// event.
//
// A Feed is safe for concurrent use. A Watermill Router closes the
// subscribers of its handlers when it closes, so a Feed belongs to one
// Router.
type Feed struct {
	store  eventstore.Store
	cfg    FeedConfig
	log    *slog.Logger
	head   *headTracker
	cancel context.CancelFunc
	ctx    context.Context // lifetime of the feed's goroutines; ended by Close

	mu     sync.Mutex
	active map[string]bool
	closed bool
	wg     sync.WaitGroup
}

var _ message.Subscriber = (*Feed)(nil)

// NewFeed returns a feed of store's global log. It panics if
// cfg.Checkpoints is nil (a wiring mistake).
func NewFeed(store eventstore.Store, cfg FeedConfig) *Feed {
	if cfg.Checkpoints == nil {
		panic("projections.NewFeed: nil Checkpoints")
	}
	cfg.Redelivery = cfg.Redelivery.orDefault(50*time.Millisecond, 5*time.Second)
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Feed{store: store, cfg: cfg, log: log, ctx: ctx, cancel: cancel,
		active: map[string]bool{}, head: newHeadTracker()}
}

// Subscribe starts delivering the global log to consumer (the topic) after
// its checkpoint. The channel is closed when ctx ends or the feed is
// closed. It returns ErrConsumerBusy if consumer is already subscribed,
// ErrFeedClosed after Close, or the checkpoint's load error.
func (f *Feed) Subscribe(ctx context.Context, consumer string) (<-chan *message.Message, error) {
	if consumer == "" {
		return nil, errors.New("projections: Feed.Subscribe: empty consumer name (the topic names the consumer)")
	}
	f.mu.Lock()
	switch {
	case f.closed:
		f.mu.Unlock()
		return nil, ErrFeedClosed
	case f.active[consumer]:
		f.mu.Unlock()
		return nil, fmt.Errorf("%w: %q", ErrConsumerBusy, consumer)
	}
	f.active[consumer] = true
	f.wg.Add(1)
	f.mu.Unlock()
	release := func() {
		f.mu.Lock()
		delete(f.active, consumer)
		f.mu.Unlock()
		f.wg.Done()
	}

	pos, err := f.cfg.Checkpoints.LoadCheckpoint(ctx, consumer)
	if err != nil {
		release()
		return nil, fmt.Errorf("projections: load checkpoint of %q: %w", consumer, err)
	}
	f.startHead()
	out := make(chan *message.Message)
	go func() {
		defer release()
		defer close(out)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(f.ctx, cancel)
		defer stop()
		f.deliver(ctx, consumer, pos, out)
	}()
	return out, nil
}

// Close ends every subscription, after the messages in flight are
// acknowledged or CloseTimeout passes, and waits for them. It is idempotent.
func (f *Feed) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.cancel()
	f.wg.Wait()
	return nil
}

// Head returns the last position of the log the feed knows of, and whether
// it knows it yet: the feed reads the log's end when its first consumer
// subscribes, then follows appends.
func (f *Feed) Head() (eventstore.Position, bool) { return f.head.current() }

func (f *Feed) startHead() {
	f.head.once.Do(func() {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.head.run(f.ctx, f.store, f.cfg.Redelivery, f.log)
		}()
	})
}

// deliver runs one consumer's subscription until ctx ends.
func (f *Feed) deliver(ctx context.Context, consumer string, pos eventstore.Position, out chan<- *message.Message) {
	for failures := 0; ; failures++ {
		sub, err := f.store.SubscribeAll(ctx, pos)
		if err == nil {
			n := 0
			for rec := range sub.Events() {
				if n++; f.cfg.Yield != nil && n%scanPage == 0 && f.cfg.Yield(ctx) != nil {
					sub.Close()
					return
				}
				if !f.deliverOne(ctx, consumer, rec, out) {
					sub.Close()
					return
				}
				pos = rec.Position
				failures = 0
			}
			err = sub.Err()
			sub.Close()
		}
		if ctx.Err() != nil || errors.Is(err, eventstore.ErrClosed) {
			return
		}
		if err == nil {
			err = errors.New("subscription ended")
		}
		f.log.Error("projections: store subscription failed; resubscribing",
			"consumer", consumer, "after", pos.String(), "err", err)
		if !sleep(ctx, f.cfg.Redelivery.Delay(failures)) {
			return
		}
	}
}

// deliverOne hands rec to the consumer until it is acknowledged, then saves
// the checkpoint. It returns false when the subscription must stop.
func (f *Feed) deliverOne(ctx context.Context, consumer string, rec eventstore.RecordedEvent, out chan<- *message.Message) bool {
	for attempt := 0; ; attempt++ {
		msg := Marshal(rec)
		msg.SetContext(ctx)
		select {
		case out <- msg:
		case <-ctx.Done():
			return false
		}
		select {
		case <-msg.Acked():
			return f.save(ctx, consumer, rec.Position)
		case <-msg.Nacked():
		case <-ctx.Done():
			// Stopping: the consumer holds the message; wait for its outcome
			// so that an acknowledged event is not delivered again.
			t := time.NewTimer(f.cfg.CloseTimeout)
			defer t.Stop()
			select {
			case <-msg.Acked():
				f.save(ctx, consumer, rec.Position)
			case <-msg.Nacked():
			case <-t.C:
				f.log.Warn("projections: stopped without the outcome of the message in flight; it will be delivered again",
					"consumer", consumer, "position", rec.Position.String())
			}
			return false
		}
		if !sleep(ctx, f.cfg.Redelivery.Delay(attempt)) {
			return false
		}
	}
}

// save stores the checkpoint, retrying with backoff; when ctx has ended it
// makes one last attempt on a detached context. It returns false when the
// subscription must stop.
func (f *Feed) save(ctx context.Context, consumer string, pos eventstore.Position) bool {
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.CloseTimeout)
			defer cancel()
			if err := f.cfg.Checkpoints.SaveCheckpoint(dctx, consumer, pos); err != nil {
				f.log.Error("projections: checkpoint not saved at stop; the event will be delivered again",
					"consumer", consumer, "position", pos.String(), "err", err)
			}
			return false
		}
		err := f.cfg.Checkpoints.SaveCheckpoint(ctx, consumer, pos)
		if err == nil {
			return true
		}
		f.log.Error("projections: saving checkpoint failed; retrying", "consumer", consumer, "position", pos.String(), "err", err)
		sleep(ctx, f.cfg.Redelivery.Delay(attempt))
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// headTracker follows the last position of the global log: it reads the
// log to its end once (start), then follows appends (cur).
type headTracker struct {
	once  sync.Once
	known chan struct{}
	mu    sync.Mutex
	start eventstore.Position
	cur   eventstore.Position
}

func newHeadTracker() *headTracker { return &headTracker{known: make(chan struct{})} }

func (h *headTracker) current() (eventstore.Position, bool) {
	select {
	case <-h.known:
	default:
		return eventstore.Start, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur, true
}

// startPos returns the end of the log as read at start, once known.
func (h *headTracker) startPos() (eventstore.Position, bool) {
	select {
	case <-h.known:
	default:
		return eventstore.Start, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.start, true
}

// initial waits until the end of the log as read at start is known.
func (h *headTracker) initial(ctx context.Context) (eventstore.Position, error) {
	select {
	case <-h.known:
	case <-ctx.Done():
		return eventstore.Start, ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.start, nil
}

const scanPage = 4096

func (h *headTracker) run(ctx context.Context, store eventstore.Store, backoff Backoff, log *slog.Logger) {
	pos := eventstore.Start
	hr, fast := store.(eventstore.HeadReader) // others are read through once
	for failures := 0; ; {
		var batch []eventstore.RecordedEvent
		var err error
		if fast {
			if pos, err = hr.Head(ctx); err == nil {
				break
			}
		} else {
			batch, err = store.ReadAll(ctx, pos, scanPage)
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, eventstore.ErrClosed) {
				return
			}
			log.Error("projections: reading the log's head failed; retrying", "err", err)
			if !sleep(ctx, backoff.Delay(failures)) {
				return
			}
			failures++
			continue
		}
		if len(batch) == 0 {
			break
		}
		pos = batch[len(batch)-1].Position
	}
	h.mu.Lock()
	h.start, h.cur = pos, pos
	h.mu.Unlock()
	close(h.known)
	for failures := 0; ; failures++ {
		sub, err := store.SubscribeAll(ctx, pos)
		if err == nil {
			for rec := range sub.Events() {
				h.mu.Lock()
				h.cur = rec.Position
				h.mu.Unlock()
				pos = rec.Position
				failures = 0
			}
			err = sub.Err()
			sub.Close()
		}
		if ctx.Err() != nil || errors.Is(err, eventstore.ErrClosed) {
			return
		}
		log.Error("projections: following the log's head failed; resubscribing", "err", err)
		if !sleep(ctx, backoff.Delay(failures)) {
			return
		}
	}
}
