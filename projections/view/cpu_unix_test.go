//go:build unix

package view_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) the process has used. On a
// shared machine it is a steadier measure of work than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// minorFaults returns the page faults the process has taken that needed
// no I/O: on a fresh heap page, the kernel's zeroing of it. A heap that
// grows to new pages pays them, one that reuses its pages does not.
func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}
