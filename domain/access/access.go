package access

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/text"
)

// Role is what a principal may do; see the package comment.
type Role string

// The roles.
const (
	RoleViewer  Role = "viewer"
	RoleSales   Role = "sales"
	RolePlanner Role = "planner"
	RoleAdmin   Role = "admin"
)

// Roles lists every role, least privileged first.
var Roles = []Role{RoleViewer, RoleSales, RolePlanner, RoleAdmin}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// HashSize is the length of a token hash.
const HashSize = sha256.Size

// Hash returns the SHA-256 hash of a token secret, as recorded.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// MaxTextLen is the longest name, reason or actor, in bytes.
const MaxTextLen = 200

// MaxScopes is the most scopes one token carries.
const MaxScopes = 64

// Sentinel errors of the Tokens commands, returned wrapped and joined when
// a command finds several problems. Check them with errors.Is.
var (
	// ErrInvalid is returned for a bad id, name, role, scope or hash.
	ErrInvalid = errors.New("access: invalid argument")
	// ErrDuplicate is returned when a token id, name or hash is used.
	ErrDuplicate = errors.New("access: token already exists")
	// ErrUnknown is returned by Revoke for a token never issued.
	ErrUnknown = errors.New("access: unknown token")
	// ErrRevoked is returned by Revoke for a token already revoked.
	ErrRevoked = errors.New("access: token already revoked")
	// ErrActorRequired is returned when a command comes without its actor.
	ErrActorRequired = errors.New("access: the acting principal is required")
	// ErrReasonRequired is returned by Revoke without a reason.
	ErrReasonRequired = errors.New("access: a reason is required")
)

// Stream returns the name of the one stream holding every token.
func Stream() string { return "access-tokens" }

// Token is a read-only view of an issued token.
type Token struct {
	ID        string
	Name      string
	Role      Role
	Scopes    []dimension.Node
	IssuedBy  string
	Revoked   bool
	RevokedBy string
}

// Tokens is the aggregate of every API token. Its zero value is not
// usable; use New.
type Tokens struct {
	byID    map[string]*Token
	byHash  map[string]string // hex hash → id
	names   map[string]string // name → id
	order   []string
	version uint64
	changes []Event
}

var _ eventstore.Aggregate[Event] = (*Tokens)(nil)

// New returns an empty set of tokens, to replay events into or to issue.
func New() *Tokens {
	return &Tokens{byID: map[string]*Token{}, byHash: map[string]string{}, names: map[string]string{}}
}

// Apply changes the state by one event. It never validates and never
// fails: events are facts.
func (t *Tokens) Apply(e Event) {
	t.version++
	switch e := e.(type) {
	case TokenIssued:
		t.byID[e.ID] = &Token{ID: e.ID, Name: e.Name, Role: e.Role, Scopes: slices.Clone(e.Scopes), IssuedBy: e.By}
		t.byHash[hex.EncodeToString(e.Hash)] = e.ID
		t.names[e.Name] = e.ID
		t.order = append(t.order, e.ID)
	case TokenRevoked:
		if tok := t.byID[e.ID]; tok != nil {
			tok.Revoked, tok.RevokedBy = true, e.By
		}
	}
}

// Changes returns the events recorded by commands since loading.
func (t *Tokens) Changes() []Event { return t.changes }

func (t *Tokens) record(e Event) {
	t.Apply(e)
	t.changes = append(t.changes, e)
}

// Version returns the number of events applied.
func (t *Tokens) Version() uint64 { return t.version }

// CheckName checks the name of a principal (a token's name, a JWT's
// subject) as Issue checks a token's name: not blank, at most MaxTextLen
// bytes, text (text.Problem). It returns ErrInvalid.
func CheckName(name string) error {
	return text.Check("name", name, MaxTextLen, ErrInvalid, ErrInvalid)
}

