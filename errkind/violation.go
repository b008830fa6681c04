package errkind

// Violation is one rule a request broke. A request refused for its input
// lists every violation at once (error.violations), so a client can mark
// every field in one round trip.
type Violation struct {
	// Location is a JSON Pointer (RFC 6901) into the request: the source,
	// then the path of the value, as in /body/email, /body/items/0/name,
	// /query/limit, /path/id or /header/Idempotency-Key.
	Location string `json:"location"`
	// Reason is a stable keyword a client may branch on: the JSON Schema
	// keyword the value fails (required, type, minLength, maximum, pattern,
	// enum, format, additionalProperties, …), "null" for a null the schema
	// refuses, or "duplicate" for a member sent twice.
	Reason string `json:"reason"`
	// Message is a client-safe description, in English, of what the value
	// must be; it may change between versions, Reason does not.
	Message string `json:"message"`
}

// Violator is implemented by an error that lists the rules a request broke;
// envelope renders them as error.violations beside error.details.
type Violator interface {
	Violations() []Violation
}
