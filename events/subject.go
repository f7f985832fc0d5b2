package events

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// Subjects. Every event is published on a subject that says whose it is,
// so that a subscriber takes what it wants with one subscription:
//
//	<prefix>.w.<partition>.<wallet id>.<event key>   an event of one wallet
//	<prefix>.sys.<event key>                          an event of no wallet
//
// ledger.checkpoint and config.updated (and any later event that belongs
// to no wallet) are on the sys branch; every other event names its wallet.
//
// The relay publishes wallet events with the partition token "_"
// (Unpartitioned). The stream's subject transform (PartitionTransform)
// stores them with the wallet's partition instead: 0 … N-1, computed by
// the NATS server as partition(N, wallet id) (Partition computes the same
// number). So a plain subscriber sees "_", and a JetStream consumer sees
// the number, and both take the same filters:
//
//	<prefix>.w.*.<wallet id>.>         every event of one wallet
//	<prefix>.w.*.*.wallet.credited     one event type across all wallets
//	<prefix>.w.*.*.wallet.withdrawal.* one family (requested, approved, rejected)
//	<prefix>.w.3.>                     partition 3 (JetStream consumers only)
//	<prefix>.sys.>                     the events of no wallet
//
// Messages stored before this scheme have the subject <prefix>.<event
// key> (legacy); ParseSubject and KeyFromSubject read them too. No event
// key starts with a "w" or "sys" token, so the three forms never collide.
const (
	// WalletBranch is the token after the prefix on a wallet's events.
	WalletBranch = "w"
	// SystemBranch is the token after the prefix on events of no wallet.
	SystemBranch = "sys"
	// Unpartitioned is the partition token of a wallet event as published,
	// before the stream assigns its partition.
	Unpartitioned = "_"
	// MaxPartitions is the most partitions a stream may have.
	MaxPartitions = 1024
)

// Subject returns the subject the relay publishes an event on: the
// wallet's branch, unpartitioned, or the sys branch when wallet is "".
//
//	Subject("walletd", "wal_1", "wallet.credited") = "walletd.w._.wal_1.wallet.credited"
//	Subject("walletd", "", "ledger.checkpoint")    = "walletd.sys.ledger.checkpoint"
func Subject(prefix, wallet, key string) string {
	if wallet == "" {
		return prefix + "." + SystemBranch + "." + key
	}
	return prefix + "." + WalletBranch + "." + Unpartitioned + "." + walletToken(wallet) + "." + key
}

// StreamSubjects returns the subject filter of every event under prefix,
// in all three forms: the stream's subjects and the filter of walletd's
// own consumers.
func StreamSubjects(prefix string) string { return prefix + ".>" }

// SubjectParts is what a subject says of its event.
type SubjectParts struct {
	Key       string // the event key
	Wallet    string // the wallet id; "" on the sys branch and on legacy subjects
	Partition string // "0" … "N-1" as stored, Unpartitioned as published, "" for no wallet
	Legacy    bool   // <prefix>.<event key>: stored before wallets were in subjects
}

// ParseSubject reads a subject under prefix in any of its forms. It
// reports false when the subject is not under prefix or names no event.
func ParseSubject(prefix, subject string) (SubjectParts, bool) {
	rest, ok := strings.CutPrefix(subject, prefix+".")
	if !ok || rest == "" {
		return SubjectParts{}, false
	}
	branch, tail, _ := strings.Cut(rest, ".")
	switch branch {
	case WalletBranch:
		part, tail, ok1 := strings.Cut(tail, ".")
		wallet, key, ok2 := strings.Cut(tail, ".")
		if !ok1 || !ok2 || part == "" || wallet == "" || key == "" {
			return SubjectParts{}, false
		}
		return SubjectParts{Key: key, Wallet: walletFromToken(wallet), Partition: part}, true
	case SystemBranch:
		if tail == "" {
			return SubjectParts{}, false
		}
		return SubjectParts{Key: tail}, true
	}
	return SubjectParts{Key: rest, Legacy: true}, true
}

// KeyFromSubject returns the event key of a subject under prefix, in any
// of its forms.
func KeyFromSubject(prefix, subject string) (string, bool) {
	p, ok := ParseSubject(prefix, subject)
	return p.Key, ok
}

// Partition returns the partition, 0 … n-1, of a wallet among n: the
// number the stream's subject transform puts in its events' subjects.
// It is NATS's partition function: the FNV-1a 32-bit hash of the wallet's
// subject token, modulo n.
func Partition(wallet string, n int) int {
	if n <= 0 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(walletToken(wallet)))
	return int(h.Sum32() % uint32(n))
}

// PartitionTransform returns the stream subject transform that assigns
// wallet events to n partitions: it maps the subjects the relay publishes
// (<prefix>.w._.<wallet>.<key>) to <prefix>.w.<partition>.<wallet>.<key>.
// Subjects of the sys branch and legacy ones do not match its source and
// are stored as they are.
func PartitionTransform(prefix string, n int) (source, destination string) {
	b := prefix + "." + WalletBranch + "."
	return b + Unpartitioned + ".*.>", b + "{{partition(" + strconv.Itoa(n) + ",1)}}.{{wildcard(1)}}.>"
}

// walletToken makes a wallet id a subject token. walletd's ids (wal_ and a
// KSUID) are tokens already; anything else has '%', '.', '*', '>' and
// white space escaped as %XX, so that no id breaks the subject.
func walletToken(id string) string {
	if !strings.ContainsAny(id, "%.*> \t\r\n") {
		return id
	}
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		switch c := id[i]; c {
		case '%', '.', '*', '>', ' ', '\t', '\r', '\n':
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// walletFromToken is the inverse of walletToken.
func walletFromToken(tok string) string {
	if !strings.Contains(tok, "%") {
		return tok
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] == '%' && i+2 < len(tok) {
			if v, err := strconv.ParseUint(tok[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(tok[i])
	}
	return b.String()
}
