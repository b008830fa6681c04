package testdb

// Temporary: pins go.sum entries for packages the library packages use while
// they are written in parallel. Removed once every package imports its own.
import (
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/maypok86/otter/v2"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/stretchr/testify/assert"
	_ "go.uber.org/goleak"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/crypto/bcrypt"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/sync/singleflight"
)
