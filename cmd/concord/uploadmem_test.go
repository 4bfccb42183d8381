package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/planning"
)

// uploadMemoryBound is the most a server may grow above idle while it
// refuses three oversized uploads at once (issue 14: 2.2 GiB for one, 6.4
// GiB for three, before uploads were streamed).
const uploadMemoryBound = 300 << 20

// TestUploadMemory starts `concord serve` as its own process and sends it
// three oversized uploads at once, of each form (31 MiB of empty CSV rows,
// chunked so that no Content-Length lets the server refuse them unread;
// 10 MiB JSON arrays of empty rows, also with an Idempotency-Key, which
// makes the server keep the body), and checks that every one is refused
// with 413 and that the process's peak resident memory (VmHWM) rose at
// most uploadMemoryBound above its resident memory when idle. It reads
// /proc, so it runs on Linux only.
func TestUploadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 3 × 31 MiB to a server process")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc/PID/status (Linux) to read the server's resident memory")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "concord.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	issued, err := planning.New(s, planning.NewRegistry()).IssueToken(ctx, planning.Call{By: operator()},
		planning.IssueToken{Name: "planner", Role: access.RolePlanner})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	p := startProcess(t, "serve", "serve", "--store", "sqlite://"+path, "--listen", "127.0.0.1:0", "--rate-limit", "0", "--log-level", "info")
	pid := p.cmd.Process.Pid
	url := "http://" + p.addr
	idle := procStatus(t, pid, "VmRSS")

	csvBody := func() io.Reader { // 31 MiB of rows without a Content-Length
		return io.MultiReader(strings.NewReader("cell,metric,period,amount\n"), io.LimitReader(repeating(",,,\n"), 31<<20))
	}
	jsonBody := func() io.Reader { // just under the 10 MiB UploadLimit
		return io.MultiReader(strings.NewReader(`{"import_id":"x","rows":[`), io.LimitReader(repeating("{},"), 10<<20-100), strings.NewReader("{}]}"))
	}
	for _, c := range []struct {
		name, path, ctype string
		body              func() io.Reader
		idempotent        bool
	}{
		{"CSV actuals", "/api/v1/plans/p/actuals?import_id=x", "text/csv", csvBody, false},
		{"CSV targets", "/api/v1/plans/p/targets/batch", "text/csv", func() io.Reader {
			return io.MultiReader(strings.NewReader("op,node,metric,span,reason\n"), io.LimitReader(repeating(",,,,\n"), 31<<20))
		}, false},
		{"JSON actuals", "/api/v1/plans/p/actuals", "application/json", jsonBody, false},
		{"JSON actuals with Idempotency-Key", "/api/v1/plans/p/actuals", "application/json", jsonBody, true},
	} {
		var wg sync.WaitGroup
		codes := make([]int, 3)
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequest(http.MethodPost, url+c.path, c.body())
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+issued.Secret)
				req.Header.Set("Content-Type", c.ctype)
				if c.idempotent {
					req.Header.Set("Idempotency-Key", fmt.Sprintf("k%d", i))
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("%s: %v", c.name, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		for _, code := range codes {
			if code != http.StatusRequestEntityTooLarge {
				t.Errorf("%s: answered %v, want 413 each", c.name, codes)
				break
			}
		}
		peak := procStatus(t, pid, "VmHWM")
		t.Logf("%s, 3 at once: idle RSS %d MiB, peak RSS %d MiB so far, %d MiB above idle", c.name, idle>>20, peak>>20, (peak-idle)>>20)
		if peak-idle > uploadMemoryBound {
			t.Errorf("%s: peak RSS %d MiB is %d MiB above idle (%d MiB), want at most %d MiB", c.name, peak>>20, (peak-idle)>>20, idle>>20, uploadMemoryBound>>20)
		}
	}
}

// procStatus returns a memory figure (VmRSS, VmHWM) of process pid, in bytes.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// repeating yields s for ever.
func repeating(s string) io.Reader { return &repeater{s: s} }

type repeater struct {
	s   string
	off int
}

func (r *repeater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.s[r.off:])
		n += c
		r.off = (r.off + c) % len(r.s)
	}
	return n, nil
}
