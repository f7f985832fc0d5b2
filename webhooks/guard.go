package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/walletd/walletd"
)

// MaxURLLength bounds an endpoint URL.
const MaxURLLength = 2048

// Guard decides which addresses walletd may connect to. By default it
// refuses every address that is not public unicast: loopback, private,
// carrier-grade NAT, link-local (the cloud metadata services live there),
// unspecified, multicast, documentation and reserved ranges, IPv4-mapped
// IPv6 and the IPv6 forms that embed such an IPv4 address. Addresses inside
// Allow are accepted, and only those may be reached over plain http: the
// allowlist is for development and tests.
//
// The check runs when the connection is made (net.Dialer.Control), on the
// address DNS actually returned, so a name that resolves to a private
// address at send time is refused even if it was public when the endpoint
// was saved.
type Guard struct {
	Allow []netip.Prefix
}

// ParseCIDRs parses a comma-separated list of CIDR prefixes
// ("127.0.0.0/8,::1/128"). A bare address is taken as a single host.
// Empty items are ignored.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var p netip.Prefix
		var err error
		if strings.Contains(item, "/") {
			p, err = netip.ParsePrefix(item)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(item); err == nil {
				if a.Zone() != "" {
					return nil, fmt.Errorf("allow-cidrs: %q: zones are not supported", item)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("allow-cidrs: %q is not a CIDR prefix or an address", item)
		}
		if p.Addr().Zone() != "" {
			return nil, fmt.Errorf("allow-cidrs: %q: zones are not supported", item)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// deniedPrefixes are refused unless allowed: everything that is not public
// unicast, besides what netip's predicates already cover.
var deniedPrefixes = mustPrefixes(
	"0.0.0.0/8",          // "this network"
	"100.64.0.0/10",      // carrier-grade NAT (Alibaba's metadata service is 100.100.100.200)
	"192.0.0.0/24",       // IETF protocol assignments
	"192.0.2.0/24",       // TEST-NET-1
	"198.18.0.0/15",      // benchmarking
	"198.51.100.0/24",    // TEST-NET-2
	"203.0.113.0/24",     // TEST-NET-3
	"240.0.0.0/4",        // reserved, and the broadcast address
	"::/128",             // unspecified
	"::ffff:0:0/96",      // IPv4-mapped
	"64:ff9b::/96",       // NAT64: reaches IPv4 addresses through a translator
	"64:ff9b:1::/48",     // local-use NAT64
	"100::/64",           // discard
	"2001::/32",          // Teredo
	"2001:db8::/32",      // documentation
	"fec0::/10",          // site-local (deprecated)
	"fd00:ec2::254/128",  // AWS metadata over IPv6 (also in fc00::/7)
	"169.254.169.254/32", // cloud metadata (also link-local)
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Allowed reports whether a is inside the allowlist.
func (g *Guard) Allowed(a netip.Addr) bool {
	a = a.WithZone("")
	for _, p := range g.Allow {
		if p.Contains(a) || (a.Is4In6() && p.Contains(a.Unmap())) {
			return true
		}
	}
	return false
}

// Check returns nil if walletd may connect to a, and the reason if not.
func (g *Guard) Check(a netip.Addr) error {
	if g.Allowed(a) {
		return nil
	}
	if reason := deniedReason(a.WithZone("")); reason != "" {
		return fmt.Errorf("%w: %s is %s", ErrAddressRefused, a, reason)
	}
	return nil
}

// ErrAddressRefused is the error of a connection the guard refused.
var ErrAddressRefused = errors.New("address refused")

func deniedReason(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "not an address"
	case a.Is4In6():
		return "an IPv4-mapped IPv6 address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address (cloud metadata services live there)"
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	for _, p := range deniedPrefixes {
		if p.Contains(a) {
			return "in the reserved range " + p.String()
		}
	}
	// 6to4 embeds an IPv4 address in bits 16–48.
	if a.Is6() {
		b := a.As16()
		if b[0] == 0x20 && b[1] == 0x02 {
			v4 := netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
			if r := deniedReason(v4); r != "" {
				return "a 6to4 address embedding " + v4.String() + ", " + r
			}
		}
	}
	return ""
}

// control is a net.Dialer.Control that refuses what Check refuses. When
// plain is true (an http URL) only allowed addresses pass.
func (g *Guard) control(plain bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return fmt.Errorf("%w: %q", ErrAddressRefused, address)
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("%w: %q", ErrAddressRefused, address)
		}
		if plain {
			if g.Allowed(a) {
				return nil
			}
			return fmt.Errorf("%w: plain http only to --webhook-allow-cidrs, not %s", ErrAddressRefused, a)
		}
		return g.Check(a)
	}
}

// ValidateURL checks an endpoint URL when it is saved: https (http only
// for an allowed address or, with an allowlist, a host name, which the
// connection check then holds to the allowlist), a host, no credentials,
// no fragment, and — when the host is an IP address — one the guard
// accepts. Returns EInvalid.
func (g *Guard) ValidateURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, walletd.Errorf(walletd.EInvalid, "url is required.")
	}
	if len(raw) > MaxURLLength {
		return nil, walletd.Errorf(walletd.EInvalid, "url is longer than %d bytes.", MaxURLLength)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= 0x20 || c >= 0x7f {
			return nil, walletd.Errorf(walletd.EInvalid, "url must be printable ASCII without spaces.")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, walletd.Errorf(walletd.EInvalid, "url is not a valid URL.")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, walletd.Errorf(walletd.EInvalid, "url must be absolute: https://host/path.")
	}
	if u.User != nil {
		return nil, walletd.Errorf(walletd.EInvalid, "url must not carry credentials: the signature authenticates walletd.")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, walletd.Errorf(walletd.EInvalid, "url must not have a fragment.")
	}
	if p := u.Port(); p != "" {
		if n, err := parsePort(p); err != nil || n == 0 {
			return nil, walletd.Errorf(walletd.EInvalid, "url has an invalid port.")
		}
	}
	addr, ipErr := netip.ParseAddr(strings.Trim(u.Hostname(), "[]"))
	switch u.Scheme {
	case "https":
	case "http":
		if len(g.Allow) == 0 || (ipErr == nil && !g.Allowed(addr)) {
			return nil, walletd.Errorf(walletd.EInvalid, "url must use https.")
		}
	default:
		return nil, walletd.Errorf(walletd.EInvalid, "url must use https.")
	}
	if ipErr == nil {
		if err := g.Check(addr); err != nil {
			return nil, walletd.Errorf(walletd.EInvalid, "url points at %s, which walletd does not deliver to.", addr)
		}
	}
	return u, nil
}

func parsePort(s string) (int, error) {
	if len(s) > 5 {
		return 0, errors.New("port too long")
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("port not a number")
		}
		n = n*10 + int(s[i]-'0')
	}
	if n > 65535 {
		return 0, errors.New("port out of range")
	}
	return n, nil
}
