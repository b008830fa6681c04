package strictjson_test

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/svckit/svckit/internal/strictjson"
)

func ExampleCheck() {
	type claims struct {
		Roles []string `json:"roles"`
	}
	for _, doc := range []string{
		`{"roles":["user"]}`,
		`{"roles":["user"],"roles":["admin"]}`,
		`{"roles":["user"],"ROLES":["admin"]}`,
	} {
		var c claims
		_ = json.Unmarshal([]byte(doc), &c) // encoding/json accepts all three
		fmt.Println(c.Roles, strictjson.Check([]byte(doc), reflect.TypeFor[claims]()))
	}
	// Output:
	// [user] <nil>
	// [admin] json: a repeated member name (member "roles") at offset 18
	// [admin] json: a member name that differs from a field only by letter case (member "ROLES") at offset 18
}
