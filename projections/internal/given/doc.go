// Package given builds small event logs for the read models' unit tests:
// given these events (in this order, by these actors, at these times) →
// these queries → these answers. Each event gets the next position
// (1, 2, …), its stable type name from the domain's registry and a
// recorded time one hour after the previous one, from a fixed start, so
// tests are deterministic.
package given
