package ledger

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math/bits"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
)

// walletBooks replays balances per wallet while Verify walks the chain.
// It is the live memory of a verify run, one book per wallet, so it holds
// fixed-size records without pointers: the books in one slice, in the
// order the wallets were opened, and an index from each wallet's key to
// its book - about 55 to 90 bytes per wallet, depending on where the
// index's map stands between two growths (TestWalletBooks_BytesPerWallet;
// a map from id strings to books took 150 to 200).
//
//   - A wallet id the writer made, "wal_" and a KSUID, is keyed by the
//     KSUID's 20 bytes. Only the canonical text counts as one (see
//     parseKSUID), so two different ids never share a key. Any other id
//     (a ledger from elsewhere, a tampered one) is keyed by its text in
//     other: it verifies the same, with a string per wallet more.
//   - A book holds the owner and currency a wallet must keep as a hash
//     with a seed of the run's own, which no one writing entries can know
//     (its top 56 bits, beside the wallet's scale and a flag), and the
//     balance and held amount in minor units. A wallet whose amounts
//     outgrow int64 (MaxAmountDigits at scale 8) keeps them in bigs.
type walletBooks struct {
	index map[[20]byte]uint32           // KSUID → position in books
	other map[string]uint32             // any other wallet id → position in books
	books []book                        // in the order the wallets were opened
	bigs  map[uint32][2]decimal.Decimal // balance and held of books with tagBig
	seed  maphash.Seed
}

// book is one wallet's state. tag is the owner hash's top 56 bits, the
// amounts' scale (bits 1-7; parseAmountText allows at most 38 decimals)
// and tagBig.
type book struct {
	tag           uint64
	balance, held int64 // minor units at the scale; see tagBig
}

const (
	tagBig       = 1 // balance and held are in walletBooks.bigs
	tagOwnerMask = ^uint64(0xff)
)

func (b book) scale() int { return int(b.tag>>1) & 0x7f }

func newWalletBooks() *walletBooks {
	return &walletBooks{index: make(map[[20]byte]uint32), other: make(map[string]uint32),
		bigs: make(map[uint32][2]decimal.Decimal), seed: maphash.MakeSeed()}
}

// walletIDPrefix starts the wallet ids the writer makes (ledger/wallet.go).
const walletIDPrefix = "wal_"

// find returns the position of wallet id's book; false if it has none.
func (w *walletBooks) find(id string) (uint32, bool) {
	if k, ok := parseKSUID(id); ok {
		i, found := w.index[k]
		return i, found
	}
	i, found := w.other[id]
	return i, found
}

// add gives wallet id a new book, which must then be set with put.
func (w *walletBooks) add(id string) uint32 {
	i := uint32(len(w.books))
	w.books = append(w.books, book{})
	if k, ok := parseKSUID(id); ok {
		w.index[k] = i
	} else {
		w.other[id] = i
	}
	return i
}

// parseKSUID returns the 20 bytes of the KSUID in a wallet id
// walletIDPrefix + 27 base62 digits (0-9, A-Z, a-z) whose number fits in
// 160 bits: exactly the text ksuid.KSUID.String makes, zero-padded, so
// the bytes name one id. (ksuid.Parse also decodes other characters, and
// takes a third of verify's time per entry with the check that rules
// them out.)
func parseKSUID(id string) (k [20]byte, ok bool) {
	if len(id) != len(walletIDPrefix)+27 || id[:len(walletIDPrefix)] != walletIDPrefix {
		return k, false
	}
	// The digits are taken 10 at a time (62^10 < 2^60) into a word, and
	// the number (hi, mid, lo) = (hi, mid, lo)*62^n + word; hi stays below
	// 2^33 (62^27 < 2^161) and is 0 until the last word, so it cannot
	// overflow.
	var hi, mid, lo uint64
	for i := len(walletIDPrefix); i < len(id); {
		var word, scale uint64 = 0, 1
		for end := min(i+10, len(id)); i < end; i++ {
			c := id[i]
			var v uint64
			switch {
			case c >= '0' && c <= '9':
				v = uint64(c - '0')
			case c >= 'A' && c <= 'Z':
				v = uint64(c-'A') + 10
			case c >= 'a' && c <= 'z':
				v = uint64(c-'a') + 36
			default:
				return k, false
			}
			word, scale = word*62+v, scale*62
		}
		c1, l := bits.Mul64(lo, scale)
		l, carry := bits.Add64(l, word, 0)
		c1 += carry
		c2, m := bits.Mul64(mid, scale)
		m, carry = bits.Add64(m, c1, 0)
		hi = hi*scale + c2 + carry
		mid, lo = m, l
	}
	if hi >= 1<<32 {
		return k, false
	}
	binary.BigEndian.PutUint32(k[0:4], uint32(hi))
	binary.BigEndian.PutUint64(k[4:12], mid)
	binary.BigEndian.PutUint64(k[12:20], lo)
	return k, true
}

