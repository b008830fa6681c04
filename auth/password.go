package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/opt"
)

// Argon2Params are the argon2id parameters of a password hash.
type Argon2Params struct {
	Memory  uint32 // memory in KiB; default 19456 (19 MiB)
	Time    uint32 // passes over the memory; default 2
	Threads uint8  // degree of parallelism; default 1
	SaltLen uint32 // salt length in bytes; default 16
	KeyLen  uint32 // derived key length in bytes; default 32
}

// DefaultArgon2Params are the OWASP minimum for argon2id: m=19 MiB, t=2, p=1,
// a 16-byte salt and a 32-byte key.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on the parameters read from a stored hash. A hash outside them is
// ErrUnsupportedHash: a hostile or corrupt row must not make a login take
// minutes, allocate gigabytes or panic.
const (
	MaxArgon2Memory = 256 * 1024 // KiB (256 MiB)
	MaxArgon2Time   = 16
	MaxArgon2Cost   = 1024 * 1024 // Memory*Time, in KiB passes (1 GiB of work)
	MaxArgon2Thread = 16
	MaxBcryptCost   = 14
	// MaxPasswordLen bounds a password hashed with argon2id. bcrypt hashes
	// accept at most 72 bytes (see ErrPasswordTooLong).
	MaxPasswordLen = 1024
)

// Errors returned by Hasher.
var (
	// ErrPasswordTooLong means the password is longer than MaxPasswordLen,
	// or longer than 72 bytes when checked against a bcrypt hash (bcrypt
	// would silently ignore the rest). On Verify it comes wrapped together
	// with ErrPasswordMismatch, so it renders as a failed login.
	ErrPasswordTooLong = errors.New("auth: password too long")
	// ErrUnsupportedHash means a stored hash is not an argon2id PHC string
	// or a bcrypt hash, is malformed, or has parameters outside the bounds.
	ErrUnsupportedHash = errors.New("auth: unsupported password hash")
	// ErrBusy means every hashing slot of a Hasher stayed taken for
	// Hasher.MaxWait. It reports errkind.Unavailable with a RetryAfter of
	// one second: 503 with Retry-After through envelope.
	ErrBusy error = busyError{}
)

// DefaultMaxWait is how long a hash waits for a free slot when
// Hasher.MaxWait is zero.
const DefaultMaxWait = time.Second

// busyError is the type of ErrBusy.
type busyError struct{}

var (
	_ errkind.Kinder         = busyError{}
	_ errkind.PublicMessager = busyError{}
	_ errkind.RetryAfterer   = busyError{}
)

func (busyError) Error() string             { return "auth: password hashing saturated" }
func (busyError) ErrorKind() errkind.Kind   { return errkind.Unavailable }
func (busyError) PublicMessage() string     { return "too many logins at once, try again shortly" }
func (busyError) RetryAfter() time.Duration { return time.Second }

const bcryptMaxLen = 72

// Hasher hashes passwords with argon2id and verifies argon2id and bcrypt
// hashes, so users created under bcrypt can log in and be migrated.
//
// Every Hash, Verify and VerifyDummy holds one of MaxConcurrent slots while
// it hashes, and an argon2id hash holds Params.Memory KiB of memory while it
// runs, so a flood of logins costs at most MaxConcurrent times that. A call
// that finds no free slot within MaxWait fails with ErrBusy (503 with
// Retry-After) rather than queueing without bound.
//
// Every branch of a login costs one hash with the Hasher's parameters: a
// wrong password, an over-long one (hashed truncated, then refused), a
// stored hash that cannot be evaluated, and an unknown user (VerifyDummy).
//
// The zero value hashes with DefaultArgon2Params and crypto/rand, with
// GOMAXPROCS slots and DefaultMaxWait. A Hasher is safe for concurrent use,
// needs no closing, and must not be copied after first use.
type Hasher struct {
	// Params are the argon2id parameters of new hashes; zero fields take
	// their default from DefaultArgon2Params, and fields outside the
	// bounds Verify enforces on stored hashes (MaxArgon2Memory, …; a salt
	// of 8 to 64 bytes, a key of 16 to 128) are clamped into them.
	Params Argon2Params
	// Rand is the salt source; nil means crypto/rand.
	Rand io.Reader
	// MaxConcurrent bounds the hashes running at once. Zero means
	// runtime.GOMAXPROCS(0), read at first use.
	MaxConcurrent int
	// MaxWait is how long a call waits for a slot before ErrBusy. Zero
	// means DefaultMaxWait; negative means not at all.
	MaxWait time.Duration
	// MeterProvider receives MetricPasswordVerifications, which counts
	// rehash-on-login among others. Nil means otel's global provider.
	MeterProvider metric.MeterProvider

	once  sync.Once
	slots chan struct{}
	m     *passwordMetrics
}

