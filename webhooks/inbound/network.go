package inbound

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Network rules: which addresses may deliver, how often, and the
// temporary blocks of addresses that keep failing signatures.

// ClientIP returns the client's address: the socket's peer, or, when the
// peer is one of trusted (the proxies in front of walletd), the last
// X-Forwarded-For address that is not itself a trusted proxy.
func ClientIP(remoteAddr string, xff []string, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(remoteAddr)
	var ip netip.Addr
	if err == nil {
		ip = peer.Addr().Unmap()
	} else if a, err := netip.ParseAddr(remoteAddr); err == nil {
		ip = a.Unmap()
	} else {
		return netip.Addr{}
	}
	if !inPrefixes(ip, trusted) {
		return ip
	}
	var hops []string
	for _, h := range xff {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return ip // a malformed hop: trust nothing beyond the last good one
		}
		a = a.Unmap()
		if !inPrefixes(a, trusted) {
			return a
		}
		ip = a
	}
	return ip
}

func inPrefixes(ip netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// limiter counts a gateway's requests in two sliding windows: a minute
// and the burst window.
type limiter struct {
	mu    sync.Mutex
	times map[string][]time.Time // per gateway, oldest first, within the last minute
}

func newLimiter() *limiter { return &limiter{times: map[string][]time.Time{}} }

// allow records a request of g at now and says whether it is within the
// gateway's limits; if not, it returns how long until one would be.
func (l *limiter) allow(g *Gateway, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.times[g.Name]
	cut := 0
	for cut < len(ts) && now.Sub(ts[cut]) >= time.Minute {
		cut++
	}
	ts = ts[cut:]
	window := time.Duration(g.BurstWindowSeconds) * time.Second
	inBurst := 0
	for i := len(ts) - 1; i >= 0 && now.Sub(ts[i]) < window; i-- {
		inBurst++
	}
	if len(ts) >= g.RatePerMinute {
		l.times[g.Name] = ts
		return false, ts[len(ts)-g.RatePerMinute].Add(time.Minute).Sub(now)
	}
	if inBurst >= g.Burst {
		l.times[g.Name] = ts
		return false, ts[len(ts)-g.Burst].Add(window).Sub(now)
	}
	l.times[g.Name] = append(ts, now)
	return true, 0
}

// blocker blocks an address for a while after repeated signature
// failures.
type blocker struct {
	mu       sync.Mutex
	max      int           // failures within window that block
	window   time.Duration // the failures' window
	duration time.Duration // how long a block lasts
	fails    map[netip.Addr][]time.Time
	until    map[netip.Addr]time.Time
}

func newBlocker(max int, window, duration time.Duration) *blocker {
	return &blocker{max: max, window: window, duration: duration, fails: map[netip.Addr][]time.Time{}, until: map[netip.Addr]time.Time{}}
}

// blocked says whether ip is blocked at now, and for how long still.
func (b *blocker) blocked(ip netip.Addr, now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.until[ip]
	if !ok {
		return false, 0
	}
	if !now.Before(u) {
		delete(b.until, ip)
		return false, 0
	}
	return true, u.Sub(now)
}

// fail records a signature failure of ip and says whether it is now
// blocked.
func (b *blocker) fail(ip netip.Addr, now time.Time) bool {
	if b.max <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	fs := b.fails[ip]
	keep := fs[:0]
	for _, t := range fs {
		if now.Sub(t) < b.window {
			keep = append(keep, t)
		}
	}
	keep = append(keep, now)
	if len(keep) >= b.max {
		b.until[ip] = now.Add(b.duration)
		delete(b.fails, ip)
		return true
	}
	b.fails[ip] = keep
	if len(b.fails) > 100000 { // bounded memory under a spray of addresses
		for k := range b.fails {
			delete(b.fails, k)
			break
		}
	}
	return false
}
