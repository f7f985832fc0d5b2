package keyfile_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/keyfile"
)

// TestGenerateCheckpointKey writes a key pair, reads it back and signs a
// checkpoint with it; the loaders refuse other keys and other files.
func TestGenerateCheckpointKey(t *testing.T) {
	dir := t.TempDir()
	privPath, pubPath := filepath.Join(dir, "checkpoint.key"), filepath.Join(dir, "checkpoint.pub")
	if err := keyfile.GenerateCheckpointKey(privPath, pubPath); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{privPath: 0o600, pubPath: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), fi.Mode().Perm(), mode)
		}
	}
	privPEM, _ := os.ReadFile(privPath)
	pubPEM, _ := os.ReadFile(pubPath)
	if !bytes.HasPrefix(privPEM, []byte("-----BEGIN PRIVATE KEY-----\n")) || !bytes.HasPrefix(pubPEM, []byte("-----BEGIN PUBLIC KEY-----\n")) {
		t.Fatalf("not PKCS #8 / PKIX PEM:\n%s\n%s", privPEM, pubPEM)
	}
	priv, err := keyfile.LoadCheckpointKey(privPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keyfile.LoadCheckpointPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("the public key file does not match the private key file")
	}
	cp := &walletd.Checkpoint{LedgerID: "ldg_abc", Seq: 1000, CreatedAt: time.Now()}
	cp.Sign(priv)
	if !cp.Verify(pub) {
		t.Fatal("a checkpoint signed with the loaded key does not verify with the loaded public key")
	}

	t.Run("FreshKeys", func(t *testing.T) {
		d := t.TempDir()
		if err := keyfile.GenerateCheckpointKey(filepath.Join(d, "a"), filepath.Join(d, "b")); err != nil {
			t.Fatal(err)
		}
		other, _ := keyfile.LoadCheckpointKey(filepath.Join(d, "a"))
		if other.Equal(priv) {
			t.Fatal("two generated keys are equal")
		}
	})

	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPKIX, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	write := func(name string, b []byte) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ecPriv := write("ec.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPKCS8}))
	ecPub := write("ec.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecPKIX}))
	notPEM := write("junk", []byte("not a key"))
	missing := filepath.Join(dir, "missing")

	t.Run("ErrLoadCheckpointKey", func(t *testing.T) {
		for name, p := range map[string]string{"PublicKeyFile": pubPath, "ECDSA": ecPriv, "NotPEM": notPEM, "Missing": missing} {
			if _, err := keyfile.LoadCheckpointKey(p); err == nil {
				t.Errorf("%s: LoadCheckpointKey succeeded", name)
			}
		}
	})
	t.Run("ErrLoadCheckpointPublicKey", func(t *testing.T) {
		for name, p := range map[string]string{"PrivateKeyFile": privPath, "ECDSA": ecPub, "NotPEM": notPEM, "Missing": missing} {
			if _, err := keyfile.LoadCheckpointPublicKey(p); err == nil {
				t.Errorf("%s: LoadCheckpointPublicKey succeeded", name)
			}
		}
	})
}
