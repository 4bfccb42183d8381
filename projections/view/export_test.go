package view

// SetCheckpointEvery sets the distance between the checkpoints of s, for
// tests; call it before the first read of s.
func SetCheckpointEvery(s *Service, every int) { s.every = every }

// Checkpoints returns how many checkpoint states s keeps.
func Checkpoints(s *Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.checkpoints)
}
