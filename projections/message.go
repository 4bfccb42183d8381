package projections

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/concord-planning/concord/domain/eventstore"
)

// Metadata keys of a message that carries a stored event. The correlation
// key is Watermill's own (middleware.CorrelationIDMetadataKey), so its
// CorrelationID middleware carries it on to messages a handler produces.
const (
	MetaType          = "type"
	MetaSchemaVersion = "schema_version"
	MetaStream        = "stream"
	MetaVersion       = "version"
	MetaPosition      = "position"
	MetaRecordedAt    = "recorded_at"
	MetaActor         = "actor"
	MetaCorrelationID = "correlation_id"
	MetaCausationID   = "causation_id"
)

// ErrNotAnEvent matches every error of Unmarshal: the message does not carry
// a stored event in the form Marshal writes.
var ErrNotAnEvent = errors.New("projections: message does not carry a stored event")

// Marshal turns a stored event into a Watermill message: UUID = event ID,
// payload = the event's data, and the metadata keys above (recorded_at in
// RFC 3339 with nanoseconds, position as Position.String). The stored hash is
// not carried.
func Marshal(rec eventstore.RecordedEvent) *message.Message {
	msg := message.NewMessage(rec.ID.String(), rec.Data)
	md := msg.Metadata
	md.Set(MetaType, rec.Type)
	md.Set(MetaSchemaVersion, strconv.Itoa(rec.SchemaVersion))
	md.Set(MetaStream, rec.Stream)
	md.Set(MetaVersion, strconv.FormatUint(rec.Version, 10))
	md.Set(MetaPosition, rec.Position.String())
	md.Set(MetaRecordedAt, rec.RecordedAt.UTC().Format(time.RFC3339Nano))
	if rec.Metadata.Actor != "" {
		md.Set(MetaActor, rec.Metadata.Actor)
	}
	if rec.Metadata.CorrelationID != "" {
		md.Set(MetaCorrelationID, rec.Metadata.CorrelationID)
	}
	if rec.Metadata.CausationID != "" {
		md.Set(MetaCausationID, rec.Metadata.CausationID)
	}
	return msg
}

// Unmarshal reads back the event Marshal put in msg. It returns an error
// matching ErrNotAnEvent, naming the offending field and value, when a
// required field is missing or malformed. Hash is left empty.
func Unmarshal(msg *message.Message) (eventstore.RecordedEvent, error) {
	var rec eventstore.RecordedEvent
	bad := func(field, value, want string) error {
		return fmt.Errorf("%w: message %s: %s %q: %s", ErrNotAnEvent, msg.UUID, field, value, want)
	}
	id, err := uuid.Parse(msg.UUID)
	if err != nil {
		return rec, bad("uuid", msg.UUID, "want a UUID")
	}
	md := msg.Metadata
	rec.ID = id
	if rec.Type = md.Get(MetaType); rec.Type == "" {
		return rec, bad(MetaType, "", "want an event type name")
	}
	if rec.Stream = md.Get(MetaStream); rec.Stream == "" {
		return rec, bad(MetaStream, "", "want a stream name")
	}
	s := md.Get(MetaSchemaVersion)
	if rec.SchemaVersion, err = strconv.Atoi(s); err != nil || rec.SchemaVersion < 1 {
		return rec, bad(MetaSchemaVersion, s, "want a number from 1")
	}
	s = md.Get(MetaVersion)
	if rec.Version, err = strconv.ParseUint(s, 10, 64); err != nil {
		return rec, bad(MetaVersion, s, "want a stream version")
	}
	s = md.Get(MetaPosition)
	if rec.Position, err = eventstore.ParsePosition(s); err != nil {
		return rec, bad(MetaPosition, s, "want a number or commit/prepare")
	}
	s = md.Get(MetaRecordedAt)
	if rec.RecordedAt, err = time.Parse(time.RFC3339Nano, s); err != nil {
		return rec, bad(MetaRecordedAt, s, "want an RFC 3339 time")
	}
	rec.Metadata = eventstore.Metadata{
		Actor:         md.Get(MetaActor),
		CorrelationID: md.Get(MetaCorrelationID),
		CausationID:   md.Get(MetaCausationID),
	}
	rec.Data = msg.Payload
	return rec, nil
}
