package bus

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/walletd/walletd"
)

// The embedded server authenticates every connection with nats-server's
// own nkeys: each identity is an ed25519 key pair; the server holds only
// the public key and the identity's permissions, the client proves it
// holds the seed by signing the server's nonce. There is no anonymous
// user: a connection without a known key is refused.

// Role is what an identity may do on the bus.
type Role string

// The roles. Only RolePublisher may publish on the stream's subjects.
const (
	// RolePublisher is walletd serve: the relay (the stream's only
	// publisher), the stream's set-up and the consumers serve runs in
	// its own process.
	RolePublisher Role = "publisher"
	// RoleConsumer is a walletd process that reads the stream through
	// durable consumers (walletd projector, projections rebuild, a
	// separate dispatcher): it manages consumers of the stream and
	// acknowledges their messages; it publishes nothing on the stream.
	RoleConsumer Role = "consumer"
	// RoleSubscriber is an outside reader: it may subscribe to the
	// subjects it was granted (live) and read them from the stream through
	// consumers of its own (the names it was given, Identity.Consumers)
	// filtered to those subjects. It publishes nothing on the stream and
	// cannot touch any other consumer: walletd's, or another
	// subscriber's.
	RoleSubscriber Role = "subscriber"
)

// Identity is one key that may connect to the embedded server, as the
// data directory records it (nats-auth/users.json). The seed is never
// part of it.
type Identity struct {
	Name      string   `json:"name"`
	Role      Role     `json:"role"`
	PublicKey string   `json:"public_key"`         // nkeys user public key ("U…")
	Subjects  []string `json:"subjects,omitempty"` // RoleSubscriber: what it may read
	// Consumers are the names of the consumers a subscriber may create,
	// read from and delete, and no other; none is its Name alone (see
	// ConsumerNames). RetiredConsumers are those of the earlier, revoked
	// keys of its name: they may still exist on the server with the
	// filters of then, so no identity is granted them again.
	Consumers        []string   `json:"consumers,omitempty"`
	RetiredConsumers []string   `json:"retired_consumers,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
}

// identityName is what a name may be: it becomes a file name, a token of
// the identity's inbox prefix and a NATS CLI context name.
var identityName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// consumerName is what a subscriber's consumer name may be: one token of
// the JetStream API's subjects (no '.', no wildcard), as nats-server
// requires of a consumer name.
var consumerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// CheckConsumerName reports whether name may name a subscriber's
// consumer.
func CheckConsumerName(name string) error {
	if !consumerName.MatchString(name) {
		return fmt.Errorf("consumer name %s: 1 to 64 of A-Z, a-z, 0-9, _ and -, starting with a letter or digit", walletd.QuoteInput(name))
	}
	return nil
}

// ConsumerNames returns the consumers a subscriber may use: Consumers,
// or its Name when none is given (identities made before consumers were
// named get their name).
func (id *Identity) ConsumerNames() []string {
	if len(id.Consumers) == 0 {
		return []string{id.Name}
	}
	return id.Consumers
}

// CheckIdentityName reports whether name may name an identity.
func CheckIdentityName(name string) error {
	if !identityName.MatchString(name) {
		return fmt.Errorf("nats identity %s: a name is 1 to 63 of a-z, 0-9, _ and -, starting with a letter or digit", walletd.QuoteInput(name))
	}
	return nil
}

// Check reports whether id is well formed: a valid name, a known role, a
// user public key, and for a subscriber at least one valid subject.
func (id *Identity) Check() error {
	if err := CheckIdentityName(id.Name); err != nil {
		return err
	}
	switch id.Role {
	case RolePublisher, RoleConsumer:
		if len(id.Consumers) > 0 || len(id.RetiredConsumers) > 0 {
			return fmt.Errorf("nats identity %s: only a subscriber is given consumer names", id.Name)
		}
	case RoleSubscriber:
		for _, c := range append(id.ConsumerNames(), id.RetiredConsumers...) {
			if err := CheckConsumerName(c); err != nil {
				return fmt.Errorf("nats identity %s: %w", id.Name, err)
			}
		}
		if len(id.Subjects) == 0 {
			return fmt.Errorf("nats identity %s: a subscriber needs at least one subject", id.Name)
		}
		for _, s := range id.Subjects {
			if err := CheckSubject(s); err != nil {
				return fmt.Errorf("nats identity %s: %w", id.Name, err)
			}
		}
	default:
		return fmt.Errorf("nats identity %s: unknown role %s", id.Name, walletd.QuoteInput(string(id.Role)))
	}
	if !nkeys.IsValidPublicUserKey(id.PublicKey) {
		return fmt.Errorf("nats identity %s: %s is not an nkeys user public key", id.Name, walletd.QuoteInput(id.PublicKey))
	}
	return nil
}

// CheckSubject reports whether s is a subject a subscription may name:
// dot-separated non-empty tokens of printable ASCII without spaces, "*"
// for one token, ">" only as the last token.
func CheckSubject(s string) error {
	if s == "" || len(s) > 255 {
		return fmt.Errorf("subject %s: want 1 to 255 bytes", walletd.QuoteInput(s))
	}
	toks := strings.Split(s, ".")
	for i, t := range toks {
		if t == "" {
			return fmt.Errorf("subject %s: empty token", walletd.QuoteInput(s))
		}
		for _, r := range t {
			if r <= ' ' || r > '~' {
				return fmt.Errorf("subject %s: only printable ASCII without spaces", walletd.QuoteInput(s))
			}
		}
		if t == ">" && i != len(toks)-1 {
			return fmt.Errorf("subject %s: > must be the last token", walletd.QuoteInput(s))
		}
		if t != "*" && t != ">" && strings.ContainsAny(t, "*>") {
			return fmt.Errorf("subject %s: a wildcard must be a whole token", walletd.QuoteInput(s))
		}
		if strings.HasPrefix(t, "$") && i == 0 {
			return fmt.Errorf("subject %s: system subjects cannot be granted", walletd.QuoteInput(s))
		}
	}
	return nil
}

// InboxPrefix is the prefix of the reply subjects an identity's
// connection uses (nats.CustomInboxPrefix, the NATS CLI's inbox_prefix):
// each identity may subscribe to its own inbox only, so that no one reads
// the replies, and the messages pulled, of another.
func InboxPrefix(name string) string { return "_INBOX_" + name }

// Grants is what the permissions of the identities depend on.
type Grants struct {
	Stream string // the stream's name, e.g. WALLETD
	Prefix string // the stream's subject prefix, e.g. walletd
	// Protected are walletd's own durable consumers (projections,
	// webhooks …): a subscriber may neither read from nor delete them.
	Protected []string
}

// Permissions returns what id may publish and subscribe to.
func (g Grants) Permissions(id *Identity) *server.Permissions {
	inbox := InboxPrefix(id.Name) + ".>"
	api := "$JS.API."
	switch id.Role {
	case RolePublisher:
		// The stream's subjects, and every JetStream request: serve sets
		// up the stream, reads its tail to resume, and runs its consumers.
		return &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{g.Prefix + ".>", "$JS.>"}},
			Subscribe: &server.SubjectPermission{Allow: []string{inbox}},
		}
	case RoleConsumer:
		return &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{
				api + "INFO",
				api + "STREAM.INFO." + g.Stream,
				api + "CONSUMER.*." + g.Stream + ".>",
				api + "CONSUMER.*." + g.Stream,
				api + "CONSUMER.MSG.NEXT." + g.Stream + ".*",
				"$JS.ACK." + g.Stream + ".>",
				"$JS.FC." + g.Stream + ".>",
			}},
			Subscribe: &server.SubjectPermission{Allow: []string{inbox}},
		}
	}
	// RoleSubscriber: live subjects, and its own consumers filtered to
	// them. The JetStream API carries the consumer's name as a token of
	// each request's subject, and a permission's wildcard is a whole
	// token, so the grant names each of its consumers:
	//   CONSUMER.CREATE.<stream>.<name>.<filter>: the server checks the
	//     request's name and filter against the subject's, and refuses a
	//     list of filters with it; so the subscriber can make only its own
	//     consumers, and only of granted subjects. The forms without the
	//     filter (CONSUMER.CREATE.<stream>[.<name>], DURABLE.CREATE) are
	//     not granted: their filter is in the body only.
	//   CONSUMER.INFO|MSG.NEXT|DELETE.<stream>.<name>, $JS.ACK.<stream>.
	//     <name>.> and $JS.FC.<stream>.<name>.>: its own consumers only.
	// Ordered consumers and unnamed ephemerals are refused: their names
	// are made up by the client (nuid_<serial>) or the server.
	pub := []string{
		api + "INFO",
		api + "STREAM.INFO." + g.Stream,
	}
	for _, c := range id.ConsumerNames() {
		pub = append(pub,
			api+"CONSUMER.INFO."+g.Stream+"."+c,
			api+"CONSUMER.MSG.NEXT."+g.Stream+"."+c,
			api+"CONSUMER.DELETE."+g.Stream+"."+c,
			"$JS.ACK."+g.Stream+"."+c+".>",
			"$JS.FC."+g.Stream+"."+c+".>",
		)
		for _, s := range id.Subjects {
			pub = append(pub, api+"CONSUMER.CREATE."+g.Stream+"."+c+"."+s)
		}
	}
	sub := []string{inbox}
	sub = append(sub, id.Subjects...)
	var deny []string // walletd's own consumers, should a grant ever name one
	for _, c := range g.Protected {
		for _, verb := range []string{"CREATE", "INFO", "MSG.NEXT", "DELETE"} {
			deny = append(deny, api+"CONSUMER."+verb+"."+g.Stream+"."+c, api+"CONSUMER."+verb+"."+g.Stream+"."+c+".>")
		}
		deny = append(deny, "$JS.ACK."+g.Stream+"."+c+".>")
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub, Deny: deny},
		Subscribe: &server.SubjectPermission{Allow: sub},
	}
}

// CheckConsumers reports whether the subscribers' consumer names are
// apart: no name granted (or retired) twice, and none of walletd's own.
func (g Grants) CheckConsumers(ids []Identity) error {
	holder := map[string]string{}
	for _, c := range g.Protected {
		holder[c] = "walletd"
	}
	for i := range ids {
		id := &ids[i]
		if id.Role != RoleSubscriber {
			continue
		}
		for _, c := range append(id.ConsumerNames(), id.RetiredConsumers...) {
			if h, ok := holder[c]; ok {
				return fmt.Errorf("nats identity %s: the consumer name %s is %s's", id.Name, c, h)
			}
			holder[c] = id.Name
		}
	}
	return nil
}

// Users returns the server's nkey users for the identities that are not
// revoked. A malformed identity is an error: the server must not start
// with permissions other than those recorded.
func (g Grants) Users(ids []Identity) ([]*server.NkeyUser, error) {
	if g.Stream == "" || g.Prefix == "" {
		return nil, errors.New("nats auth: the stream and its prefix are required")
	}
	var out []*server.NkeyUser
	seen := map[string]bool{}
	for i := range ids {
		id := &ids[i]
		if err := id.Check(); err != nil {
			return nil, err
		}
		if seen[id.Name] || seen[id.PublicKey] {
			return nil, fmt.Errorf("nats identity %s: the name or key is used twice", id.Name)
		}
		seen[id.Name], seen[id.PublicKey] = true, true
		if id.RevokedAt != nil {
			continue
		}
		out = append(out, &server.NkeyUser{Nkey: id.PublicKey, Permissions: g.Permissions(id)})
	}
	if err := g.CheckConsumers(ids); err != nil {
		return nil, err
	}
	return out, nil
}

// ServerTLS is the TLS of the embedded server's client port: its
// certificate and key (PEM files), and optionally a CA whose client
// certificates it then requires as well as the nkey.
type ServerTLS struct {
	CertFile string
	KeyFile  string
	CAFile   string
}

// secure sets the authentication and TLS options: the nkey users (or none
// with NoAuth) and TLS, which a listener beyond loopback requires.
func (s *Server) secure(opts *server.Options) error {
	switch {
	case s.NoAuth && len(s.Users) > 0:
		return errors.New("nats: NoAuth with users")
	case !s.NoAuth && len(s.Users) == 0:
		return errors.New("nats: the embedded server runs with authentication only: give it at least one identity")
	}
	opts.Nkeys = s.Users
	if s.TLS != nil {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
			CertFile: s.TLS.CertFile, KeyFile: s.TLS.KeyFile, CaFile: s.TLS.CAFile, Verify: s.TLS.CAFile != "",
		})
		if err != nil {
			return fmt.Errorf("nats: tls: %w", err)
		}
		opts.TLSConfig, opts.TLS, opts.TLSVerify, opts.TLSTimeout = tc, true, s.TLS.CAFile != "", 2
	} else if !Loopback(opts.Host) {
		return fmt.Errorf("nats: %s listens beyond loopback: it needs TLS", opts.Host)
	}
	if s.NoAuth && !Loopback(opts.Host) {
		return fmt.Errorf("nats: %s listens beyond loopback: it needs authentication", opts.Host)
	}
	return nil
}

// Loopback reports whether host (a listen address's host) is reachable
// from this machine only: localhost or a loopback IP. An empty host and
// 0.0.0.0 listen everywhere.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ReloadUsers replaces the identities of the running server: a connection
// whose key is no longer among them is closed at once, as nats-server does
// on a configuration reload; new keys may connect from now on.
func (s *Server) ReloadUsers(users []*server.NkeyUser) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		s.Users = users
		return nil
	}
	if len(users) == 0 {
		return errors.New("nats: reload: at least one identity is needed")
	}
	opts := s.opts.Clone()
	opts.Nkeys = users
	if err := s.srv.ReloadOptions(opts); err != nil {
		return fmt.Errorf("nats: reload identities: %w", err)
	}
	s.opts, s.Users = opts, users
	return nil
}

// InProcess returns the option that connects a client to the running
// server without a socket, and so without TLS (give the client a nats://
// URL: tls:// would ask for it); nil when the server is not open.
func (s *Server) InProcess() nats.Option {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	return nats.InProcessServer(s.srv)
}
