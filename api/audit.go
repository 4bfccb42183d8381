package api

import (
	"context"
	"net/http"
	"time"

	"github.com/concord-planning/concord/domain/eventstore/audit"
	"github.com/labstack/echo/v4"
)

// Auditor reports the integrity of the event log (*audit.Auditor).
type Auditor interface {
	Status(ctx context.Context) (audit.Status, error)
}

// AuditVerification is GET /api/v1/audit/verify: whether the log verified
// (every hash chain, the store's record of its streams, the newest signed
// checkpoint), when, and against which checkpoint.
type AuditVerification struct {
	// Status is "intact" when no break was found, "broken" otherwise.
	Status    string `json:"status"`
	CheckedAt string `json:"checked_at"`
	Events    uint64 `json:"events"`
	Streams   int    `json:"streams"`
	Head      string `json:"head"`   // position of the last event
	Digest    string `json:"digest"` // of the whole log (eventstore.Digest)
	// HashRule is the newest hash rule of the log (2 covers recorded
	// times), in use from position HashRuleSince on.
	HashRule      int    `json:"hash_rule"`
	HashRuleSince string `json:"hash_rule_since"`
	// StoreRecord is true when the stream heads were compared with the
	// store's own record (the embedded store keeps one).
	StoreRecord bool `json:"store_record"`
	// Breaks lists the breaks found, at most maxBreaks of them; BreakCount
	// counts them all.
	Breaks     []string `json:"breaks"`
	BreakCount int      `json:"break_count"`
	// Checkpoint is the newest signed checkpoint the log was verified
	// against; null when the server keeps none. CheckpointError says why a
	// checkpoint could not be used.
	Checkpoint      *AuditCheckpoint `json:"checkpoint"`
	CheckpointError string           `json:"checkpoint_error,omitempty"`
}

// AuditCheckpoint is a signed checkpoint as GET /api/v1/audit/verify
// reports it.
type AuditCheckpoint struct {
	Position string `json:"position"`
	Events   uint64 `json:"events"`
	Digest   string `json:"digest"`
	SignedAt string `json:"signed_at"`
	KeyID    string `json:"key_id"`
	// Anchored is true when the log up to the checkpoint is the one signed;
	// EventsAfter counts the events after it, which only their hash chains
	// vouch for.
	Anchored    bool   `json:"anchored"`
	EventsAfter uint64 `json:"events_after"`
}

// maxBreaks bounds the breaks one answer lists.
const maxBreaks = 100

func (s *Server) auditVerify(c echo.Context) error {
	st, err := s.audit.Status(c.Request().Context())
	if err != nil {
		return err
	}
	out := AuditVerification{Status: "intact", CheckedAt: st.CheckedAt.UTC().Format(time.RFC3339), Events: st.Report.Events,
		Streams: st.Report.Streams, Head: st.Report.Digest.Position().String(), Digest: st.Report.Digest.String(),
		HashRule: int(st.Report.Rule), HashRuleSince: st.Report.RuleSince.String(),
		StoreRecord: st.Report.Ledger, Breaks: []string{}, BreakCount: len(st.Breaks)}
	if len(st.Breaks) > 0 {
		out.Status = "broken"
	}
	for _, b := range st.Breaks[:min(len(st.Breaks), maxBreaks)] {
		out.Breaks = append(out.Breaks, b.Error())
	}
	if st.CheckpointErr != nil {
		out.CheckpointError = st.CheckpointErr.Error()
	}
	if cp := st.Checkpoint; cp != nil {
		out.Checkpoint = &AuditCheckpoint{Position: cp.Position.String(), Events: cp.Events, Digest: cp.Digest,
			SignedAt: cp.SignedAt.UTC().Format(time.RFC3339), KeyID: cp.KeyID, Anchored: st.Report.Anchored, EventsAfter: st.Report.Beyond}
	}
	return c.JSON(http.StatusOK, out)
}
