//go:build !unix

package view_test

import "time"

// cpuTime is not measured here; benchmarks then report zero CPU time.
func cpuTime() time.Duration { return 0 }

// minorFaults is not counted here; benchmarks then report zero faults.
func minorFaults() int64 { return 0 }
