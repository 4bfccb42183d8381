package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestBusAndWorkerFlagsAreChecked: a worker needs NATS, and every bad
// value is named before anything is opened.
func TestBusAndWorkerFlagsAreChecked(t *testing.T) {
	store := "sqlite://" + filepath.Join(t.TempDir(), "c.db")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"worker", "--store", store}, []string{"--bus memory://", "NATS JetStream"}},
		{[]string{"worker", "--store", store, "--bus", "kafka://k:9092"}, []string{`--bus "kafka://k:9092"`, "nats://"}},
		{[]string{"worker", "--store", store, "--bus", "nats://127.0.0.1:1", "--concurrency", "0", "--job-ack-wait", "5ms", "--jobs-in-flight", "x"},
			[]string{`--concurrency "0"`, `--job-ack-wait "5ms"`, `--jobs-in-flight "x"`}},
		{[]string{"serve", "--store", store, "--bus", "redis://r"}, []string{`--bus "redis://r"`}},
		{[]string{"serve", "--store", store, "--bus", "nats://127.0.0.1:1", "--nats-replicas", "7", "--nats-ping-interval", "5ms"},
			[]string{`--nats-replicas "7"`, "1 to 5", `--nats-ping-interval "5ms"`}},
		{[]string{"worker", "--store", store, "--bus", "nats://127.0.0.1:1", "--nats-replicas", "three"}, []string{`--nats-replicas "three"`}},
	} {
		env, _, _ := testEnv(nil)
		err := run(context.Background(), env, tc.args)
		if err == nil {
			t.Errorf("%v: no error", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not say %q", tc.args, err, w)
			}
		}
	}
}