// acquire takes a hashing slot; call the returned function to give it back.
func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	h.once.Do(func() {
		h.slots = make(chan struct{}, opt.PositiveOr(h.MaxConcurrent, runtime.GOMAXPROCS(0)))
		h.m = newPasswordMetrics(h.MeterProvider)
	})
	release = func() { <-h.slots }
	select {
	case h.slots <- struct{}{}:
		return release, nil
	default:
	}
	wait := cmp.Or(h.MaxWait, DefaultMaxWait)
	if wait < 0 {
		return nil, ErrBusy
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, fmt.Errorf("auth: wait for a hashing slot: %w", ctx.Err())
	}
}

// params returns the Hasher's parameters: DefaultArgon2Params for zero
// fields, and every field within the bounds Verify enforces on stored
// hashes.
func (h *Hasher) params() Argon2Params {
	p, d := h.Params, DefaultArgon2Params()
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	p.Threads = min(p.Threads, MaxArgon2Thread)
	p.Time = min(p.Time, MaxArgon2Time)
	p.Memory = min(max(p.Memory, 8*uint32(p.Threads)), MaxArgon2Memory)
	if uint64(p.Memory)*uint64(p.Time) > MaxArgon2Cost {
		p.Time = max(MaxArgon2Cost/p.Memory, 1)
	}
	p.SaltLen = min(max(p.SaltLen, 8), 64)
	p.KeyLen = min(max(p.KeyLen, 16), 128)
	return p
}

// Hash returns the argon2id PHC string of password, for example
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" with unpadded standard
// base64. It fails with ErrPasswordTooLong past MaxPasswordLen bytes and
// with ErrBusy when no hashing slot frees up in time.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordLen {
		return "", ErrPasswordTooLong
	}
	p := h.params()
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	salt := make([]byte, p.SaltLen)
	r := h.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("auth: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

// Verify checks password against a stored hash (argon2id PHC or bcrypt
// $2a$/$2b$/$2y$). It returns nil when they match, ErrPasswordMismatch when
// they do not (also for a password over MaxPasswordLen, or over 72 bytes
// against bcrypt, wrapped with ErrPasswordTooLong), ErrUnsupportedHash for
// a hash it will not evaluate, and ErrBusy when no hashing slot frees up in
// time. Every outcome but ErrBusy costs one hash. On a match, rehash reports
// that the hash is weaker than the Hasher's parameters (or is bcrypt) and
// should be replaced by Hash.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (rehash bool, err error) {
	defer func() { h.m.verified(ctx, rehash, err) }() // h.m is set by acquire
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	if isBcrypt(encoded) {
		if err := checkBcrypt(encoded); err != nil {
			h.dummy(password)
			return false, err
		}
		tooLong := len(password) > bcryptMaxLen
		if tooLong {
			password = password[:bcryptMaxLen] // hashed all the same, then refused
		}
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
		switch {
		case tooLong:
			return false, fmt.Errorf("%w: %w", ErrPasswordMismatch, ErrPasswordTooLong)
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, ErrPasswordMismatch
		case err != nil:
			return false, fmt.Errorf("%w: %w", ErrUnsupportedHash, err)
		}
		return true, nil
	}
	p, salt, want, err := decodePHC(encoded)
	if err != nil {
		h.dummy(password)
		return false, err
	}
	tooLong := len(password) > MaxPasswordLen
	if tooLong {
		password = password[:MaxPasswordLen] // hashed all the same, then refused
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	match := subtle.ConstantTimeCompare(got, want) == 1
	switch {
	case tooLong:
		return false, fmt.Errorf("%w: %w", ErrPasswordMismatch, ErrPasswordTooLong)
	case !match:
		return false, ErrPasswordMismatch
	}
	return weaker(p, h.params()), nil
}

// NeedsRehash reports whether a stored hash should be replaced: it is
// bcrypt, weaker than the Hasher's parameters, or not understood at all.
func (h *Hasher) NeedsRehash(encoded string) bool {
	if isBcrypt(encoded) {
		return true
	}
	p, _, _, err := decodePHC(encoded)
	return err != nil || weaker(p, h.params())
}

// VerifyDummy spends the time of one Verify with the Hasher's parameters and
// returns ErrPasswordMismatch (or ErrBusy, like Verify, when no slot frees
// up). Call it when the user is unknown, so a login takes as long for an
// unknown email as for a wrong password, and return its error.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	release, err := h.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	h.dummy(password)
	return ErrPasswordMismatch
}

