package esdb_test

import (
	"os"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/esdb"
	"github.com/concord-planning/concord/domain/eventstore/esdb/esdbtest"
	"github.com/concord-planning/concord/domain/eventstore/storetest"
)

// TestContract runs the shared contract suite against the test server (one
// per test; Reopen kills and restarts it under a new Store) and, when
// CONCORD_TEST_ESDB is set, against that real server (Reopen closes the
// Store and opens another).
func TestContract(t *testing.T) {
	t.Run("esdbtest", func(t *testing.T) {
		servers := map[eventstore.Store]*esdbtest.Server{}
		storetest.Run(t, func(t *testing.T) eventstore.Store {
			srv := startServer(t)
			s := open(t, srv.ConnString()+fast)
			servers[s] = srv
			return s
		}, storetest.Features{
			Importer: true,
			Reopen: func(t *testing.T, s eventstore.Store) eventstore.Store {
				srv := servers[s]
				s.(*esdb.Store).Close()
				srv.Restart()
				again := open(t, srv.ConnString()+fast)
				servers[again] = srv
				return again
			},
		})
	})
	t.Run("real", func(t *testing.T) {
		conn := os.Getenv("CONCORD_TEST_ESDB")
		if conn == "" {
			t.Skip("CONCORD_TEST_ESDB is not set: skipping the contract against a real EventStoreDB (set it to a connection string, e.g. esdb://localhost:2113?tls=false)")
		}
		storetest.Run(t, func(t *testing.T) eventstore.Store { return open(t, conn) }, storetest.Features{
			Importer: true,
			Reopen: func(t *testing.T, s eventstore.Store) eventstore.Store {
				s.(*esdb.Store).Close()
				return open(t, conn)
			},
		})
	})
}
