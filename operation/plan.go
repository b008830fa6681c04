package operation

import (
	"fmt"
	"regexp"
	"strings"
)

// node is one schema compiled for checking: what the checker (check.go)
// needs at each value, worked out once at registration. A request is
// checked by walking its bytes beside these nodes; nothing is looked up by
// name or parsed from the document per request.
type node struct {
	types jsonTypes // the JSON types accepted; 0 accepts any value
	ref   *node     // a $ref: check against the component's node

	// strings
	minLen, maxLen int // -1: no bound
	pattern        *regexp.Regexp
	patternText    string
	format         string
	base64         bool
	goTime         bool // time.Time: its JSON text is parsed as is
	strEnum        []string

	// numbers
	minimum, maximum       *number
	exclusiveMin, exclMax  *number
	multipleOf             *number
	float32Range, unsigned bool
	numEnum                []*number

	// arrays
	items              *node
	minItems, maxItems int
	unique             bool

	// objects
	fields     []fieldNode
	byName     map[string]int // for objects of many members
	nRequired  int
	additional *node // the schema of other members (a map's values); nil with closed
	closed     bool  // additionalProperties: false
}

type fieldNode struct {
	name     string
	node     *node
	required bool
}

// jsonTypes is a set of JSON types.
type jsonTypes uint8

const (
	tNull jsonTypes = 1 << iota
	tBoolean
	tObject
	tArray
	tNumber
	tInteger
	tString
)

func (t jsonTypes) String() string {
	var names []string
	for i, n := range []string{typeNull, typeBoolean, typeObject, typeArray, typeNumber, typeInteger, typeString} {
		if t&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, " or ")
}

// noun names the JSON types of t other than null with their articles,
// for messages: "an integer", "a string or an array".
func (t jsonTypes) noun() string {
	if t&tNumber != 0 {
		t &^= tInteger // a number includes the integers
	}
	var names []string
	for i, n := range []string{"", "a boolean", "an object", "an array", "a number", "an integer", "a string"} {
		if i > 0 && t&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, " or ")
}

// compiler compiles the schemas of one API, components once each.
type compiler struct {
	components map[string]*schema
	nodes      map[string]*node
}

func newCompiler(components map[string]*schema) *compiler {
	return &compiler{components: components, nodes: map[string]*node{}}
}

// compile returns the node of s.
func (c *compiler) compile(s *schema) (*node, error) {
	if s.Ref != "" {
		name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
		if n, ok := c.nodes[name]; ok {
			return &node{ref: n, minLen: -1, maxLen: -1, minItems: -1, maxItems: -1}, nil
		}
		target, ok := c.components[name]
		if !ok {
			return nil, fmt.Errorf("no component %q", name)
		}
		n := &node{}
		c.nodes[name] = n // before compiling, so a recursive type finds it
		compiled, err := c.compile(target)
		if err != nil {
			return nil, err
		}
		*n = *compiled
		return &node{ref: n, minLen: -1, maxLen: -1, minItems: -1, maxItems: -1}, nil
	}
	n := &node{minLen: -1, maxLen: -1, minItems: -1, maxItems: -1}
	if len(s.AnyOf) > 0 {
		// The only anyOf this package writes: [$ref, {type: null}].
		var ref *node
		for _, alt := range s.AnyOf {
			if alt.Ref == "" && len(alt.Type) == 1 && alt.Type[0] == typeNull {
				continue
			}
			r, err := c.compile(alt)
			if err != nil {
				return nil, err
			}
			ref = r.ref
		}
		if ref == nil {
			return nil, fmt.Errorf("anyOf without a $ref")
		}
		n.ref, n.types = ref, tNull
		return n, nil
	}
	for _, t := range s.Type {
		n.types |= map[string]jsonTypes{
			typeNull: tNull, typeBoolean: tBoolean, typeObject: tObject, typeArray: tArray,
			typeNumber: tNumber | tInteger, typeInteger: tInteger, typeString: tString,
		}[t]
	}
	if s.MinLength != nil {
		n.minLen = *s.MinLength
	}
	if s.MaxLength != nil {
		n.maxLen = *s.MaxLength
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return nil, err
		}
		n.pattern, n.patternText = re, s.Pattern
	}
	n.format, n.goTime, n.unsigned = s.Format, s.goTime, s.goUnsigned
	n.base64 = s.ContentEncoding == "base64"
	n.float32Range = s.Format == "float"
	n.minimum, n.maximum = s.Minimum, s.Maximum
	n.exclusiveMin, n.exclMax = s.ExclusiveMinimum, s.ExclusiveMaximum
	n.multipleOf = s.MultipleOf
	for _, e := range s.Enum {
		switch v := e.(type) {
		case string:
			n.strEnum = append(n.strEnum, v)
		case int64:
			n.numEnum = append(n.numEnum, intNumber(v))
		case float64:
			n.numEnum = append(n.numEnum, &number{lit: fmt.Sprint(v), f: v})
		}
	}
	if s.Items != nil {
		items, err := c.compile(s.Items)
		if err != nil {
			return nil, err
		}
		n.items = items
	}
	if s.MinItems != nil {
		n.minItems = *s.MinItems
	}
	if s.MaxItems != nil {
		n.maxItems = *s.MaxItems
	}
	if s.UniqueItems {
		it := n.items
		for it != nil && it.ref != nil {
			it = it.ref
		}
		if it == nil || it.types&^(tString|tNumber|tInteger|tBoolean|tNull) != 0 || it.types == 0 {
			return nil, fmt.Errorf("uniqueItems is checked for arrays of strings, numbers and booleans only")
		}
		n.unique = true
	}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	for _, p := range s.Properties {
		fn, err := c.compile(p.schema)
		if err != nil {
			return nil, err
		}
		n.fields = append(n.fields, fieldNode{name: p.name, node: fn, required: required[p.name]})
		if required[p.name] {
			n.nRequired++
		}
	}
	if len(n.fields) > 8 {
		n.byName = make(map[string]int, len(n.fields))
		for i, f := range n.fields {
			n.byName[f.name] = i
		}
	}
	if a := s.AdditionalProperties; a != nil {
		if a.schema == nil {
			n.closed = true
		} else {
			add, err := c.compile(a.schema)
			if err != nil {
				return nil, err
			}
			n.additional = add
		}
	}
	return n, nil
}

// field returns the index of the member called name, or -1.
func (n *node) field(name []byte) int {
	if n.byName != nil {
		if i, ok := n.byName[string(name)]; ok {
			return i
		}
		return -1
	}
	for i := range n.fields {
		if n.fields[i].name == string(name) {
			return i
		}
	}
	return -1
}

// folded returns the member whose name equals name only when letter case
// is ignored, or "".
func (n *node) folded(name []byte) string {
	for i := range n.fields {
		if strings.EqualFold(n.fields[i].name, string(name)) {
			return n.fields[i].name
		}
	}
	return ""
}