// dummy runs one argon2id with the Hasher's parameters and a zero salt.
func (h *Hasher) dummy(password string) {
	p := h.params()
	if len(password) > MaxPasswordLen {
		password = password[:MaxPasswordLen]
	}
	salt := make([]byte, p.SaltLen)
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	subtle.ConstantTimeCompare(got, make([]byte, len(got)))
}

func weaker(stored, current Argon2Params) bool {
	return stored.Memory < current.Memory || stored.Time < current.Time ||
		stored.Threads < current.Threads || stored.SaltLen < current.SaltLen ||
		stored.KeyLen < current.KeyLen
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// checkBcrypt bounds the cost before bcrypt runs it: bcrypt.Cost parses the
// hash without hashing.
func checkBcrypt(s string) error {
	cost, err := bcrypt.Cost([]byte(s))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupportedHash, err)
	}
	if cost > MaxBcryptCost {
		return fmt.Errorf("%w: bcrypt cost %d over %d", ErrUnsupportedHash, cost, MaxBcryptCost)
	}
	return nil
}

func encodePHC(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// decodeB64 decodes unpadded standard base64 strictly. encoding/base64
// skips '\r' and '\n' even in Strict mode, which would let two different
// strings stand for one hash; they are refused here.
func decodeB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, base64.CorruptInputError(strings.IndexAny(s, "\r\n"))
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

// decodePHC parses "$argon2id$v=19$m=M,t=T,p=P$salt$hash" strictly and
// bounds every parameter.
func decodePHC(s string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	bad := func(why string) (Argon2Params, []byte, []byte, error) {
		return p, nil, nil, fmt.Errorf("%w: %s", ErrUnsupportedHash, why)
	}
	if len(s) > 512 {
		return bad("hash too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported argon2 version")
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return bad("want m, t and p")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		if !ok {
			return bad("want m, t and p in that order")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || (len(v) > 1 && v[0] == '0') {
			return bad("bad number " + strconv.Quote(fields[i]))
		}
		vals[i] = n
	}
	if vals[0] > MaxArgon2Memory || vals[1] > MaxArgon2Time || vals[2] > MaxArgon2Thread {
		return bad("parameters out of range")
	}
	salt, err := decodeB64(parts[4])
	if err != nil {
		return bad("bad salt")
	}
	key, err := decodeB64(parts[5])
	if err != nil {
		return bad("bad key")
	}
	p = Argon2Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.check(); err != nil {
		return p, nil, nil, err
	}
	return p, salt, key, nil
}

// check reports ErrUnsupportedHash for parameters outside the bounds: those
// of a new hash as much as those of a stored one.
func (p Argon2Params) check() error {
	var why string
	switch m, t, th := uint64(p.Memory), uint64(p.Time), uint64(p.Threads); {
	case t < 1 || t > MaxArgon2Time:
		why = "t out of range"
	case th < 1 || th > MaxArgon2Thread:
		why = "p out of range"
	case m < 8*th || m > MaxArgon2Memory:
		why = "m out of range"
	case m*t > MaxArgon2Cost:
		why = "m*t out of range"
	case p.SaltLen < 8 || p.SaltLen > 64:
		why = "salt length out of range"
	case p.KeyLen < 16 || p.KeyLen > 128:
		why = "key length out of range"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s", ErrUnsupportedHash, why)
}
