package translate

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Dynamic broker configs of type PASSWORD are stored in ZooKeeper encrypted
// with the brokers' password.encoder.secret by Kafka's
// EncryptingPasswordEncoder (server-common, branch 3.9). The stored value is
// a comma-separated "key:value" list: keyFactoryAlgorithm, cipherAlgorithm,
// keyLength (bits), salt (base64), iterations, encryptedPassword (base64),
// passwordLength (UTF-16 units) and the cipher parameters (initializationVector,
// plus authenticationTagLength for GCM). The key is PBKDF2 over the secret.

// passwordConfigSuffixes are the names of Kafka's dynamic broker configs of
// type PASSWORD; DynamicBrokerConfig.isPasswordConfig matches any config
// name that ends with one of them (listener-prefixed forms included).
var passwordConfigSuffixes = []string{
	"ssl.key.password",
	"ssl.keystore.password",
	"ssl.truststore.password",
	"ssl.keystore.key",
	"ssl.keystore.certificate.chain",
	"ssl.truststore.certificates",
	"sasl.jaas.config",
}

// IsPasswordConfig reports whether name is a dynamic PASSWORD config that
// ZooKeeper-mode Kafka stores encrypted.
func IsPasswordConfig(name string) bool {
	for _, s := range passwordConfigSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// PasswordEncoderSettings are the password.encoder.* settings used to
// encrypt (decryption reads them from the stored value).
type PasswordEncoderSettings struct {
	KeyFactoryAlgorithm string // default PBKDF2WithHmacSHA512
	CipherAlgorithm     string // default AES/CBC/PKCS5Padding; AES/GCM/NoPadding also works
	KeyLength           int    // bits, default 128
	Iterations          int    // default 4096
}

func (s *PasswordEncoderSettings) defaults() {
	if s.KeyFactoryAlgorithm == "" {
		s.KeyFactoryAlgorithm = "PBKDF2WithHmacSHA512"
	}
	if s.CipherAlgorithm == "" {
		s.CipherAlgorithm = "AES/CBC/PKCS5Padding"
	}
	if s.KeyLength == 0 {
		s.KeyLength = 128
	}
	if s.Iterations == 0 {
		s.Iterations = 4096
	}
}

// ErrPasswordDecode is wrapped by every DecodePassword error. Error texts
// never contain the secret, the ciphertext or the password.
var ErrPasswordDecode = errors.New("password could not be decoded")

// LooksEncodedPassword reports whether v has the shape of an
// EncryptingPasswordEncoder value.
func LooksEncodedPassword(v string) bool {
	return strings.Contains(v, "encryptedPassword:") && strings.Contains(v, "salt:")
}

func parseEncoded(v string) map[string]string {
	m := map[string]string{}
	for _, tok := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(tok, ":")
		if !ok {
			continue
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return m
}

func keyHash(alg string) (func() hash.Hash, error) {
	switch alg {
	case "PBKDF2WithHmacSHA512":
		return sha512.New, nil
	case "PBKDF2WithHmacSHA1":
		return sha1.New, nil
	}
	return nil, fmt.Errorf("%w: unsupported keyFactoryAlgorithm %q (want PBKDF2WithHmacSHA512 or PBKDF2WithHmacSHA1)", ErrPasswordDecode, alg)
}

// maxIterations bounds PBKDF2 work for a value read from ZooKeeper.
const maxIterations = 10_000_000

func deriveKey(secret, keyFactory string, salt []byte, iterations, keyBits int) ([]byte, error) {
	h, err := keyHash(keyFactory)
	if err != nil {
		return nil, err
	}
	if keyBits != 128 && keyBits != 192 && keyBits != 256 {
		return nil, fmt.Errorf("%w: keyLength %d is not an AES key length (128, 192 or 256)", ErrPasswordDecode, keyBits)
	}
	if iterations <= 0 || iterations > maxIterations {
		return nil, fmt.Errorf("%w: iterations %d (want 1…%d)", ErrPasswordDecode, iterations, maxIterations)
	}
	// Java's PBEKeySpec hands the secret's chars to PBKDF2 as UTF-8.
	return pbkdf2.Key(h, secret, salt, iterations, keyBits/8)
}

// DecodePassword decrypts a value written by Kafka's
// EncryptingPasswordEncoder with the given password.encoder.secret.
func DecodePassword(secret, encoded string) (string, error) {
	p := parseEncoded(encoded)
	need := func(k string) (string, error) {
		v, ok := p[k]
		if !ok || v == "" {
			return "", fmt.Errorf("%w: no %s in the stored value", ErrPasswordDecode, k)
		}
		return v, nil
	}
	var vals [8]string
	for i, k := range []string{"", "cipherAlgorithm", "keyLength", "salt", "iterations", "encryptedPassword", "passwordLength", "initializationVector"} {
		if k == "" {
			continue
		}
		v, err := need(k)
		if err != nil {
			return "", err
		}
		vals[i] = v
	}
	// A value without keyFactoryAlgorithm gets Kafka's default:
	// PBKDF2WithHmacSHA512 (PBKDF2WithHmacSHA1 where the JVM lacks it).
	keyFactories := []string{"PBKDF2WithHmacSHA512", "PBKDF2WithHmacSHA1"}
	if kf := p["keyFactoryAlgorithm"]; kf != "" {
		keyFactories = []string{kf}
	}
	var lastErr error
	for _, kf := range keyFactories {
		vals[0] = kf
		plain, err := decodeWith(secret, vals, p)
		if err == nil {
			return plain, nil
		}
		lastErr = err
	}
	return "", lastErr
}

func decodeWith(secret string, vals [8]string, p map[string]string) (string, error) {
	keyLen, err1 := strconv.Atoi(vals[2])
	iters, err2 := strconv.Atoi(vals[4])
	pwLen, err3 := strconv.Atoi(vals[6])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", fmt.Errorf("%w: keyLength, iterations and passwordLength must be integers", ErrPasswordDecode)
	}
	salt, err1 := base64.StdEncoding.DecodeString(vals[3])
	ct, err2 := base64.StdEncoding.DecodeString(vals[5])
	iv, err3 := base64.StdEncoding.DecodeString(vals[7])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", fmt.Errorf("%w: salt, encryptedPassword and initializationVector must be base64", ErrPasswordDecode)
	}
	key, err := deriveKey(secret, vals[0], salt, iters, keyLen)
	if err != nil {
		return "", err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrPasswordDecode, err)
	}
	var plain []byte
	switch mode := cipherMode(vals[1]); mode {
	case "CBC":
		if len(iv) != aes.BlockSize || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
			return "", fmt.Errorf("%w: CBC ciphertext or IV has the wrong length", ErrPasswordDecode)
		}
		plain = make([]byte, len(ct))
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
		n := int(plain[len(plain)-1])
		if n == 0 || n > aes.BlockSize || n > len(plain) {
			return "", fmt.Errorf("%w: bad padding (wrong password.encoder.secret?)", ErrPasswordDecode)
		}
		for _, b := range plain[len(plain)-n:] {
			if int(b) != n {
				return "", fmt.Errorf("%w: bad padding (wrong password.encoder.secret?)", ErrPasswordDecode)
			}
		}
		plain = plain[:len(plain)-n]
	case "GCM":
		tagBits, err := strconv.Atoi(p["authenticationTagLength"])
		if err != nil || tagBits%8 != 0 || tagBits < 96 || tagBits > 128 {
			return "", fmt.Errorf("%w: authenticationTagLength must be 96…128 bits", ErrPasswordDecode)
		}
		aead, err := newGCM(block, len(iv), tagBits/8)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrPasswordDecode, err)
		}
		plain, err = aead.Open(nil, iv, ct, nil)
		if err != nil {
			return "", fmt.Errorf("%w: authentication failed (wrong password.encoder.secret?)", ErrPasswordDecode)
		}
	default:
		return "", fmt.Errorf("%w: unsupported cipherAlgorithm %q (want AES/CBC/PKCS5Padding or AES/GCM/NoPadding)", ErrPasswordDecode, vals[1])
	}
	s := string(plain)
	if len(utf16.Encode([]rune(s))) != pwLen {
		return "", fmt.Errorf("%w: sanity check of length failed (wrong password.encoder.secret?)", ErrPasswordDecode)
	}
	return s, nil
}

