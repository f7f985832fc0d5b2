package ledger_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/ledger"
)

// vectorFile is ledger/testdata/vectors.json: frozen test vectors of the
// walletd.entry.v1 encoding, the chain and a checkpoint. The values were
// computed once with the code and cross-checked with an independent
// implementation; they must never be regenerated to make a test pass.
type vectorFile struct {
	Description      string        `json:"description"`
	CanonicalVersion string        `json:"canonical_version"`
	KeyID            string        `json:"key_id"`
	KeyHex           string        `json:"key_hex"`
	Entries          []vectorEntry `json:"entries"`
	Checkpoint       struct {
		LedgerID          string `json:"ledger_id"`
		Seq               uint64 `json:"seq"`
		HeadHash          string `json:"head_hash"`
		CreatedAt         string `json:"created_at"`
		Message           string `json:"message"`
		PrivateKeySeedHex string `json:"private_key_seed_hex"`
		PublicKeyHex      string `json:"public_key_hex"`
		SignatureHex      string `json:"signature_hex"`
	} `json:"checkpoint"`
}

type vectorEntry struct {
	Seq            uint64 `json:"seq"`
	ID             string `json:"id"`
	EventID        string `json:"event_id"`
	Kind           string `json:"kind"`
	Type           string `json:"type"`
	WalletID       string `json:"wallet_id"`
	UserID         string `json:"user_id"`
	Email          string `json:"email"`
	Currency       string `json:"currency"`
	Amount         string `json:"amount"`
	BalanceAfter   string `json:"balance_after"`
	HeldAfter      string `json:"held_after"`
	Reason         string `json:"reason"`
	OrderID        string `json:"order_id"`
	TransferID     string `json:"transfer_id"`
	Counterparty   string `json:"counterparty"`
	Metadata       string `json:"metadata"`
	IdempotencyKey string `json:"idempotency_key"`
	RequestHash    string `json:"request_hash"`
	CreatedAt      string `json:"created_at"`
	KeyID          string `json:"key_id"`
	PrevHash       string `json:"prev_hash"`
	CanonicalHex   string `json:"canonical_hex"`
	Hash           string `json:"hash"`
}

func loadVectors(tb testing.TB) *vectorFile {
	tb.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a field the test does not check is a field nobody checks
	var v vectorFile
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("testdata/vectors.json: %v", err)
	}
	if len(v.Entries) < 4 {
		tb.Fatalf("testdata/vectors.json holds %d entries", len(v.Entries))
	}
	return &v
}

func (v *vectorFile) key(tb testing.TB) []byte {
	tb.Helper()
	k, err := hex.DecodeString(v.KeyHex)
	if err != nil || len(k) != 32 {
		tb.Fatalf("key_hex %q: %v", v.KeyHex, err)
	}
	return k
}

// entry builds the ledger.Entry a vector describes, hashes excluded.
func (ve *vectorEntry) entry(tb testing.TB) *walletd.Entry {
	tb.Helper()
	at, err := time.Parse(walletd.TimeFormat, ve.CreatedAt)
	if err != nil {
		tb.Fatalf("seq %d created_at: %v", ve.Seq, err)
	}
	prev, err := walletd.ParseHash(ve.PrevHash)
	if err != nil {
		tb.Fatalf("seq %d prev_hash: %v", ve.Seq, err)
	}
	return &walletd.Entry{
		Seq: ve.Seq, ID: ve.ID, EventID: ve.EventID, Kind: ve.Kind, Type: ve.Type,
		WalletID: ve.WalletID, UserID: ve.UserID, Email: ve.Email, Currency: ve.Currency,
		Amount: ve.Amount, BalanceAfter: ve.BalanceAfter, HeldAfter: ve.HeldAfter,
		Reason: ve.Reason, OrderID: ve.OrderID, TransferID: ve.TransferID,
		Counterparty: ve.Counterparty, Metadata: ve.Metadata, IdempotencyKey: ve.IdempotencyKey,
		RequestHash: ve.RequestHash, CreatedAt: at, KeyID: ve.KeyID, PrevHash: prev,
	}
}

