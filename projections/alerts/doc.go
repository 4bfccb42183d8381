// Package alerts evaluates a plan's alert rules as the log grows and
// delivers the alerts they raise.
//
// Manager is a process manager over the global log: on every event that
// can change a rule's figures — actuals recorded or restated, a period
// closed, a target set, revised or cleared, a reallocation approved, a
// commit submitted or withdrawn, a forecast run published or sealed, a
// rule defined — it evaluates the rules of the plans concerned against the
// read side (through the small Reader port) and records what it found with
// alert.Book.Observe, which raises an alert when a condition begins to hold
// and resolves it when it clears. The read side answers at the head of the
// log, so one evaluation covers every event up to the position it answered
// at; the events it covered are not evaluated again. Observations are
// idempotent by log position, so a restart that replays the log raises no
// alert twice.
//
// Webhook delivers the news of each alert (raised, resolved) to one HTTPS
// endpoint: the body signed with HMAC-SHA256 over a timestamp and the body
// (header Concord-Signature: t=<unix seconds>,v1=<hex>), the alert's id in
// Concord-Alert-Id for deduplication, retried with exponential backoff on
// an injected clock, and dead-lettered after the last attempt. Every
// attempt is recorded in the alert book, so a restart neither loses a
// delivery nor repeats one already made, and an acknowledged alert is not
// delivered any more. Before each attempt the webhook claims it in the
// book (alert.DeliveryClaimed, appended at the version it read): of
// several replicas delivering the same books, the one whose claim lands
// sends and the others leave the delivery alone until the claim lapses
// (a replica that stopped mid-attempt), so news is sent once, and at least
// once.
//
// Tick evaluates the close_overdue rules, whose figures move with the
// clock as well as with the log.
package alerts