// owner hashes the user id and currency of e.
func (w *walletBooks) owner(e *walletd.Entry) uint64 {
	var h maphash.Hash
	h.SetSeed(w.seed)
	h.WriteString(e.UserID)
	h.WriteByte(0)
	h.WriteString(e.Currency)
	return h.Sum64() & tagOwnerMask
}

// amounts returns the balance and held amount of b, book i.
func (w *walletBooks) amounts(i uint32, b book) (bal, held amount) {
	if b.tag&tagBig != 0 {
		d := w.bigs[i]
		return amount{big: &d[0], scale: b.scale()}, amount{big: &d[1], scale: b.scale()}
	}
	return amount{minor: b.balance, scale: b.scale()}, amount{minor: b.held, scale: b.scale()}
}

// put sets book i: owner (a hash from owner()) and the amounts, whose
// scale is the wallet's.
func (w *walletBooks) put(i uint32, owner uint64, bal, held amount) {
	b := book{tag: owner | uint64(bal.scale)<<1, balance: bal.minor, held: held.minor}
	if bal.big != nil || held.big != nil {
		b.tag |= tagBig
		b.balance, b.held = 0, 0
		w.bigs[i] = [2]decimal.Decimal{bal.dec(), held.dec()}
	} else if len(w.bigs) > 0 {
		delete(w.bigs, i)
	}
	w.books[i] = b
}

// apply checks e against its wallet's book and moves the book on. It
// returns a problem, or "".
func (w *walletBooks) apply(e *walletd.Entry) string {
	if e.Kind == walletd.KindConfig {
		if e.WalletID != "" || e.UserID != "" || e.Amount != "" || e.BalanceAfter != "" || e.HeldAfter != "" {
			return "a config entry must name no wallet and carry no amounts"
		}
		return ""
	}
	amt, ok1 := parseAmountText(e.Amount)
	bal, ok2 := parseAmountText(e.BalanceAfter)
	held, ok3 := parseAmountText(e.HeldAfter)
	if !ok1 || !ok2 || !ok3 || amt.scale != bal.scale || bal.scale != held.scale {
		return "amount, balance_after or held_after is not a fixed-scale decimal"
	}
	i, opened := w.find(e.WalletID)
	if e.Kind == walletd.KindOpen {
		if opened {
			return fmt.Sprintf("wallet %s opened a second time", e.WalletID)
		} else if !amt.isZero() || !bal.isZero() || !held.isZero() {
			return "an open entry must have zero amount, balance and held"
		}
		w.put(w.add(e.WalletID), w.owner(e), bal, held)
		return ""
	}
	owner := w.owner(e)
	var b book
	if opened {
		b = w.books[i]
	}
	if !opened {
		return fmt.Sprintf("wallet %s is used before it is opened", e.WalletID)
	} else if owner != b.tag&tagOwnerMask {
		return fmt.Sprintf("wallet %s changes owner or currency", e.WalletID)
	} else if amt.scale != b.scale() {
		return "amounts change scale within one wallet"
	}
	wantBal, wantHeld := w.amounts(i, b)
	switch e.Kind {
	case walletd.KindCredit:
		wantBal = wantBal.add(amt)
	case walletd.KindDebit:
		wantBal = wantBal.sub(amt)
	case walletd.KindHold:
		wantHeld = wantHeld.add(amt)
	case walletd.KindRelease:
		wantHeld = wantHeld.sub(amt)
	case walletd.KindSettle:
		wantBal, wantHeld = wantBal.sub(amt), wantHeld.sub(amt)
	case walletd.KindNote:
		// moves nothing; its amount is what the step concerned
	case walletd.KindFreeze, walletd.KindUnfreeze:
		if !amt.isZero() {
			return "a freeze or unfreeze entry must have a zero amount"
		}
	default:
		return fmt.Sprintf("unknown entry kind %q", e.Kind)
	}
	switch e.Kind {
	case walletd.KindCredit, walletd.KindDebit, walletd.KindHold, walletd.KindRelease, walletd.KindSettle:
		if amt.isZero() {
			return fmt.Sprintf("a %s of zero", e.Kind)
		}
	}
	if held.negative() || amt.negative() {
		return "a negative amount or held_after"
	}
	if !wantBal.equal(bal) || !wantHeld.equal(held) {
		return fmt.Sprintf("balance_after %s / held_after %s do not follow from the previous entry of wallet %s and amount %s",
			e.BalanceAfter, e.HeldAfter, e.WalletID, e.Amount)
	}
	w.put(i, owner, bal, held)
	return ""
}
