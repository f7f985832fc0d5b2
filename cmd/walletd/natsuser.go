package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/projections"
	"github.com/walletd/walletd/webhooks"
)

const natsUserUsage = `Usage:
  walletd nats-user create NAME [--subjects S[,S…]] [--consumers C[,C…]] [--url URL] [--tls-ca FILE] [--data-dir D]
      make a read-only identity on the embedded NATS server: it may subscribe to the
      subjects (default <prefix>.>, every event) and read them from the stream
      through consumers of the names given (default NAME) filtered to those
      subjects, and no other consumer; it publishes nothing on the stream. Writes
      its nkey seed and a NATS CLI context (0600) under
      <data-dir>/nats-auth/subscribers/ for you to hand over.
  walletd nats-user list [--data-dir D]
      list the identities (walletd's own and the subscribers'), never their seeds
  walletd nats-user revoke NAME [--data-dir D]
      revoke a subscriber: a running walletd serve closes its connections within
      seconds and refuses it from then on
`

func runNATSUser(_ context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, natsUserUsage)
		return exitError(2)
	}
	verb, rest := args[0], args[1:]
	fs := flag.NewFlagSet("nats-user "+verb, flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	prefix := fs.String("nats-prefix", "walletd", "the stream's subject prefix (as given to walletd serve)")
	switch verb {
	case "create":
		subjects := fs.String("subjects", "", "comma-separated subjects it may read (default <prefix>.>)")
		consumers := fs.String("consumers", "", "comma-separated names of the consumers it may create, read and delete (default NAME)")
		url := fs.String("url", "nats://127.0.0.1:4222", "the server's URL as the subscriber reaches it, for the context file")
		ca := fs.String("tls-ca", "", "CA certificate of the server's TLS, for the context file")
		names, err := parseInterspersed(fs, rest)
		if err != nil {
			return err
		}
		if err := applyEnv(fs); err != nil {
			return err
		}
		if len(names) != 1 {
			return fmt.Errorf("nats-user create: want one NAME, got %d", len(names))
		}
		subs := splitList(*subjects)
		if len(subs) == 0 {
			subs = []string{*prefix + ".>"}
		}
		return natsUserCreate(natsAuthDir(*dataDir), natsUserSpec{Name: names[0], Subjects: subs, Consumers: splitList(*consumers)}, *url, *ca, stdout)
	case "list":
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		return natsUserList(natsAuthDir(*dataDir), stdout)
	case "revoke":
		names, err := parseInterspersed(fs, rest)
		if err != nil {
			return err
		}
		if err := applyEnv(fs); err != nil {
			return err
		}
		if len(names) != 1 {
			return fmt.Errorf("nats-user revoke: want one NAME, got %d", len(names))
		}
		return natsUserRevoke(natsAuthDir(*dataDir), names[0], stdout)
	}
	fmt.Fprintf(os.Stderr, "walletd nats-user: unknown verb %q\n\n%s", verb, natsUserUsage)
	return exitError(2)
}

// natsContext is a NATS CLI context file (nats context, ~/.config/nats/context/NAME.json).
type natsContext struct {
	Description string `json:"description"`
	URL         string `json:"url"`
	NKey        string `json:"nkey"`
	CA          string `json:"ca,omitempty"`
	InboxPrefix string `json:"inbox_prefix"`
}

// natsUserSpec is what nats-user create is asked for.
type natsUserSpec struct {
	Name      string
	Subjects  []string
	Consumers []string // none: the name (or name-2, name-3 … when that one is retired)
}

// builtinConsumers are the consumer names of walletd's own readers,
// which no subscriber is given.
var builtinConsumers = []string{projections.DefaultConsumer, webhooks.DefaultConsumer}

