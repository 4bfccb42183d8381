package commit

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/text"
)

// MaxTextLen is the longest comment, reason or actor, in bytes.
const MaxTextLen = 2000

// Sentinel errors of the Book commands, returned wrapped and joined when a
// command finds several problems. Check them with errors.Is.
var (
	// ErrInvalid is returned for a bad commit id, plan id, metric id, span
	// or confidence, and for text longer than MaxTextLen.
	ErrInvalid = errors.New("commit: invalid argument")
	// ErrWrongPlan is returned when submitting a commit of another plan
	// than the book's.
	ErrWrongPlan = errors.New("commit: commit of another plan")
	// ErrDuplicate is returned when a commit id is reused.
	ErrDuplicate = errors.New("commit: commit id already used")
	// ErrCommentRequired is returned by Submit without a comment: a commit
	// says what it rests on.
	ErrCommentRequired = errors.New("commit: a comment is required")
	// ErrReasonRequired is returned by Withdraw without a reason.
	ErrReasonRequired = errors.New("commit: a reason is required")
	// ErrActorRequired is returned when a command comes without its actor.
	ErrActorRequired = errors.New("commit: the acting principal is required")
	// ErrUnknown is returned by Withdraw for a commit never submitted.
	ErrUnknown = errors.New("commit: unknown commit")
	// ErrNotCurrent is returned by Withdraw for a commit already withdrawn
	// or superseded by a later submission.
	ErrNotCurrent = errors.New("commit: commit is not current")
)

// Stream returns the name of the event stream of plan planID's commits.
func Stream(planID string) string { return "commits-" + planID }

// Entry is a read-only view of a commit.
type Entry struct {
	Submitted
	Current      bool   // it is the latest of its slot and not withdrawn
	WithdrawnBy  string // who withdrew it, if anyone
	SupersededBy string // the id of the later commit of the same slot, if any
}

// slot is what a later submission supersedes.
type slot struct {
	node       dimension.Node
	metric     string
	span       fiscal.Span
	confidence Confidence
}

func slotOf(s Submitted) slot { return slot{s.Node, s.Metric, s.Span, s.Confidence} }

// Book is the aggregate of one plan's commits. Its zero value is not
// usable; use New.
type Book struct {
	plan    string
	commits map[string]*Entry
	order   []string
	current map[slot]string
	changes []Event
}

var _ eventstore.Aggregate[Event] = (*Book)(nil)

// New returns an empty book, to replay events into or to submit to.
func New() *Book {
	return &Book{commits: map[string]*Entry{}, current: map[slot]string{}}
}

// Apply changes the book's state by one event. It never validates and
// never fails: events are facts.
func (b *Book) Apply(e Event) {
	switch e := e.(type) {
	case Submitted:
		b.plan = e.Plan
		if prev := b.commits[b.current[slotOf(e)]]; prev != nil {
			prev.Current, prev.SupersededBy = false, e.ID
		}
		b.commits[e.ID] = &Entry{Submitted: e, Current: true}
		b.order = append(b.order, e.ID)
		b.current[slotOf(e)] = e.ID
	case Withdrawn:
		c := b.commits[e.ID]
		if c == nil {
			return
		}
		c.Current, c.WithdrawnBy = false, e.By
		if b.current[slotOf(c.Submitted)] == e.ID {
			delete(b.current, slotOf(c.Submitted))
		}
	}
}

// Clone returns a deep copy of b: applying events to either, or running
// commands on either, leaves the other unchanged. It equals a book
// replayed from the events b was replayed from (and holds a copy of the
// changes b recorded).
func (b *Book) Clone() *Book {
	c := *b
	c.commits = make(map[string]*Entry, len(b.commits))
	for id, e := range b.commits {
		ec := *e // a later submission or a withdrawal changes an entry in place
		c.commits[id] = &ec
	}
	c.order = slices.Clone(b.order)
	c.current = maps.Clone(b.current)
	c.changes = slices.Clone(b.changes)
	return &c
}

