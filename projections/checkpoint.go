package projections

import (
	"context"
	"sync"

	"github.com/concord-planning/concord/domain/eventstore"
)

// Checkpoints keeps, for each named consumer, the global position of the
// last event it has fully handled. The Feed loads it when a consumer
// subscribes and saves it when the consumer acknowledges a message; the
// Router's consumer wrapper loads it to skip events handled before.
//
// Implementations are safe for concurrent use. LoadCheckpoint of a consumer
// never saved returns eventstore.Start and no error. SaveCheckpoint stores
// pos as given (callers only ever move a checkpoint forward). The SQLite
// store adapter implements it durably; MemoryCheckpoints here does not
// survive the process.
type Checkpoints interface {
	LoadCheckpoint(ctx context.Context, consumer string) (eventstore.Position, error)
	SaveCheckpoint(ctx context.Context, consumer string, pos eventstore.Position) error
}

// MemoryCheckpoints is a Checkpoints held in memory, safe for concurrent use.
// Read models that are rebuilt at every start use it; so do tests.
type MemoryCheckpoints struct {
	mu  sync.Mutex
	pos map[string]eventstore.Position
}

var _ Checkpoints = (*MemoryCheckpoints)(nil)

// NewMemoryCheckpoints returns an empty MemoryCheckpoints.
func NewMemoryCheckpoints() *MemoryCheckpoints {
	return &MemoryCheckpoints{pos: map[string]eventstore.Position{}}
}

// LoadCheckpoint implements Checkpoints.
func (m *MemoryCheckpoints) LoadCheckpoint(ctx context.Context, consumer string) (eventstore.Position, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pos[consumer], nil
}

// SaveCheckpoint implements Checkpoints.
func (m *MemoryCheckpoints) SaveCheckpoint(ctx context.Context, consumer string, pos eventstore.Position) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pos[consumer] = pos
	return nil
}