func natsUserCreate(a natsAuth, spec natsUserSpec, url, ca string, stdout io.Writer) error {
	name, subjects := spec.Name, spec.Subjects
	for _, b := range builtinIdentities {
		if name == b.Name {
			return fmt.Errorf("nats-user create: %q is one of walletd's own identities", name)
		}
	}
	if err := bus.CheckIdentityName(name); err != nil {
		return fmt.Errorf("nats-user create: %w", err)
	}
	for _, s := range subjects {
		if err := bus.CheckSubject(s); err != nil {
			return fmt.Errorf("nats-user create: --subjects: %w", err)
		}
	}
	id := bus.Identity{Name: name, Role: bus.RoleSubscriber, Subjects: subjects, CreatedAt: time.Now().UTC()}
	ids, err := a.Load()
	if err != nil {
		return err
	}
	if i := identityIndex(ids, name); i >= 0 {
		if ids[i].RevokedAt == nil {
			return fmt.Errorf("nats-user create: %q exists; revoke it first to issue it again", name)
		}
		// A revoked name may be issued again, with a new key; the
		// consumers of its old keys stay retired.
		if ids[i].Role == bus.RoleSubscriber {
			id.RetiredConsumers = append(slices.Clone(ids[i].RetiredConsumers), ids[i].ConsumerNames()...)
		}
		ids = append(ids[:i], ids[i+1:]...)
	}
	if id.Consumers, err = pickConsumers(ids, &id, spec.Consumers); err != nil {
		return err
	}
	if err := (bus.Grants{Protected: builtinConsumers}).CheckConsumers(append(slices.Clone(ids), id)); err != nil {
		return fmt.Errorf("nats-user create: --consumers: %w", err)
	}
	seedPath, ctxPath := a.subscriberFiles(name)
	if id.PublicKey, err = newSeed(seedPath); err != nil {
		return err
	}
	if err := id.Check(); err != nil {
		return err
	}
	absSeed, _ := filepath.Abs(seedPath)
	c := natsContext{
		Description: "walletd events, read-only: " + strings.Join(subjects, " "),
		URL:         url, NKey: absSeed, CA: ca, InboxPrefix: bus.InboxPrefix(name),
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := keyfile.WriteAtomic(ctxPath, append(b, '\n'), 0o600); err != nil {
		return err
	}
	if err := a.Save(append(ids, id)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created NATS identity %s (%s), read-only on: %s\n", name, id.PublicKey, strings.Join(subjects, ", "))
	fmt.Fprintf(stdout, "its consumers (no other): %s\n", strings.Join(id.Consumers, ", "))
	fmt.Fprintf(stdout, "seed:    %s\ncontext: %s\n", seedPath, ctxPath)
	fmt.Fprintf(stdout, "hand both over; the subscriber puts the context in ~/.config/nats/context/%s.json, with \"nkey\" set to where the seed is, and runs: nats --context %s sub '%s'\n", name, name, subjects[0])
	return nil
}

func natsUserList(a natsAuth, stdout io.Writer) error {
	ids, err := a.Load()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tPUBLIC KEY\tSUBJECTS\tCONSUMERS\tCREATED\tREVOKED")
	for _, id := range ids {
		revoked := "-"
		if id.RevokedAt != nil {
			revoked = id.RevokedAt.Format(time.RFC3339)
		}
		subs := strings.Join(id.Subjects, ",")
		if subs == "" {
			subs = "-"
		}
		cons := "-"
		if id.Role == bus.RoleSubscriber {
			cons = strings.Join(id.ConsumerNames(), ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id.Name, id.Role, id.PublicKey, subs, cons, id.CreatedAt.Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

func natsUserRevoke(a natsAuth, name string, stdout io.Writer) error {
	ids, err := a.Load()
	if err != nil {
		return err
	}
	i := identityIndex(ids, name)
	switch {
	case i < 0:
		return fmt.Errorf("nats-user revoke: no identity %s", walletd.QuoteInput(name))
	case ids[i].Role != bus.RoleSubscriber:
		return fmt.Errorf("nats-user revoke: %q is one of walletd's own identities", name)
	case ids[i].RevokedAt != nil:
		fmt.Fprintf(stdout, "%s was already revoked at %s\n", name, ids[i].RevokedAt.Format(time.RFC3339))
		return nil
	}
	now := time.Now().UTC()
	ids[i].RevokedAt = &now
	if err := a.Save(ids); err != nil {
		return err
	}
	seedPath, ctxPath := a.subscriberFiles(name)
	os.Remove(seedPath)
	os.Remove(ctxPath)
	fmt.Fprintf(stdout, "revoked %s (%s); a running walletd serve closes its connections within seconds\n", name, ids[i].PublicKey)
	return nil
}

// pickConsumers returns the consumer names of id: those asked for,
// checked, or its name; when its name is retired or taken, the first of
// name-2, name-3 … that no identity holds.
func pickConsumers(ids []bus.Identity, id *bus.Identity, asked []string) ([]string, error) {
	if len(asked) > 0 {
		seen := map[string]bool{}
		for _, c := range asked {
			if err := bus.CheckConsumerName(c); err != nil {
				return nil, fmt.Errorf("nats-user create: --consumers: %w", err)
			}
			if seen[c] {
				return nil, fmt.Errorf("nats-user create: --consumers: %s is given twice", c)
			}
			seen[c] = true
		}
		return asked, nil
	}
	held := map[string]bool{}
	for _, c := range append(slices.Clone(builtinConsumers), id.RetiredConsumers...) {
		held[c] = true
	}
	for i := range ids {
		if ids[i].Role == bus.RoleSubscriber {
			for _, c := range append(ids[i].ConsumerNames(), ids[i].RetiredConsumers...) {
				held[c] = true
			}
		}
	}
	for n := 1; n < 1000; n++ {
		c := id.Name
		if n > 1 {
			c = fmt.Sprintf("%s-%d", id.Name, n)
		}
		if !held[c] && bus.CheckConsumerName(c) == nil {
			return []string{c}, nil
		}
	}
	return nil, errors.New("nats-user create: no free consumer name: pass --consumers")
}