// TestEntry_Canonical_Vectors checks the frozen vectors against the code:
// the canonical bytes of every entry, every hash, and the links between them.
func TestEntry_Canonical_Vectors(t *testing.T) {
	v := loadVectors(t)
	if v.CanonicalVersion != walletd.CanonicalVersion {
		t.Fatalf("vectors are for %q, the code encodes %q", v.CanonicalVersion, walletd.CanonicalVersion)
	}
	key := v.key(t)
	hasher := ledger.NewHasher(key) // one Hasher for all: its buffer reuse must not leak between entries
	var prev walletd.Hash
	var chain []*walletd.Entry
	for i := range v.Entries {
		ve := &v.Entries[i]
		t.Run(fmt.Sprintf("Seq%d", ve.Seq), func(t *testing.T) {
			if ve.Seq != uint64(i+1) {
				t.Fatalf("vector %d has seq %d", i, ve.Seq)
			}
			e := ve.entry(t)
			if e.PrevHash != prev {
				t.Fatalf("prev_hash %s, want the previous hash %s", e.PrevHash, prev)
			}
			if got := hex.EncodeToString(e.Canonical()); got != ve.CanonicalHex {
				t.Fatalf("canonical encoding changed:\n got %s\nwant %s", got, ve.CanonicalHex)
			}
			if got := hex.EncodeToString(e.AppendCanonical([]byte("prefix"))); got != hex.EncodeToString([]byte("prefix"))+ve.CanonicalHex {
				t.Fatalf("AppendCanonical does not append: %s", got)
			}
			want, err := walletd.ParseHash(ve.Hash)
			if err != nil {
				t.Fatal(err)
			}
			if got := ledger.ComputeHash(key, e); got != want {
				t.Fatalf("ComputeHash = %s, want %s", got, want)
			}
			if got := hasher.Sum(e); got != want {
				t.Fatalf("Hasher.Sum = %s, want %s", got, want)
			}
			e.Hash = want
			chain = append(chain, e)
		})
		h, _ := walletd.ParseHash(ve.Hash)
		prev = h
	}

	t.Run("Verify", func(t *testing.T) {
		cp := v.checkpoint(t)
		pub, _ := v.checkpointKeys(t)
		kr := &walletd.Keyring{Active: v.KeyID, Keys: []walletd.Key{{ID: v.KeyID, Secret: key}}}
		rep, err := ledger.Verify(context.Background(), &sliceIter{entries: chain}, []*walletd.Checkpoint{cp},
			ledger.VerifyOptions{Keyring: kr, PublicKey: pub, LedgerID: cp.LedgerID})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK || rep.HeadSeq != uint64(len(v.Entries)) || rep.HeadHash != v.Entries[len(v.Entries)-1].Hash || rep.Checkpoints != 1 {
			t.Fatalf("Verify(vectors) = %+v", rep)
		}
	})
}

