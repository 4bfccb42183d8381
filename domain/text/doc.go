// Package text holds the one rule for the text a command may store (names,
// tags, reasons, import ids, actors, CSV fields): valid UTF-8 without
// control characters. Every layer that takes text from outside — the API's
// decoders, the CSV reader, the aggregates that keep names — asks Problem,
// so that they cannot disagree. It is pure and imports only the standard
// library.
package text
