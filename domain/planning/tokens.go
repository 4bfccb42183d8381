package planning

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
)

// TokenPrefix starts every API token secret, so that a leaked one is
// recognisable (secret scanners) and never mistaken for a JWT.
const TokenPrefix = "cnc_"

// IssueToken is the input of Service.IssueToken.
type IssueToken struct {
	Name   string
	Role   access.Role
	Scopes []string // node texts, for a sales token: "region=emea"
}

// IssuedToken is a new token: its secret is returned here once and never
// stored (only its SHA-256 hash is).
type IssuedToken struct {
	Token  access.Token
	Secret string
	Result Result
}

// IssueToken issues a new API token (admin): a random 256-bit secret,
// recorded by its hash in the access stream with a random id. Scopes must
// be nodes of defined dimensions. Call.IdempotencyKey is ignored: token
// names are unique, so a retried issue is refused (access.ErrDuplicate)
// rather than answered with a secret that was never stored. It returns a *ValidationError for a bad
// scope, and the aggregate's refusals (access.ErrInvalid, ErrDuplicate).
func (s *Service) IssueToken(ctx context.Context, c Call, in IssueToken) (IssuedToken, error) {
	if err := authorize(c.By, "issue tokens"); err != nil {
		return IssuedToken{}, err
	}
	scopes, err := s.ResolveScopes(ctx, in.Scopes)
	if err != nil {
		return IssuedToken{}, err
	}
	var raw [32 + 8]byte
	if _, err := io.ReadFull(s.random, raw[:]); err != nil {
		return IssuedToken{}, fmt.Errorf("planning: token secret: %w", err)
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:32])
	id := "tok-" + hex.EncodeToString(raw[32:])
	e := access.TokenIssued{ID: id, Name: strings.TrimSpace(in.Name), Role: in.Role, Scopes: scopes, Hash: access.Hash(secret), By: c.By.Actor}
	stream := access.Stream()
	var tok access.Token
	cmd := c.command()
	cmd.IdempotencyKey = "" // a retry draws a new secret: it must not pass for the first append
	res, err := s.tokens.Update(ctx, stream, c.expected(), cmd, func(t *access.Tokens) error {
		if err := t.Issue(e); err != nil {
			return err
		}
		tok, _ = t.Token(id)
		return nil
	})
	if err != nil {
		return IssuedToken{}, err
	}
	return IssuedToken{Token: tok, Secret: secret, Result: result(stream, res)}, nil
}

// ResolveScopes parses texts as nodes and resolves each against the
// dimensions as they stand (dimension.Node.Resolve: a dimension's root
// drops out, so "region=world" is the grand total): the scopes of an API
// token or a JWT, checked the same way. It returns a *ValidationError
// naming each bad scope (row: its place, 1-based; field "scopes").
func (s *Service) ResolveScopes(ctx context.Context, texts []string) ([]dimension.Node, error) {
	var ps problems
	scopes := make([]dimension.Node, 0, len(texts))
	for i, text := range texts {
		n, err := dimension.ParseNode(text)
		if err != nil {
			ps.addErr(i+1, "scopes", text, err)
			continue
		}
		var dims []*dimension.Dimension
		for _, co := range n.Coords() {
			d, _, err := s.dimension(ctx, co.Dimension)
			if err != nil {
				ps.addErr(i+1, "scopes", text, err)
				continue
			}
			dims = append(dims, d)
		}
		if len(dims) != len(n.Coords()) {
			continue
		}
		r, err := n.Resolve(dims...)
		if err != nil {
			ps.addErr(i+1, "scopes", text, err)
			continue
		}
		scopes = append(scopes, r)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return scopes, nil
}

// RevokeToken revokes token id (admin).
func (s *Service) RevokeToken(ctx context.Context, c Call, id, reason string) (Result, error) {
	if err := authorize(c.By, "revoke tokens"); err != nil {
		return Result{}, err
	}
	stream := access.Stream()
	res, err := s.tokens.Update(ctx, stream, c.expected(), c.command(), func(t *access.Tokens) error {
		return t.Revoke(id, c.By.Actor, reason)
	})
	if err != nil {
		return Result{}, err
	}
	return result(stream, res), nil
}

// Tokens returns every token (admin), revoked ones included, with the
// access stream's version.
func (s *Service) Tokens(ctx context.Context, by Principal) ([]access.Token, uint64, error) {
	if err := authorize(by, "list tokens"); err != nil {
		return nil, 0, err
	}
	t, v, err := s.tokens.Load(ctx, access.Stream())
	if err != nil {
		return nil, 0, err
	}
	return t.List(), v, nil
}
