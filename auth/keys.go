package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// KeyRetention is how long a key is kept after a newer key replaced it. Tokens signed by the
// replaced key stay valid until they expire (15 minutes), so a day leaves ample room, also for
// nodes whose clocks or reloads lag.
const KeyRetention = 24 * time.Hour

// kidTimeLayout starts every generated key id, so ids sort by creation time.
const kidTimeLayout = "20060102T150405Z"

// kidPattern matches "<creation time>-<first 16 hex digits of SHA-256 of the public key>".
var kidPattern = regexp.MustCompile(`^(\d{8}T\d{6}Z)-([0-9a-f]{16})$`)

// KeyRing holds the Ed25519 keys that sign and verify access tokens. The newest key signs; every
// key verifies. A KeyRing is safe for concurrent use.
//
// Keys live in a directory as PKCS#8 PEM files named "<kid>.pem", where kid is the key's creation
// time followed by a fingerprint of its public key, e.g. "20260115T093000Z-3f2a9c0d1e4b5a6f". The
// directory is read once, at load, so a node knows only the keys that existed then (and those it
// made itself). With several nodes, a key made by one is refused by the others until they load
// it: share the directory and restart every node after a rotation, or give them all one
// CAREWAY_SIGNING_KEY_FILE.
type KeyRing struct {
	mu    sync.RWMutex
	keys  []*signingKey // oldest first; the last one signs
	byKID map[string]*signingKey
	fixed bool // from LoadKeyFile: one configured key that Rotate may not replace
	jwks  []byte
}

type signingKey struct {
	kid     string
	created time.Time // zero for a configured key file
	priv    ed25519.PrivateKey
	pub     ed25519.PublicKey
}

// LoadOrCreateKeyRing loads every "<kid>.pem" key in dir, creating dir (mode 0700) and a first
// key (file mode 0600) if there is none. It returns an error naming the file if a .pem file has a
// name that is not a key id, is not an Ed25519 PKCS#8 private key, or does not match its name.
func LoadOrCreateKeyRing(dir string, now time.Time) (*KeyRing, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: signing key directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key directory: %w", err)
	}
	var keys []*signingKey
	for _, e := range entries {
		kid, ok := strings.CutSuffix(e.Name(), ".pem")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		m := kidPattern.FindStringSubmatch(kid)
		if m == nil {
			return nil, fmt.Errorf("auth: %s: name is not a signing key id (want <time>-<16 hex>.pem)", filepath.Join(dir, e.Name()))
		}
		created, _ := time.Parse(kidTimeLayout, m[1])
		priv, err := readKeyFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if fingerprint(priv.Public().(ed25519.PublicKey)) != m[2] {
			return nil, fmt.Errorf("auth: %s: key does not match the fingerprint in its name", filepath.Join(dir, e.Name()))
		}
		keys = append(keys, &signingKey{kid: kid, created: created, priv: priv, pub: priv.Public().(ed25519.PublicKey)})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].kid < keys[j].kid }) // kids sort by time
	k := &KeyRing{keys: keys}
	if len(keys) == 0 {
		if _, err := k.Rotate(dir, now); err != nil {
			return nil, err
		}
		return k, nil
	}
	k.rebuild()
	return k, nil
}

// LoadKeyFile loads one configured Ed25519 PKCS#8 PEM private key (CAREWAY_SIGNING_KEY_FILE). Its
// kid is the first 16 hex digits of the SHA-256 of its public key. Such a ring cannot Rotate: to
// change the key, replace the file and restart. Returns an error naming the file if it cannot be
// read or holds no Ed25519 PKCS#8 key.
func LoadKeyFile(path string) (*KeyRing, error) {
	priv, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	k := &KeyRing{keys: []*signingKey{{kid: fingerprint(pub), priv: priv, pub: pub}}, fixed: true}
	k.rebuild()
	return k, nil
}