// TestEntry_Canonical_Doc checks that docs/ledger-format.md publishes the
// same vectors as testdata/vectors.json: every hash, the canonical bytes of
// entry 1, the key and the checkpoint. It also refuses any other 64-digit
// hex value in the doc, so a stale vector cannot linger there.
func TestEntry_Canonical_Doc(t *testing.T) {
	v := loadVectors(t)
	b, err := os.ReadFile("../docs/ledger-format.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	squashed := strings.Join(strings.Fields(doc), "")

	known := map[string]bool{v.KeyHex: true, v.Checkpoint.HeadHash: true, v.Checkpoint.PrivateKeySeedHex: true, v.Checkpoint.PublicKeyHex: true}
	for _, ve := range v.Entries {
		known[ve.Hash], known[ve.PrevHash] = true, true
		if ve.RequestHash != "" {
			known[ve.RequestHash] = true
		}
		if !strings.Contains(doc, ve.Hash) {
			t.Errorf("docs/ledger-format.md lacks the hash of seq %d: %s", ve.Seq, ve.Hash)
		}
		if !strings.Contains(doc, "| "+strconv.FormatUint(ve.Seq, 10)+" | `"+ve.PrevHash+"` | `"+ve.Hash+"` |") {
			t.Errorf("docs/ledger-format.md: the chain table row of seq %d does not read prev_hash %s, hash %s", ve.Seq, ve.PrevHash, ve.Hash)
		}
		for _, field := range []string{ve.ID, ve.EventID, ve.WalletID, ve.CreatedAt, ve.IdempotencyKey, ve.TransferID} {
			if field != "" && !strings.Contains(doc, field) {
				t.Errorf("docs/ledger-format.md lacks %q of seq %d", field, ve.Seq)
			}
		}
	}
	if !strings.Contains(squashed, v.Entries[0].CanonicalHex) {
		t.Errorf("docs/ledger-format.md lacks the canonical hex of entry 1:\n%s", v.Entries[0].CanonicalHex)
	}
	if !strings.Contains(doc, v.KeyHex) {
		t.Errorf("docs/ledger-format.md lacks the key %s", v.KeyHex)
	}
	if !strings.Contains(doc, keyfile.EncodeSecret(v.key(t))) {
		t.Errorf("docs/ledger-format.md lacks the base64 keyring form of the key, %s", keyfile.EncodeSecret(v.key(t)))
	}
	for _, s := range []string{v.Checkpoint.PublicKeyHex, v.Checkpoint.PrivateKeySeedHex, v.Checkpoint.LedgerID, v.Checkpoint.CreatedAt} {
		if !strings.Contains(doc, s) {
			t.Errorf("docs/ledger-format.md lacks checkpoint value %s", s)
		}
	}
	if !strings.Contains(squashed, v.Checkpoint.SignatureHex) {
		t.Errorf("docs/ledger-format.md lacks the checkpoint signature %s", v.Checkpoint.SignatureHex)
	}
	if !strings.Contains(doc, "```\n"+v.Checkpoint.Message+"\n```") {
		t.Errorf("docs/ledger-format.md lacks the checkpoint message block:\n%s", v.Checkpoint.Message)
	}
	if !strings.Contains(doc, "Message ("+strconv.Itoa(len(v.Checkpoint.Message))+" bytes") {
		t.Errorf("docs/ledger-format.md states the wrong checkpoint message length (want %d bytes)", len(v.Checkpoint.Message))
	}
	if !strings.Contains(doc, "encodes to "+strconv.Itoa(len(v.Entries[0].CanonicalHex)/2)) {
		t.Errorf("docs/ledger-format.md states the wrong length of entry 1's encoding (want %d)", len(v.Entries[0].CanonicalHex)/2)
	}
	// The long hex blocks are wrapped at 64 digits a line.
	for _, long := range []string{v.Entries[0].CanonicalHex, v.Checkpoint.SignatureHex} {
		for i := 0; i+64 <= len(long); i += 64 {
			known[long[i:i+64]] = true
		}
	}
	for _, h := range regexp.MustCompile(`\b[0-9a-f]{64}\b`).FindAllString(doc, -1) {
		if !known[h] {
			t.Errorf("docs/ledger-format.md holds a 64-digit hex value that is no vector: %s", h)
		}
	}
	// The byte-by-byte table of entry 1 must agree with its encoding.
	fields, err := decodeCanonical(mustHex(t, v.Entries[0].CanonicalHex))
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for i, f := range fields {
		var prefix [4]byte
		binary.BigEndian.PutUint32(prefix[:], uint32(len(f)))
		value := "(empty)"
		if f != "" {
			value = "`" + f + "`"
		}
		row := fmt.Sprintf("| %d | %d | `%x` | %s | %s |", i+1, off, prefix, canonicalFieldNames[i], value)
		if !strings.Contains(doc, row) {
			t.Errorf("docs/ledger-format.md: byte table row missing or wrong, want\n%s", row)
		}
		off += 4 + len(f)
	}
}

var canonicalFieldNames = []string{
	"version", "seq", "id", "event_id", "kind", "type", "wallet_id", "user_id", "email",
	"currency", "amount", "balance_after", "held_after", "reason", "order_id", "transfer_id",
	"counterparty", "metadata", "idempotency_key", "request_hash", "created_at", "key_id",
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// decodeCanonical splits a canonical encoding back into its fields: the
// test's own reading of the format in docs/ledger-format.md.
func decodeCanonical(b []byte) ([]string, error) {
	var fields []string
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("truncated length prefix at field %d", len(fields)+1)
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return nil, fmt.Errorf("field %d claims %d bytes, %d left", len(fields)+1, n, len(b))
		}
		fields = append(fields, string(b[:n]))
		b = b[n:]
	}
	if len(fields) != len(canonicalFieldNames) {
		return nil, fmt.Errorf("%d fields, want %d", len(fields), len(canonicalFieldNames))
	}
	return fields, nil
}

func TestEntry_Canonical(t *testing.T) {
	e := &walletd.Entry{Seq: 18446744073709551615, Kind: "credit", Amount: "1.00", KeyID: "k1",
		CreatedAt: time.Date(2024, 5, 1, 14, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))}
	fields, err := decodeCanonical(e.Canonical())
	if err != nil {
		t.Fatal(err)
	}
	if fields[0] != "walletd.entry.v1" {
		t.Errorf("version field %q", fields[0])
	}
	if fields[1] != "18446744073709551615" {
		t.Errorf("seq field %q", fields[1])
	}
	t.Run("TimeIsUTCMicroseconds", func(t *testing.T) {
		// Rendered in UTC, truncated (not rounded) to microseconds.
		if fields[20] != "2024-05-01T12:00:00.123456Z" {
			t.Fatalf("created_at field %q", fields[20])
		}
		e2 := *e
		e2.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond)
		if !bytes.Equal(e2.Canonical(), e.Canonical()) {
			t.Fatal("the same instant in another zone encodes differently")
		}
	})
	t.Run("EmptyFieldsAreZeroLength", func(t *testing.T) {
		for i, f := range fields {
			switch canonicalFieldNames[i] {
			case "version", "seq", "kind", "amount", "created_at", "key_id":
			default:
				if f != "" {
					t.Errorf("field %s = %q, want empty", canonicalFieldNames[i], f)
				}
			}
		}
	})
	t.Run("HashExcludesHashField", func(t *testing.T) {
		key := []byte("0123456789abcdef0123456789abcdef")
		h1 := ledger.ComputeHash(key, e)
		e2 := *e
		e2.Hash = h1
		if ledger.ComputeHash(key, &e2) != h1 {
			t.Fatal("the hash depends on the Hash field")
		}
	})
}

