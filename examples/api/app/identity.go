package app

// The service's identity, in one place. svckit-new sets these from the
// new module's path when it makes a service of your own from this one, so
// that two services never share Redis keys or an SQLite file, and never
// accept each other's tokens even when they share a secret.
const (
	// ServiceName is the service.name of the telemetry (unless
	// OTEL_SERVICE_NAME says otherwise).
	ServiceName = "svckit-example"
	// Issuer is the "iss" of the tokens the service signs, and their
	// "aud": a token of another issuer is refused.
	Issuer = ServiceName
	// ApplicationName is the application_name the service's PostgreSQL
	// connections report (pg_stat_activity), unless DATABASE_URL sets one.
	ApplicationName = ServiceName
	// DefaultRedisPrefix is put before every Redis key unless REDIS_PREFIX
	// (Config.RedisPrefix) says otherwise.
	DefaultRedisPrefix = "svckit:"
	// DefaultSQLiteFile is the database file used when DATABASE_URL is
	// unset.
	DefaultSQLiteFile = "svckit-example.db"
	// cursorKeyLabel derives the key that signs list cursors from the JWT
	// secret when CURSOR_KEY is unset: services sharing a secret do not
	// share cursors.
	cursorKeyLabel = "svckit-example cursor key"
)
