package main

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/projections/view"
)

// TestJWTFlags: --jwt-issuer, --jwt-audience and --jwt-max-lifetime, and
// their CONCORD_* twins, reach the app's configuration; a bad lifetime is
// refused by name.
func TestJWTFlags(t *testing.T) {
	for _, c := range []struct {
		name    string
		args    []string
		vars    map[string]string
		iss     string
		aud     string
		life    time.Duration
		wantErr string
	}{
		{"flags", []string{"--jwt-issuer", "https://idp", "--jwt-audience", "concord", "--jwt-max-lifetime", "1h"}, nil, "https://idp", "concord", time.Hour, ""},
		{"environment", nil, map[string]string{"CONCORD_JWT_ISSUER": "https://idp2", "CONCORD_JWT_AUDIENCE": "api", "CONCORD_JWT_MAX_LIFETIME": "15m"}, "https://idp2", "api", 15 * time.Minute, ""},
		{"flag over environment", []string{"--jwt-max-lifetime", "5m"}, map[string]string{"CONCORD_JWT_MAX_LIFETIME": "15m"}, "", "", 5 * time.Minute, ""},
		{"none", nil, nil, "", "", 0, ""},
		{"bad lifetime", []string{"--jwt-max-lifetime", "forever"}, nil, "", "", 0, `--jwt-max-lifetime "forever"`},
		{"negative lifetime", []string{"--jwt-max-lifetime", "-1h"}, nil, "", "", 0, `--jwt-max-lifetime "-1h"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, _, _ := testEnv(c.vars)
			fs := newFlagSet(env, "serve", "")
			sf := declareServeFlags(fs, env, "127.0.0.1:0")
			if err := parseFlags(fs, c.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := sf.config()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("config() error = %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.jwtIssuer != c.iss || cfg.jwtAudience != c.aud || cfg.jwtMaxLifetime != c.life {
				t.Errorf("config() = issuer %q, audience %q, max lifetime %v; want %q, %q, %v", cfg.jwtIssuer, cfg.jwtAudience, cfg.jwtMaxLifetime, c.iss, c.aud, c.life)
			}
		})
	}
}

// TestAlertWebhookFlags: --alert-webhook and --alert-webhook-secret-file
// (and their CONCORD_* twins) configure the alert webhook; an http URL, a
// missing or short secret are refused by name.
func TestAlertWebhookFlags(t *testing.T) {
	dir := t.TempDir()
	good, short := dir+"/secret", dir+"/short"
	if err := os.WriteFile(good, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(short, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		args    []string
		vars    map[string]string
		url     string
		wantErr string
	}{
		{"none", nil, nil, "", ""},
		{"flags", []string{"--alert-webhook", "https://hooks.example.com/c", "--alert-webhook-secret-file", good}, nil, "https://hooks.example.com/c", ""},
		{"environment", nil, map[string]string{"CONCORD_ALERT_WEBHOOK": "https://h.example.com", "CONCORD_ALERT_WEBHOOK_SECRET_FILE": good}, "https://h.example.com", ""},
		{"plain http", []string{"--alert-webhook", "http://hooks.example.com/c", "--alert-webhook-secret-file", good}, nil, "", `--alert-webhook "http://hooks.example.com/c"`},
		{"no secret", []string{"--alert-webhook", "https://hooks.example.com/c"}, nil, "", "needs --alert-webhook-secret-file"},
		{"short secret", []string{"--alert-webhook", "https://hooks.example.com/c", "--alert-webhook-secret-file", short}, nil, "", "at least 32 bytes"},
		{"secret without URL", []string{"--alert-webhook-secret-file", good}, nil, "", "needs --alert-webhook"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, _, _ := testEnv(c.vars)
			fs := newFlagSet(env, "serve", "")
			sf := declareServeFlags(fs, env, "127.0.0.1:0")
			if err := parseFlags(fs, c.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := sf.config()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("config() error = %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.url == "" && cfg.alertWebhook != nil:
				t.Errorf("config() has a webhook %+v, want none", cfg.alertWebhook)
			case c.url != "" && (cfg.alertWebhook == nil || cfg.alertWebhook.URL != c.url || string(cfg.alertWebhook.Secret) != "0123456789abcdef0123456789abcdef"):
				t.Errorf("config() webhook = %+v, want %s with the file's secret", cfg.alertWebhook, c.url)
			}
		})
	}
}

// TestAnalysisCacheFlag: --analysis-cache-mb (and CONCORD_ANALYSIS_CACHE_MB)
// sets the read side's byte budget for analyses, none (0: the default of
// defaultAnalysisBudget) when not given; a bad size is refused by name.
func TestAnalysisCacheFlag(t *testing.T) {
	for _, c := range []struct {
		name    string
		args    []string
		vars    map[string]string
		want    int64
		wantErr string
	}{
		{"default", nil, nil, 0, ""},
		{"flag", []string{"--analysis-cache-mb", "64"}, nil, 64 << 20, ""},
		{"environment", nil, map[string]string{"CONCORD_ANALYSIS_CACHE_MB": "2048"}, 2048 << 20, ""},
		{"zero", []string{"--analysis-cache-mb", "0"}, nil, 0, `--analysis-cache-mb "0"`},
		{"not a number", []string{"--analysis-cache-mb", "1GB"}, nil, 0, `--analysis-cache-mb "1GB"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, _, _ := testEnv(c.vars)
			fs := newFlagSet(env, "serve", "")
			sf := declareServeFlags(fs, env, "127.0.0.1:0")
			if err := parseFlags(fs, c.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := sf.config()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("config() error = %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil || cfg.analysisBudget != c.want {
				t.Errorf("config() = budget %d, %v; want %d", cfg.analysisBudget, err, c.want)
			}
		})
	}
}

// TestDefaultAnalysisBudget: without a soft memory limit the view's default
// budget; with one, a quarter of it, at least 64 MB.
func TestDefaultAnalysisBudget(t *testing.T) {
	for _, c := range []struct {
		limit, want int64
	}{
		{math.MaxInt64, view.DefaultAnalysisBudget},
		{0, view.DefaultAnalysisBudget},
		{1350 << 20, 1350 << 18},
		{7 << 30, 7 << 28},
		{100 << 20, 64 << 20},
	} {
		if got := defaultAnalysisBudget(c.limit); got != c.want {
			t.Errorf("defaultAnalysisBudget(%d) = %d, want %d", c.limit, got, c.want)
		}
	}
}