func cipherMode(alg string) string {
	parts := strings.Split(alg, "/")
	if len(parts) == 3 && parts[0] == "AES" {
		return parts[1]
	}
	return ""
}

func newGCM(block cipher.Block, nonceSize, tagSize int) (cipher.AEAD, error) {
	if nonceSize == 12 {
		return cipher.NewGCMWithTagSize(block, tagSize)
	}
	if tagSize != 16 {
		return nil, fmt.Errorf("GCM with a %d-byte IV needs a 128-bit tag", nonceSize)
	}
	return cipher.NewGCMWithNonceSize(block, nonceSize)
}

// EncodePassword encrypts a password as Kafka's EncryptingPasswordEncoder
// does (256-byte random salt, random IV), reading randomness from rnd. The
// key order of the output is sorted (Kafka's is hash-map order; readers do
// not depend on it).
func EncodePassword(secret, password string, s PasswordEncoderSettings, rnd io.Reader) (string, error) {
	s.defaults()
	salt := make([]byte, 256)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return "", fmt.Errorf("encode password: %w", err)
	}
	key, err := deriveKey(secret, s.KeyFactoryAlgorithm, salt, s.Iterations, s.KeyLength)
	if err != nil {
		return "", fmt.Errorf("encode password: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("encode password: %w", err)
	}
	m := map[string]string{
		"keyFactoryAlgorithm": s.KeyFactoryAlgorithm,
		"cipherAlgorithm":     s.CipherAlgorithm,
		"keyLength":           strconv.Itoa(s.KeyLength),
		"salt":                base64.StdEncoding.EncodeToString(salt),
		"iterations":          strconv.Itoa(s.Iterations),
		"passwordLength":      strconv.Itoa(len(utf16.Encode([]rune(password)))),
	}
	var ct, iv []byte
	switch cipherMode(s.CipherAlgorithm) {
	case "CBC":
		iv = make([]byte, aes.BlockSize)
		if _, err := io.ReadFull(rnd, iv); err != nil {
			return "", fmt.Errorf("encode password: %w", err)
		}
		n := aes.BlockSize - len(password)%aes.BlockSize
		plain := append([]byte(password), make([]byte, n)...)
		for i := len(password); i < len(plain); i++ {
			plain[i] = byte(n)
		}
		ct = make([]byte, len(plain))
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	case "GCM":
		iv = make([]byte, 12)
		if _, err := io.ReadFull(rnd, iv); err != nil {
			return "", fmt.Errorf("encode password: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return "", fmt.Errorf("encode password: %w", err)
		}
		ct = aead.Seal(nil, iv, []byte(password), nil)
		m["authenticationTagLength"] = "128"
	default:
		return "", fmt.Errorf("encode password: unsupported cipherAlgorithm %q", s.CipherAlgorithm)
	}
	m["encryptedPassword"] = base64.StdEncoding.EncodeToString(ct)
	m["initializationVector"] = base64.StdEncoding.EncodeToString(iv)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + m[k]
	}
	return strings.Join(parts, ","), nil
}
