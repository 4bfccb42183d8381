package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/alert"
	"github.com/concord-planning/concord/domain/eventstore"
)

// Headers of a webhook delivery.
const (
	// HeaderSignature carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of
	// "<t>.<body>" under the shared secret>".
	HeaderSignature = "Concord-Signature"
	// HeaderAlertID carries "<plan>/<alert id>": the same for the raise and
	// the resolution of one alert.
	HeaderAlertID = "Concord-Alert-Id"
	// HeaderDeliveryID carries "<plan>/<alert id>/<change>": the same for
	// every attempt of one delivery, for the receiver's deduplication.
	HeaderDeliveryID = "Concord-Delivery-Id"
)

// MinSecretLen is the shortest webhook secret accepted, in bytes.
const MinSecretLen = 32

// Clock is the time source of the webhook's retries.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	URL    string // https://…
	Secret []byte // at least MinSecretLen bytes
	// Client sends the requests (default: one with a 10s timeout).
	Client *http.Client
	// MaxAttempts is the number of attempts before a delivery is
	// dead-lettered (default 8).
	MaxAttempts int
	// Backoff is the wait after the first failure (default 2s); it doubles
	// after each further failure, up to MaxBackoff (default 1h).
	Backoff, MaxBackoff time.Duration
	Clock               Clock // default SystemClock
	Logger              *slog.Logger
	// Replica names this deliverer among the replicas that deliver the
	// same books (default: host name, process id and a random suffix).
	// Before each attempt it claims the delivery for Lease (default 1m,
	// at least the client's timeout): while the claim holds, the other
	// replicas leave the delivery alone.
	Replica string
	Lease   time.Duration
}

// ErrConfig is returned (wrapped) by NewWebhook for an unusable
// configuration.
var ErrConfig = errors.New("alerts: invalid webhook configuration")

// Webhook delivers alert news to one endpoint; see the package comment.
// Handle notes the alert books the log holds; Run delivers until its
// context ends. It is safe for concurrent use.
type Webhook struct {
	cfg   WebhookConfig
	books *Books
	wake  chan struct{}

	mu    sync.Mutex
	plans []string
}

// NewWebhook returns a webhook delivering the news of books' alerts as
// cfg says. It returns ErrConfig for a URL that is not absolute https, a
// secret shorter than MinSecretLen, or negative limits.
func NewWebhook(books *Books, cfg WebhookConfig) (*Webhook, error) {
	var errs []error
	if u, err := url.Parse(cfg.URL); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("%w: URL %q: want an absolute https:// URL", ErrConfig, cfg.URL))
	}
	if len(cfg.Secret) < MinSecretLen {
		errs = append(errs, fmt.Errorf("%w: the secret has %d bytes, want at least %d", ErrConfig, len(cfg.Secret), MinSecretLen))
	}
	if cfg.MaxAttempts < 0 || cfg.Backoff < 0 || cfg.MaxBackoff < 0 || cfg.Lease < 0 {
		errs = append(errs, fmt.Errorf("%w: negative attempts or backoff", ErrConfig))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 2 * time.Second
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Lease == 0 {
		cfg.Lease = max(time.Minute, 2*cfg.Client.Timeout)
	}
	if cfg.Replica == "" {
		cfg.Replica = replicaName()
	}
	return &Webhook{cfg: cfg, books: books, wake: make(chan struct{}, 1)}, nil
}

