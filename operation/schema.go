package operation

import (
	"encoding/json"
	"math"
	"strconv"
)

// schema is one JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1):
// the part of the vocabulary this package writes and validates. The
// document is its JSON; the validation plan (plan.go) is compiled from it,
// so what the document says and what a request is held to cannot differ.
type schema struct {
	Ref         string   `json:"$ref,omitempty"`
	Type        typeList `json:"type,omitempty"`
	Format      string   `json:"format,omitempty"`
	Description string   `json:"description,omitempty"`
	Deprecated  bool     `json:"deprecated,omitempty"`
	Enum        []any    `json:"enum,omitempty"`
	Default     any      `json:"default,omitempty"`
	Examples    []any    `json:"examples,omitempty"`

	// strings
	MinLength        *int   `json:"minLength,omitempty"`
	MaxLength        *int   `json:"maxLength,omitempty"`
	Pattern          string `json:"pattern,omitempty"`
	ContentEncoding  string `json:"contentEncoding,omitempty"`
	ContentMediaType string `json:"contentMediaType,omitempty"`

	// numbers
	Minimum          *number `json:"minimum,omitempty"`
	Maximum          *number `json:"maximum,omitempty"`
	ExclusiveMinimum *number `json:"exclusiveMinimum,omitempty"`
	ExclusiveMaximum *number `json:"exclusiveMaximum,omitempty"`
	MultipleOf       *number `json:"multipleOf,omitempty"`

	// arrays
	Items       *schema `json:"items,omitempty"`
	MinItems    *int    `json:"minItems,omitempty"`
	MaxItems    *int    `json:"maxItems,omitempty"`
	UniqueItems bool    `json:"uniqueItems,omitempty"`

	// objects
	Properties           properties  `json:"properties,omitempty"`
	Required             []string    `json:"required,omitempty"`
	AdditionalProperties *additional `json:"additionalProperties,omitempty"`

	// combinations: a nullable $ref is anyOf [$ref, {type: null}]; an
	// operation's alternative bodies are oneOf.
	AnyOf []*schema `json:"anyOf,omitempty"`
	OneOf []*schema `json:"oneOf,omitempty"`

	// What the Go type adds to the rules, for the checker to agree with
	// encoding/json: a time.Time decodes the raw string, escapes and all;
	// an unsigned integer refuses "-0".
	goTime, goUnsigned bool
}

// The JSON types of JSON Schema.
const (
	typeNull    = "null"
	typeBoolean = "boolean"
	typeObject  = "object"
	typeArray   = "array"
	typeNumber  = "number"
	typeInteger = "integer"
	typeString  = "string"
)

// typeList is the "type" keyword: one name, or a list when the value may
// also be null (["string", "null"]).
type typeList []string

func (t typeList) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]string(t))
}

func (t typeList) has(name string) bool {
	for _, n := range t {
		if n == name {
			return true
		}
	}
	return false
}

// number is a numeric keyword kept as the literal it was written as, so
// int64 bounds survive exactly; f is its value as a float64, and i its
// value as an int64 when isInt.
type number struct {
	lit    string
	f      float64
	i      int64  // when isInt
	u      uint64 // when isUint
	isInt  bool
	isUint bool
}

func intNumber(i int64) *number {
	n := &number{lit: strconv.FormatInt(i, 10), f: float64(i), i: i, isInt: true}
	if i >= 0 {
		n.u, n.isUint = uint64(i), true
	}
	return n
}

func uintNumber(u uint64) *number {
	if u <= math.MaxInt64 {
		return intNumber(int64(u))
	}
	return &number{lit: strconv.FormatUint(u, 10), f: float64(u), u: u, isUint: true}
}

// parseNumber reads a numeric tag value.
func parseNumber(s string) (*number, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return intNumber(i), nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return uintNumber(u), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, err
	}
	return &number{lit: strconv.FormatFloat(f, 'g', -1, 64), f: f}, nil
}

func (n *number) MarshalJSON() ([]byte, error) { return []byte(n.lit), nil }

// property is one member of an object schema.
type property struct {
	name   string
	schema *schema
}

// properties keeps the members in the order of the Go fields, which reads
// better than the sorted order of a map.
type properties []property

func (p properties) MarshalJSON() ([]byte, error) {
	o := make(ordered, len(p))
	for i, prop := range p {
		o[i] = member{prop.name, prop.schema}
	}
	return o.MarshalJSON()
}

// additional is "additionalProperties": false, or the schema of a map's
// values.
type additional struct {
	schema *schema // nil means false
}

func (a *additional) MarshalJSON() ([]byte, error) {
	if a.schema == nil {
		return []byte("false"), nil
	}
	return json.Marshal(a.schema)
}

// nullable returns s made to accept null as well.
func nullable(s *schema) *schema {
	if s.Ref != "" {
		return &schema{AnyOf: []*schema{s, {Type: typeList{typeNull}}}}
	}
	if len(s.Type) == 0 || s.Type.has(typeNull) {
		return s // {} already accepts null
	}
	c := *s
	c.Type = append(append(typeList(nil), s.Type...), typeNull)
	if c.Enum != nil {
		c.Enum = append(append([]any(nil), s.Enum...), nil)
	}
	return &c
}

func ptr[T any](v T) *T { return &v }
