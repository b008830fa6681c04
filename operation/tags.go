package operation

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// The struct tags that add rules to a field's schema. Each is the JSON
// Schema keyword of the same name, so a tag reads as the document will:
//
//	Name string `json:"name" minLength:"1" maxLength:"100" doc:"shown to other users"`
//
// On a slice or map field, a keyword of its items or values (minLength on
// []string) applies to each of them; minItems, maxItems and uniqueItems
// apply to the slice.
func tagKeywords() []string {
	return []string{
		"doc", "example", "deprecated", "enum", "format", "pattern", "minLength", "maxLength",
		"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
		"minItems", "maxItems", "uniqueItems",
	}
}

// formatType returns the JSON type of a format the validator checks. A
// format it does not check is refused at registration: the document would
// promise a check nobody makes.
func formatType(f string) (string, bool) {
	switch f {
	case "date-time", "date", "email", "uuid", "uri", "ipv4", "ipv6":
		return typeString, true
	case "int32", "int64":
		return typeInteger, true
	case "float", "double":
		return typeNumber, true
	}
	return "", false
}

// applyTags returns s with the rules of the tags of a field of type t.
func applyTags(s *schema, tag reflect.StructTag, t reflect.Type, at string) (*schema, error) {
	fail := func(why string) error { return &describeError{at, t, why} }
	out := s
	copied := false
	own := func() *schema { // s is shared (a component, a cached schema): change a copy
		if !copied {
			c := *out
			out, copied = &c, true
		}
		return out
	}
	for _, kw := range tagKeywords() {
		v, ok := tag.Lookup(kw)
		if !ok {
			continue
		}
		switch kw {
		case "doc":
			own().Description = v
			continue
		case "deprecated":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fail("deprecated must be true or false")
			}
			own().Deprecated = b
			continue
		}
		if out.Ref != "" || len(out.AnyOf) > 0 {
			return nil, fail(kw + " does not apply to an object; put rules on its fields")
		}
		target := own()
		if !fits(kw, target) {
			// A rule of the items of a slice, or of the values of a map,
			// applies to each of them.
			switch inner := target.Items; {
			case target.Type.has(typeArray) && inner != nil && inner.Ref == "" && len(inner.AnyOf) == 0 && fits(kw, inner):
				items := *inner
				target.Items = &items
				target = &items
			case target.Type.has(typeObject) && target.AdditionalProperties != nil && target.AdditionalProperties.schema != nil:
				if v := target.AdditionalProperties.schema; v.Ref == "" && len(v.AnyOf) == 0 && fits(kw, v) {
					values := *v
					target.AdditionalProperties = &additional{&values}
					target = &values
				}
			}
		}
		if !fits(kw, target) {
			return nil, fail(fmt.Sprintf("%s does not apply to a JSON %s", kw, strings.Join(target.Type, " or ")))
		}
		if err := setKeyword(target, kw, v); err != nil {
			return nil, fail(err.Error())
		}
	}
	return out, nil
}

// fits reports whether keyword kw applies to s's type.
func fits(kw string, s *schema) bool {
	switch kw {
	case "example", "enum":
		return len(s.Type) > 0 && !s.Type.has(typeObject) && !s.Type.has(typeArray)
	case "format", "pattern", "minLength", "maxLength":
		return s.Type.has(typeString)
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
		return s.Type.has(typeNumber) || s.Type.has(typeInteger)
	case "minItems", "maxItems", "uniqueItems":
		return s.Type.has(typeArray)
	}
	return false
}

// setKeyword parses the tag value v of keyword kw into s.
func setKeyword(s *schema, kw, v string) error {
	switch kw {
	case "example":
		x, err := parseValue(s, v)
		if err != nil {
			return fmt.Errorf("example %q: %w", v, err)
		}
		s.Examples = []any{x}
	case "enum":
		var values []any
		for _, item := range strings.Split(v, ",") {
			x, err := parseValue(s, item)
			if err != nil {
				return fmt.Errorf("enum value %q: %w", item, err)
			}
			values = append(values, x)
		}
		if s.Type.has(typeNull) {
			values = append(values, nil)
		}
		s.Enum = values
	case "format":
		want, ok := formatType(v)
		if !ok {
			return fmt.Errorf("format %q is not one the validator checks (date-time, date, email, uuid, uri, ipv4, ipv6)", v)
		}
		if !s.Type.has(want) {
			return fmt.Errorf("format %q applies to a JSON %s", v, want)
		}
		s.Format = v
	case "pattern":
		if _, err := regexp.Compile(v); err != nil {
			return fmt.Errorf("pattern: %w", err)
		}
		s.Pattern = v
	case "minLength", "maxLength", "minItems", "maxItems":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%s must be a count, not %q", kw, v)
		}
		switch kw {
		case "minLength":
			s.MinLength = &n
		case "maxLength":
			s.MaxLength = &n
		case "minItems":
			s.MinItems = &n
		case "maxItems":
			s.MaxItems = &n
		}
	case "uniqueItems":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("uniqueItems must be true or false")
		}
		s.UniqueItems = b
	default: // the numeric bounds
		n, err := parseNumber(v)
		if err != nil {
			return fmt.Errorf("%s must be a number, not %q", kw, v)
		}
		if kw == "multipleOf" && n.f <= 0 {
			return fmt.Errorf("multipleOf must be above 0")
		}
		if s.Type.has(typeInteger) && !s.Type.has(typeNumber) && !n.isInt && kw != "multipleOf" {
			return fmt.Errorf("%s of an integer must be an integer, not %q", kw, v)
		}
		switch kw {
		case "minimum":
			s.Minimum = tighter(s.Minimum, n, true)
		case "maximum":
			s.Maximum = tighter(s.Maximum, n, false)
		case "exclusiveMinimum":
			s.ExclusiveMinimum = n
		case "exclusiveMaximum":
			s.ExclusiveMaximum = n
		case "multipleOf":
			s.MultipleOf = n
		}
	}
	return nil
}

// tighter keeps the stricter of a type's own bound (uint8's 255) and a
// tag's.
func tighter(old, n *number, lower bool) *number {
	if old == nil {
		return n
	}
	if lower == (n.f > old.f) {
		return n
	}
	return old
}

// parseValue reads a tag's value as a value of s's type: text for a
// string, a number for a number, true or false for a boolean.
func parseValue(s *schema, v string) (any, error) {
	switch {
	case s.Type.has(typeString):
		return v, nil
	case s.Type.has(typeInteger):
		return strconv.ParseInt(v, 10, 64)
	case s.Type.has(typeNumber):
		return strconv.ParseFloat(v, 64)
	case s.Type.has(typeBoolean):
		return strconv.ParseBool(v)
	}
	return nil, fmt.Errorf("no value of this type can be written in a tag")
}
