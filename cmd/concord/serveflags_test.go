package main

import (
	"strings"
	"testing"
	"time"
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
