// Package vintage gives read models their memory of the past: values that
// keep every change as (global position, value), and the time line that maps
// a recorded time to the last global position recorded at or before it.
//
// A vintage, in Concord's language, is the state of anything as known at a
// point of the event log. Read models answer "as known at" a position by a
// binary search in each value's History, never by replaying the log per
// query, and answer "as known on" a date by first turning the date into a
// position with a Timeline.
//
// The package is named after that idea rather than after its data
// structures; it holds no read model of its own and depends only on the
// event store's Position.
//
// History and Timeline are not safe for concurrent use on their own: the
// read model that owns them guards them with its lock.
package vintage
