package main

import (
	"context"
	"fmt"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/planning"
)

// operatorPrefix starts the actor of every command given on the command
// line, which no API credential produces ("token:", "jwt:").
const operatorPrefix = "cli:"

// operator is the principal of commands run on the store's own machine: who
// can open the store file is trusted as an administrator, and recorded as
// such ("cli:<user>").
func operator() planning.Principal {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return planning.Principal{Actor: operatorPrefix + name, Role: access.RoleAdmin}
}

// tokenCommand creates, lists and revokes API tokens.
func tokenCommand(ctx context.Context, env *environment, args []string) error {
	usage := "Usage: concord token create --name NAME --role viewer|sales|planner|admin [--scope NODE]...\n" +
		"       concord token list\n" +
		"       concord token revoke --id ID --reason TEXT"
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, usage)
		return errUsage
	}
	fs := newFlagSet(env, "token "+args[0], usage)
	st := storeFlags(fs, env)
	name := fs.String("name", "", "token name (create)")
	role := fs.String("role", "", "viewer, sales, planner or admin (create)")
	var scopes []string
	fs.Func("scope", "node a sales token may act on, e.g. region=emea (create; repeatable)", func(s string) error {
		scopes = append(scopes, s)
		return nil
	})
	id := fs.String("id", "", "token id (revoke)")
	reason := fs.String("reason", "", "why (revoke)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	st.existing = args[0] == "list"
	store, _, err := st.open(ctx, env)
	if err != nil {
		return err
	}
	defer store.close()
	svc := planning.New(store, planning.NewRegistry())
	call := planning.Call{By: operator(), CorrelationID: "cli-token"}
	switch args[0] {
	case "create":
		issued, err := svc.IssueToken(ctx, call, planning.IssueToken{Name: *name, Role: access.Role(*role), Scopes: scopes})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "token %s (%s, %s) created; its secret is shown once:\n%s\n", issued.Token.Name, issued.Token.ID, issued.Token.Role, issued.Secret)
		return nil
	case "list":
		tokens, _, err := svc.Tokens(ctx, call.By)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tROLE\tSCOPES\tISSUED BY\tREVOKED")
		for _, t := range tokens {
			scopes := make([]string, len(t.Scopes))
			for i, s := range t.Scopes {
				scopes[i] = s.String()
			}
			revoked := "-"
			if t.Revoked {
				revoked = "by " + t.RevokedBy
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, strings.Join(scopes, ","), t.IssuedBy, revoked)
		}
		return w.Flush()
	case "revoke":
		if _, err := svc.RevokeToken(ctx, call, *id, *reason); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "token %s revoked\n", *id)
		return nil
	}
	fmt.Fprintf(env.stderr, "concord token: unknown action %q\n%s\n", args[0], usage)
	return errUsage
}