func TestParseHash(t *testing.T) {
	var h walletd.Hash
	for i := range h {
		h[i] = byte(i * 7)
	}
	got, err := walletd.ParseHash(h.String())
	if err != nil || got != h {
		t.Fatalf("ParseHash(%s) = %s, %v", h, got, err)
	}
	if len(h.String()) != 64 || strings.ToLower(h.String()) != h.String() {
		t.Fatalf("Hash.String() = %q", h.String())
	}
	if got, err := walletd.ParseHash(strings.ToUpper(h.String())); err != nil || got != h {
		t.Fatalf("ParseHash(upper case) = %s, %v", got, err)
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, s := range []string{"", "00", h.String()[:62], h.String() + "00", "zz" + h.String()[2:]} {
			if _, err := walletd.ParseHash(s); walletd.ErrorCode(err) != walletd.EInvalid {
				t.Errorf("ParseHash(%q) = %v, want %s", s, err, walletd.EInvalid)
			}
		}
	})
}

// FuzzCanonical checks that the canonical encoding is injective and that
// the hash covers every field. Two entries are built from the fuzzed
// strings; the second moves the boundary between two adjacent fields, the
// classic way to make a naive concatenation collide.
func FuzzCanonical(f *testing.F) {
	f.Add(uint64(1), int64(1714564800000000), "txn_a", "wph_b", "credit", "topup", uint8(0))
	f.Add(uint64(17), int64(0), "", "", "", "", uint8(3))
	f.Add(uint64(18446744073709551615), int64(-62135596800000000), "a\x00b", "\x00\x00\x00\x05", "{\"k\":\"v\"}", "é☕", uint8(17))
	f.Add(uint64(2), int64(253402300799999999), "ab", "c", "a", "bc", uint8(9))
	f.Add(uint64(10), int64(1714564800000001), "\xff\xfe", "x", "", "y", uint8(200))
	f.Fuzz(func(t *testing.T, seq uint64, micros int64, a, b, c, d string, shift uint8) {
		pool := []string{a, b, c, d, a + b, "", c + d}
		var texts [19]string
		for i := range texts {
			texts[i] = pool[(i+int(shift))%len(pool)]
		}
		at := fuzzTime(micros)
		var prev walletd.Hash
		copy(prev[:], a+b+c+d)
		e1 := entryFromTexts(seq, at, prev, texts)

		// Injective: the bytes decode back to exactly the inputs.
		enc := e1.Canonical()
		fields, err := decodeCanonical(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		want := expectedFields(seq, at, texts)
		for i := range want {
			if fields[i] != want[i] {
				t.Fatalf("field %s decodes to %q, want %q", canonicalFieldNames[i], fields[i], want[i])
			}
		}
		if len(fields[20]) != 27 {
			t.Fatalf("created_at %q is not 27 bytes", fields[20])
		}
		if back, err := time.Parse(walletd.TimeFormat, fields[20]); err != nil || !back.Equal(at) {
			t.Fatalf("created_at %q parses to %v, %v; want %v", fields[20], back, err, at)
		}

		// A second entry with one field boundary moved.
		j := int(shift) % (len(texts) - 1)
		texts2 := texts
		texts2[j], texts2[j+1] = texts[j]+texts[j+1], ""
		e2 := entryFromTexts(seq, at, prev, texts2)
		same := texts2 == texts
		key := []byte("fuzz-key-0123456789abcdef")
		h1, h2 := ledger.ComputeHash(key, e1), ledger.ComputeHash(key, e2)
		if bytes.Equal(enc, e2.Canonical()) != same {
			t.Fatalf("fields equal: %v, encodings equal: %v (moved boundary after field %d)", same, !same, j)
		}
		if (h1 == h2) != same {
			t.Fatalf("fields equal: %v, hashes equal: %v", same, h1 == h2)
		}

		// Any change to any field changes the hash.
		for i := range texts {
			for _, v := range mutations(texts[i]) {
				m := texts
				m[i] = v
				if ledger.ComputeHash(key, entryFromTexts(seq, at, prev, m)) == h1 {
					t.Fatalf("changing field %d from %q to %q leaves the hash unchanged", i, texts[i], v)
				}
			}
		}
		if ledger.ComputeHash(key, entryFromTexts(seq+1, at, prev, texts)) == h1 {
			t.Fatal("changing seq leaves the hash unchanged")
		}
		if ledger.ComputeHash(key, entryFromTexts(seq, at.Add(time.Microsecond), prev, texts)) == h1 {
			t.Fatal("changing created_at by 1µs leaves the hash unchanged")
		}
		for i := 0; i < walletd.HashSize; i += 7 {
			p := prev
			p[i] ^= 0x80
			if ledger.ComputeHash(key, entryFromTexts(seq, at, p, texts)) == h1 {
				t.Fatalf("changing prev_hash byte %d leaves the hash unchanged", i)
			}
		}
		if ledger.ComputeHash(append([]byte{}, key[:len(key)-1]...), e1) == h1 {
			t.Fatal("another key gives the same hash")
		}
	})
}

// fuzzTime maps any int64 to a microsecond instant in years 1 to 9999,
// the range the fixed-width time format covers.
func fuzzTime(micros int64) time.Time {
	lo := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
	span := hi - lo // one less than the number of instants, so hi itself is never hit; fine
	m := micros % span
	if m < 0 {
		m += span
	}
	return time.UnixMicro(lo + m).UTC()
}

func mutations(s string) []string {
	out := []string{s + "x", "\x00" + s}
	if s != "" {
		out = append(out, s[:len(s)-1])
		b := []byte(s)
		b[0] ^= 1
		out = append(out, string(b))
	}
	return out
}

// entryFromTexts fills the 19 text fields of an entry in canonical order.
func entryFromTexts(seq uint64, at time.Time, prev walletd.Hash, t [19]string) *walletd.Entry {
	return &walletd.Entry{
		Seq: seq, ID: t[0], EventID: t[1], Kind: t[2], Type: t[3], WalletID: t[4], UserID: t[5],
		Email: t[6], Currency: t[7], Amount: t[8], BalanceAfter: t[9], HeldAfter: t[10],
		Reason: t[11], OrderID: t[12], TransferID: t[13], Counterparty: t[14], Metadata: t[15],
		IdempotencyKey: t[16], RequestHash: t[17], CreatedAt: at, KeyID: t[18], PrevHash: prev,
	}
}

func expectedFields(seq uint64, at time.Time, t [19]string) []string {
	out := []string{walletd.CanonicalVersion, strconv.FormatUint(seq, 10)}
	out = append(out, t[:18]...)
	return append(out, at.UTC().Format(walletd.TimeFormat), t[18])
}

// sliceIter is an in-memory ledger.EntryIterator.
type sliceIter struct {
	entries []*walletd.Entry
	i       int
	err     error // returned once the entries run out
}

func (it *sliceIter) Next(e *walletd.Entry) (bool, error) {
	if it.i >= len(it.entries) {
		if it.err != nil {
			return false, it.err
		}
		return false, nil
	}
	*e = *it.entries[it.i]
	it.i++
	return true, nil
}

var errBoom = errors.New("boom")

func (v *vectorFile) checkpoint(tb testing.TB) *walletd.Checkpoint {
	tb.Helper()
	head, err := walletd.ParseHash(v.Checkpoint.HeadHash)
	if err != nil {
		tb.Fatal(err)
	}
	at, err := time.Parse(walletd.TimeFormat, v.Checkpoint.CreatedAt)
	if err != nil {
		tb.Fatal(err)
	}
	return &walletd.Checkpoint{LedgerID: v.Checkpoint.LedgerID, Seq: v.Checkpoint.Seq, HeadHash: head,
		CreatedAt: at, Signature: mustHex(tb, v.Checkpoint.SignatureHex)}
}

func (v *vectorFile) checkpointKeys(tb testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	tb.Helper()
	priv := ed25519.NewKeyFromSeed(mustHex(tb, v.Checkpoint.PrivateKeySeedHex))
	pub := priv.Public().(ed25519.PublicKey)
	if hex.EncodeToString(pub) != v.Checkpoint.PublicKeyHex {
		tb.Fatalf("public key of the seed is %x, vectors say %s", pub, v.Checkpoint.PublicKeyHex)
	}
	return pub, priv
}
