package access

import (
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
)

// Event is one of the events of Tokens: TokenIssued or TokenRevoked. The
// interface is sealed.
type Event interface {
	accessEvent()
}

// Stable type names of the events, as stored. Never change them.
const (
	TypeTokenIssued  = "access.TokenIssued"
	TypeTokenRevoked = "access.TokenRevoked"
)

// TokenIssued records a new API token. Hash is the SHA-256 of the secret;
// Scopes, only for RoleSales, are the nodes the token may act on.
type TokenIssued struct {
	ID     string           `json:"id"`
	Name   string           `json:"name"`
	Role   Role             `json:"role"`
	Scopes []dimension.Node `json:"scopes,omitempty"`
	Hash   []byte           `json:"hash"`
	By     string           `json:"by"`
}

// TokenRevoked records that a token no longer authenticates anyone.
type TokenRevoked struct {
	ID     string `json:"id"`
	By     string `json:"by"`
	Reason string `json:"reason"`
}

func (TokenIssued) accessEvent()  {}
func (TokenRevoked) accessEvent() {}

// RegisterEvents registers every Tokens event with its stable name.
func RegisterEvents(r *eventstore.Registry) {
	eventstore.Register[TokenIssued](r, TypeTokenIssued)
	eventstore.Register[TokenRevoked](r, TypeTokenRevoked)
}
