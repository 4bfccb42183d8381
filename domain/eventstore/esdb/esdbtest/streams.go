package esdbtest

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// featuresService answers the client's feature probe. Service and method
// names are lower case, as the real server sends them and the client
// compares them.
type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

func (featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: Version,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: "event_store.client.streams.streams", MethodName: "append"},
			{ServiceName: "event_store.client.streams.streams", MethodName: "read"},
			{ServiceName: "event_store.client.server_features.serverfeatures", MethodName: "getsupportedmethods"},
		},
	}, nil
}

// streamsService implements Streams.Append and Streams.Read; the other
// methods answer Unimplemented.
type streamsService struct {
	api.UnimplementedStreamsServer
	log *eventLog
}

func (s *streamsService) Append(srv api.Streams_AppendServer) error {
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "the first append message must carry the options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	var exp expectation
	switch o := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Revision:
		exp = expectation{kind: expectRevision, revision: o.Revision}
	case *api.AppendReq_Options_NoStream:
		exp = expectation{kind: expectNoStream}
	case *api.AppendReq_Options_StreamExists:
		exp = expectation{kind: expectExists}
	case *api.AppendReq_Options_Any, nil:
		exp = expectation{kind: expectAny}
	}
	var events []proposed
	for {
		msg, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err // the client went away: nothing is written
		}
		p := msg.GetProposedMessage()
		if p == nil {
			return status.Error(codes.InvalidArgument, "append messages after the first must be proposed events")
		}
		id, err := uuidFromProto(p.GetId())
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "event %d: %v", len(events), err)
		}
		events = append(events, proposed{
			id: id, eventType: p.GetMetadata()["type"], contentType: p.GetMetadata()["content-type"],
			custom: p.GetCustomMetadata(), data: p.GetData(),
		})
	}
	if err := srv.Context().Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	out, err := s.log.append(stream, exp, events)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if out.refused {
		return srv.SendAndClose(wrongExpectedVersion(exp, out))
	}
	success := &api.AppendResp_Success{}
	if out.exists {
		success.CurrentRevisionOption = &api.AppendResp_Success_CurrentRevision{CurrentRevision: out.current}
	} else {
		success.CurrentRevisionOption = &api.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
	}
	if out.idempotent || len(events) == 0 {
		success.PositionOption = &api.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	} else {
		success.PositionOption = &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: out.commit, PreparePosition: out.prepare,
		}}
	}
	return srv.SendAndClose(&api.AppendResp{Result: &api.AppendResp_Success_{Success: success}})
}

// wrongExpectedVersion builds the refusal the real server sends, filling
// both the current fields and the ones kept for clients of 20.6.
func wrongExpectedVersion(exp expectation, out appendOutcome) *api.AppendResp {
	w := &api.AppendResp_WrongExpectedVersion{}
	if out.exists {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: out.current}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: out.current}
	} else {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	}
	switch exp.kind {
	case expectRevision:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: exp.revision}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: exp.revision}
	case expectNoStream:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
		// 20.6 had no "no stream" expectation field; it sent revision -1.
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: ^uint64(0)}
	case expectExists:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	default:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	}
	return &api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

func uuidFromProto(u *shared.UUID) (uuid.UUID, error) {
	if st := u.GetStructured(); st != nil {
		var id uuid.UUID
		most, least := uint64(st.GetMostSignificantBits()), uint64(st.GetLeastSignificantBits())
		for i := range 8 {
			id[i] = byte(most >> (56 - 8*i))
			id[8+i] = byte(least >> (56 - 8*i))
		}
		return id, nil
	}
	if str := u.GetString_(); str != "" {
		return uuid.Parse(str)
	}
	return uuid.Nil, errors.New("no event id")
}

func uuidToProto(id uuid.UUID, asString bool) *shared.UUID {
	if asString {
		return &shared.UUID{Value: &shared.UUID_String_{String_: id.String()}}
	}
	var most, least uint64
	for i := range 8 {
		most = most<<8 | uint64(id[i])
		least = least<<8 | uint64(id[8+i])
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits: int64(most), LeastSignificantBits: int64(least),
	}}}
}

// reader holds what every read and subscription needs to send events.
type reader struct {
	srv        api.Streams_ReadServer
	uuidString bool
	filter     *filter
}

func (rd *reader) sendEvent(r *record, withPosition bool) error {
	ev := &api.ReadResp_ReadEvent{Event: &api.ReadResp_ReadEvent_RecordedEvent{
		Id:               uuidToProto(r.id, rd.uuidString),
		StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
		StreamRevision:   r.revision,
		PreparePosition:  r.prepare,
		CommitPosition:   r.commit,
		Metadata: map[string]string{
			"type":         r.eventType,
			"content-type": r.contentType,
			"created":      strconv.FormatInt(r.created, 10),
		},
		CustomMetadata: r.custom,
		Data:           r.data,
	}}
	if withPosition {
		ev.Position = &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.commit}
	} else {
		ev.Position = &api.ReadResp_ReadEvent_NoPosition{NoPosition: &shared.Empty{}}
	}
	return rd.srv.Send(&api.ReadResp{Content: &api.ReadResp_Event{Event: ev}})
}