// Changes returns the events recorded by commands since the book was
// created or loaded.
func (b *Book) Changes() []Event { return b.changes }

func (b *Book) record(e Event) {
	b.Apply(e)
	b.changes = append(b.changes, e)
}

// Submit records commit s, its comment trimmed; it supersedes the current
// commit of the same node, metric, span and confidence, if any. It returns
// every problem at once: ErrInvalid (commit, plan or metric id, a span
// that is not a valid month, quarter or year, an unknown confidence),
// ErrDuplicate, ErrWrongPlan, ErrCommentRequired, ErrActorRequired. The amount is not checked: metric rules belong to the
// plan.
func (b *Book) Submit(s Submitted) error {
	errs := []error{dimension.CheckID("commit id", s.ID, ErrInvalid), dimension.CheckID("plan id", s.Plan, ErrInvalid), dimension.CheckID("metric", s.Metric, ErrInvalid)}
	if c := b.commits[s.ID]; c != nil {
		errs = append(errs, fmt.Errorf("%w: %q was submitted by %s", ErrDuplicate, s.ID, c.By))
	}
	if b.plan != "" && s.Plan != b.plan {
		errs = append(errs, fmt.Errorf("%w: this book holds the commits of plan %q, not %q", ErrWrongPlan, b.plan, s.Plan))
	}
	if !s.Span.Valid() || s.Span.Kind == fiscal.KindRange {
		errs = append(errs, fmt.Errorf("%w: span %v..%v (%v) is not a month, quarter or fiscal year", ErrInvalid, s.Span.First, s.Span.Last, s.Span.Kind))
	}
	if !s.Confidence.Valid() {
		errs = append(errs, fmt.Errorf("%w: confidence %q (want %q or %q)", ErrInvalid, s.Confidence, ConfidenceCommit, ConfidenceBestCase))
	}
	s.Comment = strings.TrimSpace(s.Comment)
	errs = append(errs, text.Check("comment", s.Comment, MaxTextLen, ErrCommentRequired, ErrInvalid), text.Check("actor", s.By, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b.record(s)
	return nil
}

// Withdraw records that current commit id no longer stands, by actor by
// for reason. It returns ErrUnknown, ErrNotCurrent (withdrawn or
// superseded), ErrReasonRequired or ErrActorRequired.
func (b *Book) Withdraw(id, by, reason string) error {
	c := b.commits[id]
	switch {
	case c == nil:
		return fmt.Errorf("%w: %q", ErrUnknown, id)
	case c.WithdrawnBy != "":
		return fmt.Errorf("%w: %q was withdrawn by %s", ErrNotCurrent, id, c.WithdrawnBy)
	case c.SupersededBy != "":
		return fmt.Errorf("%w: %q was superseded by %q", ErrNotCurrent, id, c.SupersededBy)
	}
	if err := errors.Join(text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid)); err != nil {
		return err
	}
	b.record(Withdrawn{ID: id, By: by, Reason: strings.TrimSpace(reason)})
	return nil
}

// Plan returns the id of the book's plan ("" before the first commit).
func (b *Book) Plan() string { return b.plan }

// Entry returns commit id and whether it was submitted.
func (b *Book) Entry(id string) (Entry, bool) {
	c := b.commits[id]
	if c == nil {
		return Entry{}, false
	}
	return *c, true
}

// Current returns the current commit of node, metric, span and confidence:
// the latest submitted, unless it was withdrawn.
func (b *Book) Current(node dimension.Node, metric string, span fiscal.Span, confidence Confidence) (Entry, bool) {
	return b.Entry(b.current[slot{node, metric, span, confidence}])
}

// Entries returns every commit in the order submitted.
func (b *Book) Entries() []Entry {
	out := make([]Entry, len(b.order))
	for i, id := range b.order {
		out[i] = *b.commits[id]
	}
	return out
}