// Rotate generates a new key, writes it to dir as "<kid>.pem" (mode 0600) and makes it the
// signing key. The previous keys keep verifying: tokens they signed stay valid until they
// expire. A key whose successor was created more than KeyRetention before now is deleted, from
// the ring and from dir. Rotate returns the new kid, or an error if the key cannot be written or
// the ring came from LoadKeyFile; if only deleting an old key fails, the new key is in use and
// Rotate returns its kid together with the error.
func (k *KeyRing) Rotate(dir string, now time.Time) (kid string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("auth: generate signing key: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fixed {
		return "", errors.New("auth: a configured signing key file cannot be rotated; replace the file instead")
	}
	created := now.UTC().Truncate(time.Second)
	if n := len(k.keys); n > 0 && !created.After(k.keys[n-1].created) {
		created = k.keys[n-1].created.Add(time.Second) // keep kids strictly increasing
	}
	kid = created.Format(kidTimeLayout) + "-" + fingerprint(pub)
	if err := writeKeyFile(dir, kid, priv); err != nil {
		return "", err
	}
	k.keys = append(k.keys, &signingKey{kid: kid, created: created, priv: priv, pub: pub})

	// Retire keys whose successor has been signing for longer than the retention. A key whose
	// file cannot be removed stays (and is retried next time), so the ring matches the directory.
	var kept []*signingKey
	for i, key := range k.keys {
		if i < len(k.keys)-1 && now.Sub(k.keys[i+1].created) > KeyRetention {
			rmErr := os.Remove(filepath.Join(dir, key.kid+".pem"))
			if rmErr == nil || errors.Is(rmErr, fs.ErrNotExist) {
				continue
			}
			err = fmt.Errorf("auth: new signing key %s in use, but retiring %s failed: %w", kid, key.kid, rmErr)
		}
		kept = append(kept, key)
	}
	k.keys = kept
	k.rebuild()
	return kid, err
}

// CurrentKID returns the id of the key that signs new tokens.
func (k *KeyRing) CurrentKID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys[len(k.keys)-1].kid
}

// JWKS returns the JSON Web Key Set of every verifying key, newest first, for
// /.well-known/jwks.json: {"keys":[{"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"use":"sig","alg":"EdDSA"}]}.
func (k *KeyRing) JWKS() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return bytes.Clone(k.jwks)
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// rebuild refreshes the lookup map and the JWKS document; the caller holds the write lock.
func (k *KeyRing) rebuild() {
	k.byKID = make(map[string]*signingKey, len(k.keys))
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(k.keys))}
	for i := len(k.keys) - 1; i >= 0; i-- {
		key := k.keys[i]
		k.byKID[key.kid] = key
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(key.pub),
			Kid: key.kid, Use: "sig", Alg: "EdDSA"})
	}
	k.jwks, _ = json.Marshal(set) // cannot fail: plain strings
}

// signer returns the current signing key.
func (k *KeyRing) signer() (kid string, priv ed25519.PrivateKey) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key := k.keys[len(k.keys)-1]
	return key.kid, key.priv
}

// publicKey returns the verifying key with the given id.
func (k *KeyRing) publicKey(kid string) (ed25519.PublicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.byKID[kid]
	if !ok {
		return nil, false
	}
	return key.pub, true
}

func fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

func readKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("auth: %s: no PEM \"PRIVATE KEY\" block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: %s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("auth: %s: not an Ed25519 key (%T)", path, key)
	}
	return priv, nil
}

// writeKeyFile writes the key through a temporary file and a rename, so a crash never leaves a
// half-written key where the next start would trip over it.
func writeKeyFile(dir, kid string, priv ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("auth: encode signing key: %w", err)
	}
	f, err := os.CreateTemp(dir, ".key-*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("auth: write signing key: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("auth: write signing key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("auth: write signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("auth: write signing key: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, kid+".pem")); err != nil {
		return fmt.Errorf("auth: write signing key: %w", err)
	}
	return nil
}
