// Package fiscal models Concord's fiscal calendar: periods (fiscal months),
// quarters and fiscal years derived from a configurable first month, and
// spans of consecutive periods.
//
// A Period is an absolute calendar month, so it needs no calendar to compare,
// order or format ("2027-03"). Quarters and fiscal years depend on the
// Calendar's first month. A fiscal year is named after the calendar year in
// which it ends: with a first month of April, FY2027 runs from 2026-04 to
// 2027-03. With a first month of January the fiscal and calendar years agree.
//
// All types are values, safe for concurrent use, and never read the clock.
package fiscal