// Handle notes the plan of an alert event and wakes Run when there may be
// news to deliver. It is a projections.Handler.
func (w *Webhook) Handle(_ context.Context, rec eventstore.RecordedEvent, event any) error {
	p, ok := alert.PlanOf(rec.Stream)
	if !ok {
		return nil
	}
	w.mu.Lock()
	if !slices.Contains(w.plans, p) {
		w.plans = append(w.plans, p)
	}
	w.mu.Unlock()
	switch event.(type) {
	case alert.Raised, alert.Resolved, alert.DeadLetterCleared:
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Run delivers news as it comes and retries failed deliveries when they
// are due, until ctx ends. A failure to read or record is logged and
// retried after Backoff.
func (w *Webhook) Run(ctx context.Context) error {
	for {
		next, err := w.DeliverDue(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var timer <-chan time.Time
		switch {
		case err != nil:
			w.cfg.Logger.Warn("alert webhook", "err", err)
			timer = w.cfg.Clock.After(w.cfg.Backoff)
		case !next.IsZero():
			timer = w.cfg.Clock.After(max(next.Sub(w.cfg.Clock.Now()), 0))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.wake:
		case <-timer:
		}
	}
}

// DeliverDue makes every delivery that is due now, and returns when the
// next one is due (zero: none waits).
func (w *Webhook) DeliverDue(ctx context.Context) (next time.Time, err error) {
	w.mu.Lock()
	plans := slices.Clone(w.plans)
	w.mu.Unlock()
	for _, p := range plans {
		book, _, err := w.books.Load(ctx, alert.Stream(p))
		if err != nil {
			return time.Time{}, err
		}
		for _, d := range book.Pending() {
			now := w.cfg.Clock.Now()
			due := d.Next
			if d.Claimed(w.cfg.Replica, now) {
				due = d.ClaimedUntil // another replica sends it; look again if its claim lapses
			}
			if due.After(now) {
				if next.IsZero() || due.Before(next) {
					next = due
				}
				continue
			}
			retry, err := w.attempt(ctx, p, d)
			if err != nil {
				return time.Time{}, err
			}
			if !retry.IsZero() && (next.IsZero() || retry.Before(next)) {
				next = retry
			}
		}
	}
	return next, nil
}

// Payload is the JSON body of a delivery.
type Payload struct {
	Plan      string              `json:"plan"`
	Alert     string              `json:"alert"`
	Change    alert.Change        `json:"change"`
	Rule      string              `json:"rule"`
	Kind      alert.Kind          `json:"kind"`
	Severity  alert.Severity      `json:"severity"`
	Node      string              `json:"node"`
	Metric    string              `json:"metric"`
	Year      int                 `json:"year"`
	Threshold float64             `json:"threshold"`
	Before    *float64            `json:"before"`
	After     float64             `json:"after"`
	Position  eventstore.Position `json:"position"`
	RaisedAt  time.Time           `json:"raised_at"`
	// Resolution, set for the change "resolved": the figure that cleared
	// it (absent when the rule was removed), where and why.
	Resolution *alert.Resolved `json:"resolution,omitempty"`
}

// payload returns the body of the delivery of d.
func payload(planID string, d alert.Pending) ([]byte, error) {
	a := d.Alert
	p := Payload{Plan: planID, Alert: a.ID, Change: d.Change, Rule: a.Rule, Kind: a.Kind, Severity: a.Severity, Node: a.Node.String(),
		Metric: a.Metric, Year: a.Year, Threshold: a.Threshold, Before: a.Before, After: a.After, Position: a.Position, RaisedAt: a.At}
	if d.Change == alert.ChangeResolved {
		p.Resolution = a.Resolved
	}
	return json.Marshal(p)
}

// Sign returns the Concord-Signature value of body sent at t under secret.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// attempt makes the next attempt of delivery d of plan planID and records
// its outcome; it returns when to try again (zero: delivered or dead).
func (w *Webhook) attempt(ctx context.Context, planID string, d alert.Pending) (time.Time, error) {
	body, err := payload(planID, d)
	if err != nil {
		return time.Time{}, fmt.Errorf("alerts: encode alert %s of plan %s: %w", d.Alert.ID, planID, err)
	}
	n := d.Attempts + 1
	claimed := w.cfg.Clock.Now().UTC()
	until := claimed.Add(w.cfg.Lease)
	cmd := eventstore.Command{Metadata: eventstore.Metadata{Actor: Actor}}
	_, err = w.books.Update(ctx, alert.Stream(planID), eventstore.Any, cmd, func(b *alert.Book) error {
		return b.Claim(d.Alert.ID, d.Change, n, w.cfg.Replica, until, claimed)
	})
	switch {
	case errors.Is(err, alert.ErrClaimed):
		// Another replica won the claim: it sends; look again if its claim lapses.
		return until, nil
	case errors.Is(err, alert.ErrNoDelivery):
		// Recorded meanwhile (another replica, or an acknowledgement).
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("alerts: claim delivery of alert %s of plan %s: %w", d.Alert.ID, planID, err)
	}
	sendErr := w.send(ctx, planID, d, body)
	if ctx.Err() != nil {
		return time.Time{}, ctx.Err()
	}
	now := w.cfg.Clock.Now().UTC()
	var retry time.Time
	_, err = w.books.Update(ctx, alert.Stream(planID), eventstore.Any, cmd, func(b *alert.Book) error {
		if sendErr == nil {
			return b.Deliver(d.Alert.ID, d.Change, n, now)
		}
		dead := n >= w.cfg.MaxAttempts
		if !dead {
			retry = now.Add(w.backoff(n))
		}
		return b.Fail(d.Alert.ID, d.Change, n, sendErr.Error(), dead, retry, now)
	})
	if errors.Is(err, alert.ErrNoDelivery) {
		// Recorded meanwhile (another replica, or an acknowledgement).
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("alerts: record delivery of alert %s of plan %s: %w", d.Alert.ID, planID, err)
	}
	if sendErr != nil {
		w.cfg.Logger.Info("alert delivery failed", "plan", planID, "alert", d.Alert.ID, "change", d.Change, "attempt", n, "err", sendErr)
	}
	return retry, nil
}

// replicaName names this process among the replicas: host, process id and
// a random suffix (a restarted process is another replica).
func replicaName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "concord"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// backoff returns the wait after the n-th failed attempt.
func (w *Webhook) backoff(n int) time.Duration {
	d := w.cfg.Backoff
	for i := 1; i < n && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.cfg.MaxBackoff)
}

// send posts body; any status but 2xx is a failure.
func (w *Webhook) send(ctx context.Context, planID string, d alert.Pending, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "concord-alerts/1")
	req.Header.Set(HeaderAlertID, planID+"/"+d.Alert.ID)
	req.Header.Set(HeaderDeliveryID, planID+"/"+d.Alert.ID+"/"+string(d.Change))
	req.Header.Set(HeaderSignature, Sign(w.cfg.Secret, body, w.cfg.Clock.Now()))
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}

// ErrSignature is returned by Verify for a signature that does not match,
// is malformed, or is older or newer than its tolerance.
var ErrSignature = errors.New("alerts: bad webhook signature")

// Verify checks the Concord-Signature header value of body against
// secret: the HMAC must match and its timestamp lie within tolerance of
// now. It is what a receiver does; see the README for the recipe.
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("%w: %q is not t=<unix seconds>,v1=<hex>", ErrSignature, header)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %d, %v from now (tolerance %v)", ErrSignature, sec, d, tolerance)
	}
	want := Sign(secret, body, time.Unix(sec, 0))
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return fmt.Errorf("%w: the HMAC does not match", ErrSignature)
	}
	return nil
}
