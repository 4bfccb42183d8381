package view

// Reconciliations returns how many analyses s holds computed and how many
// distinct prepared reconciliations they hold between them: fewer when
// analyses share one (a shocked scenario's with its plan's).
func Reconciliations(s *Service) (analyses, distinct int) {
	c := s.work.analyses
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[*reconciliation]bool{}
	for _, els := range c.index {
		for _, el := range els {
			if a, err, done := el.Value.(*cachedAnalysis).m.peek(); done && err == nil && a.rec != nil {
				analyses++
				seen[a.rec] = true
			}
		}
	}
	return analyses, len(seen)
}

// Footprint returns the estimated bytes of the analyses s keeps and how
// many scenario states it keeps.
func Footprint(s *Service) (analysisBytes int64, scenarioStates int) {
	c := s.work.analyses
	c.mu.Lock()
	analysisBytes = c.size
	c.mu.Unlock()
	s.branches.mu.Lock()
	defer s.branches.mu.Unlock()
	return analysisBytes, len(s.branches.byKey)
}