// CheckScopes checks the scopes of a principal of role, resolved against
// the dimensions (dimension.Node.Resolve), as Issue checks a token's: only
// sales carries scopes, at least one and at most MaxScopes, none naming
// the grand total (a dimension's root resolves to it: it would reach
// every node), none twice. It returns ErrInvalid, joined.
func CheckScopes(role Role, scopes []dimension.Node) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	switch {
	case role == RoleSales && len(scopes) == 0:
		bad("a sales token needs at least one scope (a node such as region=emea)")
	case role != RoleSales && len(scopes) > 0:
		bad("only sales tokens carry scopes; a %s token reaches every node", role)
	case len(scopes) > MaxScopes:
		bad("%d scopes, at most %d", len(scopes), MaxScopes)
	}
	seen := map[dimension.Node]bool{}
	for _, s := range scopes {
		switch {
		case s.IsTotal():
			bad("a scope must name at least one member; the grand total is every node")
		case seen[s]:
			bad("scope %q appears twice", s)
		}
		seen[s] = true
	}
	return errors.Join(errs...)
}

// Issue records token e, its name trimmed. It returns every problem at
// once: ErrInvalid (an id that is not dimension.ValidID, a blank or long
// name, an unknown role, a hash that is not HashSize bytes, scopes on a
// role other than sales, a sales token without scopes or with more than
// MaxScopes, or naming the grand total, or one scope twice), ErrDuplicate
// (id, name or hash already used, revoked tokens included) and
// ErrActorRequired.
func (t *Tokens) Issue(e TokenIssued) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if !dimension.ValidID(e.ID) {
		bad("token id %q must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", e.ID, dimension.MaxIDLen)
	} else if t.byID[e.ID] != nil {
		errs = append(errs, fmt.Errorf("%w: id %q", ErrDuplicate, e.ID))
	}
	e.Name = strings.TrimSpace(e.Name)
	if err := text.Check("name", e.Name, MaxTextLen, ErrInvalid, ErrInvalid); err != nil {
		errs = append(errs, err)
	} else if id, ok := t.names[e.Name]; ok {
		errs = append(errs, fmt.Errorf("%w: name %q is used by token %s", ErrDuplicate, e.Name, id))
	}
	if !e.Role.Valid() {
		bad("role %q (want viewer, sales, planner or admin)", e.Role)
	}
	if len(e.Hash) != HashSize {
		bad("hash has %d bytes, want %d (SHA-256)", len(e.Hash), HashSize)
	} else if _, ok := t.byHash[hex.EncodeToString(e.Hash)]; ok {
		errs = append(errs, fmt.Errorf("%w: the secret's hash is already used", ErrDuplicate))
	}
	if e.Role.Valid() {
		errs = append(errs, CheckScopes(e.Role, e.Scopes))
	}
	errs = append(errs, text.Check("actor", e.By, MaxTextLen, ErrActorRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	e.Scopes = slices.Clone(e.Scopes)
	e.Hash = slices.Clone(e.Hash)
	t.record(e)
	return nil
}

// Revoke records that token id no longer authenticates, by actor by for
// reason. It returns ErrUnknown, ErrRevoked, ErrReasonRequired or
// ErrActorRequired.
func (t *Tokens) Revoke(id, by, reason string) error {
	tok := t.byID[id]
	switch {
	case tok == nil:
		return fmt.Errorf("%w: %q", ErrUnknown, id)
	case tok.Revoked:
		return fmt.Errorf("%w: %q was revoked by %s", ErrRevoked, id, tok.RevokedBy)
	}
	if err := errors.Join(text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid), text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid)); err != nil {
		return err
	}
	t.record(TokenRevoked{ID: id, By: by, Reason: strings.TrimSpace(reason)})
	return nil
}

// Token returns token id, revoked or not, and whether it was issued.
func (t *Tokens) Token(id string) (Token, bool) {
	tok := t.byID[id]
	if tok == nil {
		return Token{}, false
	}
	v := *tok
	v.Scopes = slices.Clone(v.Scopes)
	return v, true
}

// Lookup returns the token whose secret hashes to hash, and whether one
// exists that is not revoked.
func (t *Tokens) Lookup(hash []byte) (Token, bool) {
	id, ok := t.byHash[hex.EncodeToString(hash)]
	if !ok {
		return Token{}, false
	}
	tok, _ := t.Token(id)
	return tok, !tok.Revoked
}

// List returns every token, revoked ones included, in the order issued.
func (t *Tokens) List() []Token {
	out := make([]Token, 0, len(t.order))
	for _, id := range t.order {
		tok, _ := t.Token(id)
		out = append(out, tok)
	}
	return out
}