func (s *streamsService) Read(req *api.ReadReq, srv api.Streams_ReadServer) error {
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "read without options")
	}
	rd := &reader{srv: srv, uuidString: opts.GetUuidOption().GetString_() != nil}
	if f := opts.GetFilter(); f != nil {
		var err error
		if rd.filter, err = newFilter(f); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
	}
	backwards := opts.GetReadDirection() == api.ReadReq_Options_Backwards
	switch {
	case opts.GetSubscription() != nil:
		if backwards {
			return status.Error(codes.InvalidArgument, "subscriptions read forwards")
		}
		all := opts.GetAll()
		if all == nil {
			return status.Error(codes.Unimplemented, "esdbtest implements subscriptions to $all only")
		}
		return s.subscribeAll(rd, all)
	case opts.GetStream() != nil:
		if rd.filter != nil {
			return status.Error(codes.InvalidArgument, "filters apply to $all only")
		}
		return s.readStream(rd, opts.GetStream(), backwards, opts.GetCount())
	case opts.GetAll() != nil:
		return s.readAll(rd, opts.GetAll(), backwards, opts.GetCount())
	}
	return status.Error(codes.InvalidArgument, "read names neither a stream nor $all")
}

func (s *streamsService) readStream(rd *reader, o *api.ReadReq_Options_StreamOptions, backwards bool, count uint64) error {
	name := o.GetStreamIdentifier().GetStreamName()
	recs := s.log.stream(string(name))
	if len(recs) == 0 {
		return rd.srv.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: name},
		}}})
	}
	last := uint64(len(recs)) - 1
	var from uint64
	switch r := o.GetRevisionOption().(type) {
	case *api.ReadReq_Options_StreamOptions_Revision:
		from = r.Revision
	case *api.ReadReq_Options_StreamOptions_End:
		if !backwards {
			return nil // nothing lies after the end
		}
		from = last
	default: // start
		if backwards {
			from = 0
			count = min(count, 1)
		}
	}
	for sent := uint64(0); sent < count; sent++ {
		var rev uint64
		if backwards {
			if from > last {
				from = last
			}
			if sent > from {
				return nil
			}
			rev = from - sent
		} else {
			rev = from + sent
			if rev > last {
				return nil
			}
		}
		if err := rd.sendEvent(recs[rev], false); err != nil {
			return err
		}
	}
	return nil
}

func (s *streamsService) readAll(rd *reader, o *api.ReadReq_Options_AllOptions, backwards bool, count uint64) error {
	all, _ := s.log.snapshot()
	var i int // forwards: first index to send; backwards: one past it
	switch p := o.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Position:
		i = firstAfter(all, p.Position.GetCommitPosition(), p.Position.GetPreparePosition(), true)
	case *api.ReadReq_Options_AllOptions_End:
		i = len(all)
	default: // start
		i = 0
	}
	for sent := uint64(0); sent < count; {
		var r *record
		if backwards {
			if i == 0 {
				return nil
			}
			i--
			r = all[i]
		} else {
			if i >= len(all) {
				return nil
			}
			r = all[i]
			i++
		}
		if !rd.filter.match(r) {
			continue
		}
		if err := rd.sendEvent(r, true); err != nil {
			return err
		}
		sent++
	}
	return nil
}

// subscribeAll confirms the subscription, sends every stored event after the
// start position, the caught-up message, then each new event as it is
// committed, until the client leaves or the server stops.
func (s *streamsService) subscribeAll(rd *reader, o *api.ReadReq_Options_AllOptions) error {
	ctx := rd.srv.Context()
	if err := rd.srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuid.NewString(),
	}}}); err != nil {
		return err
	}
	all, changed := s.log.snapshot()
	var next int
	switch p := o.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Position:
		next = firstAfter(all, p.Position.GetCommitPosition(), p.Position.GetPreparePosition(), false)
	case *api.ReadReq_Options_AllOptions_End:
		next = len(all)
	default:
		next = 0
	}
	caughtUp := false
	searched := 0
	for {
		for ; next < len(all); next++ {
			r := all[next]
			if rd.filter.match(r) {
				if err := rd.sendEvent(r, true); err != nil {
					return err
				}
			}
			searched++
			if rd.filter != nil && searched%rd.filter.checkpointEvery == 0 {
				// Everything up to and including r has been searched.
				if err := rd.srv.Send(&api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
					CommitPosition: r.commit, PreparePosition: r.prepare,
				}}}); err != nil {
					return err
				}
			}
		}
		if !caughtUp {
			caughtUp = true
			if err := rd.srv.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-changed:
			all, changed = s.log.snapshot()
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// filter is a server-side $all filter.
type filter struct {
	onType          bool // event type, else stream name
	regex           *regexp.Regexp
	prefixes        []string
	checkpointEvery int
}

func newFilter(f *api.ReadReq_Options_FilterOptions) (*filter, error) {
	out := &filter{}
	var expr *api.ReadReq_Options_FilterOptions_Expression
	switch e := f.GetFilter().(type) {
	case *api.ReadReq_Options_FilterOptions_EventType:
		out.onType, expr = true, e.EventType
	case *api.ReadReq_Options_FilterOptions_StreamIdentifier:
		expr = e.StreamIdentifier
	default:
		return nil, errors.New("filter names neither event type nor stream")
	}
	if expr.GetRegex() != "" {
		re, err := regexp.Compile(expr.GetRegex())
		if err != nil {
			return nil, err
		}
		out.regex = re
	}
	out.prefixes = expr.GetPrefix()
	window := 32 // the server's default when the client asks for no maximum
	if m, ok := f.GetWindow().(*api.ReadReq_Options_FilterOptions_Max); ok && m.Max > 0 {
		window = int(m.Max)
	}
	out.checkpointEvery = window * max(1, int(f.GetCheckpointIntervalMultiplier()))
	return out, nil
}

// match reports whether r passes f; a nil filter passes everything.
func (f *filter) match(r *record) bool {
	if f == nil {
		return true
	}
	subject := r.stream
	if f.onType {
		subject = r.eventType
	}
	if f.regex != nil && f.regex.MatchString(subject) {
		return true
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return false
}
