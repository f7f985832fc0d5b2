package ledger_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/keyfile"
)

func testCheckpoint() *walletd.Checkpoint {
	var h walletd.Hash
	for i := range h {
		h[i] = byte(0xa0 + i)
	}
	return &walletd.Checkpoint{LedgerID: "ldg_abc", Seq: 1000, HeadHash: h,
		CreatedAt: time.Date(2024, 5, 1, 14, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))}
}

func TestCheckpoint_Message(t *testing.T) {
	cp := testCheckpoint()
	want := "walletd.checkpoint.v1\nldg_abc\n1000\n" + cp.HeadHash.String() + "\n2024-05-01T12:00:00.123456Z"
	if got := string(cp.Message()); got != want {
		t.Fatalf("Message() = %q, want %q", got, want)
	}
}

func TestCheckpoint_Verify(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cp := testCheckpoint()
	cp.Sign(priv)
	if len(cp.Signature) != ed25519.SignatureSize || !cp.Verify(pub) {
		t.Fatal("a fresh signature does not verify")
	}
	if !ed25519.Verify(pub, cp.Message(), cp.Signature) {
		t.Fatal("the signature is not plain Ed25519 over Message()")
	}
	t.Run("UTCNormalised", func(t *testing.T) {
		c2 := *cp
		c2.CreatedAt = cp.CreatedAt.UTC().Truncate(time.Microsecond)
		if !c2.Verify(pub) {
			t.Fatal("the same instant in UTC does not verify")
		}
	})
	for name, change := range map[string]func(c *walletd.Checkpoint){
		"ErrLedgerID":   func(c *walletd.Checkpoint) { c.LedgerID = "ldg_abd" },
		"ErrSeq":        func(c *walletd.Checkpoint) { c.Seq++ },
		"ErrHeadHash":   func(c *walletd.Checkpoint) { c.HeadHash[31] ^= 1 },
		"ErrCreatedAt":  func(c *walletd.Checkpoint) { c.CreatedAt = c.CreatedAt.Add(time.Microsecond) },
		"ErrSignature":  func(c *walletd.Checkpoint) { c.Signature[63] ^= 1 },
		"ErrShortSig":   func(c *walletd.Checkpoint) { c.Signature = c.Signature[:63] },
		"ErrLongSig":    func(c *walletd.Checkpoint) { c.Signature = append(c.Signature, 0) },
		"ErrNoSig":      func(c *walletd.Checkpoint) { c.Signature = nil },
		"ErrOtherKey":   func(c *walletd.Checkpoint) { _, k, _ := ed25519.GenerateKey(rand.Reader); c.Sign(k) },
		"ErrZeroSigned": func(c *walletd.Checkpoint) { c.Signature = make([]byte, 64) },
	} {
		t.Run(name, func(t *testing.T) {
			c := *cp
			c.Signature = append([]byte(nil), cp.Signature...)
			change(&c)
			if c.Verify(pub) {
				t.Fatal("Verify accepted a changed checkpoint")
			}
		})
	}
}

// TestCheckpoint_Vector checks the frozen checkpoint of
// testdata/vectors.json and the key, message and signature files beside it
// that docs/ledger-format.md feeds to openssl.
func TestCheckpoint_Vector(t *testing.T) {
	v := loadVectors(t)
	cp := v.checkpoint(t)
	pub, priv := v.checkpointKeys(t)
	if got := string(cp.Message()); got != v.Checkpoint.Message {
		t.Fatalf("Message() = %q, vectors say %q", got, v.Checkpoint.Message)
	}
	if cp.HeadHash.String() != v.Entries[len(v.Entries)-1].Hash || cp.Seq != v.Entries[len(v.Entries)-1].Seq {
		t.Fatal("the vector checkpoint does not sign the vector head")
	}
	if !cp.Verify(pub) {
		t.Fatal("the vector signature does not verify")
	}
	resigned := *cp
	resigned.Sign(priv)
	if !bytes.Equal(resigned.Signature, cp.Signature) {
		t.Fatalf("signing again gives %x, vectors say %s (Ed25519 is deterministic)", resigned.Signature, v.Checkpoint.SignatureHex)
	}

	filePriv, err := keyfile.LoadCheckpointKey("testdata/checkpoint_vector.key")
	if err != nil {
		t.Fatal(err)
	}
	if !filePriv.Equal(priv) {
		t.Fatal("testdata/checkpoint_vector.key is not the vector key")
	}
	filePub, err := keyfile.LoadCheckpointPublicKey("testdata/checkpoint_vector.pub")
	if err != nil {
		t.Fatal(err)
	}
	if !filePub.Equal(pub) {
		t.Fatal("testdata/checkpoint_vector.pub is not the vector key")
	}
	if msg, _ := os.ReadFile("testdata/checkpoint_vector.msg"); string(msg) != v.Checkpoint.Message {
		t.Fatalf("testdata/checkpoint_vector.msg = %q", msg)
	}
	if sig, _ := os.ReadFile("testdata/checkpoint_vector.sig"); hex.EncodeToString(sig) != v.Checkpoint.SignatureHex {
		t.Fatalf("testdata/checkpoint_vector.sig = %x", sig)
	}
}

// TestCheckpoint_OpenSSL runs the openssl commands of docs/ledger-format.md
// on a checkpoint signed by walletd, when openssl is installed.
func TestCheckpoint_OpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	privPath, pubPath := filepath.Join(dir, "checkpoint.key"), filepath.Join(dir, "checkpoint.pub")
	if err := keyfile.GenerateCheckpointKey(privPath, pubPath); err != nil {
		t.Fatal(err)
	}
	priv, _ := keyfile.LoadCheckpointKey(privPath)
	cp := testCheckpoint()
	cp.Sign(priv)
	msg, sig := filepath.Join(dir, "checkpoint.msg"), filepath.Join(dir, "checkpoint.sig")
	if err := os.WriteFile(msg, cp.Message(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sig, cp.Signature, 0o644); err != nil {
		t.Fatal(err)
	}
	verify := func(msg string) ([]byte, error) {
		return exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin", "-in", msg, "-sigfile", sig).CombinedOutput()
	}
	out, err := verify(msg)
	if err != nil {
		if bytes.Contains(out, []byte("rawin")) || bytes.Contains(out, []byte("nknown")) {
			t.Skipf("this openssl cannot verify Ed25519: %s", out)
		}
		t.Fatalf("openssl pkeyutl -verify: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("Signature Verified Successfully")) {
		t.Fatalf("openssl: %s", out)
	}

	t.Run("ErrTamperedMessage", func(t *testing.T) {
		c2 := *cp
		c2.Seq++
		bad := filepath.Join(dir, "bad.msg")
		if err := os.WriteFile(bad, c2.Message(), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := verify(bad); err == nil {
			t.Fatalf("openssl accepted a tampered message: %s", out)
		}
	})
	t.Run("SameSignature", func(t *testing.T) {
		out, err := exec.Command(openssl, "pkeyutl", "-sign", "-inkey", privPath, "-rawin", "-in", msg).Output()
		if err != nil {
			t.Fatalf("openssl pkeyutl -sign: %v", err)
		}
		if !bytes.Equal(out, cp.Signature) {
			t.Fatalf("openssl signs %x, walletd %x", out, cp.Signature)
		}
	})
	t.Run("Vector", func(t *testing.T) {
		out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "testdata/checkpoint_vector.pub", "-rawin",
			"-in", "testdata/checkpoint_vector.msg", "-sigfile", "testdata/checkpoint_vector.sig").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl on the vector: %v\n%s", err, out)
		}
	})
}
