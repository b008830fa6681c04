// Command goclient runs the README's walkthrough of the example API
// through a Go client that CI generates from the document the running
// service serves (oapi-codegen; .ci/openapi/run): register, log in, read
// the caller, open two accounts, deposit, transfer with an
// Idempotency-Key (and replay it), and read the transfers a cursor page at
// a time. Every answer is read through the generated types; any status
// other than the walkthrough's fails the run.
//
//	goclient http://127.0.0.1:8080
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"svckit.ci/openapi/goclient/client"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: goclient BASE_URL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.NewClientWithResponses(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	email := fmt.Sprintf("go-client-%d@example.com", time.Now().UnixNano())

	reg, err := c.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{Email: openapi_types.Email(email), Password: "correct-horse", Name: "Go Client"})
	must(err, reg.HTTPResponse, reg.Body, http.StatusCreated)
	step("register", "user %s, roles %v", reg.JSON201.Data.Id, reg.JSON201.Data.Roles)

	bad, err := c.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{Email: openapi_types.Email(email), Password: "short", Name: ""})
	must(err, bad.HTTPResponse, bad.Body, http.StatusBadRequest)
	step("register refused", "%s with %d violations", bad.JSON400.Error.Code, len(*bad.JSON400.Error.Violations))

	login, err := c.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: email, Password: "correct-horse"})
	must(err, login.HTTPResponse, login.Body, http.StatusOK)
	token := login.JSON200.Data.AccessToken
	auth := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
	step("login", "%s token, expires in %d s", login.JSON200.Data.TokenType, login.JSON200.Data.ExpiresIn)

	me, err := c.GetMeWithResponse(ctx, auth)
	must(err, me.HTTPResponse, me.Body, http.StatusOK)
	step("me", "%s <%s>", me.JSON200.Data.Name, me.JSON200.Data.Email)

	var accounts [2]client.Account
	for i := range accounts {
		acc, err := c.OpenAccountWithResponse(ctx, client.OpenAccountJSONRequestBody{Currency: "EUR"}, auth)
		must(err, acc.HTTPResponse, acc.Body, http.StatusCreated)
		accounts[i] = acc.JSON201.Data
	}
	step("open accounts", "%s and %s", accounts[0].Id, accounts[1].Id)

	dep, err := c.DepositWithResponse(ctx, accounts[0].Id, client.DepositJSONRequestBody{Amount: 10000}, auth)
	must(err, dep.HTTPResponse, dep.Body, http.StatusOK)
	step("deposit", "balance %d", dep.JSON200.Data.Balance)

	key := fmt.Sprintf("go-client-%d", time.Now().UnixNano())
	for i, want := range []string{"", "true"} {
		tr, err := c.TransferWithResponse(ctx, &client.TransferParams{IdempotencyKey: &key},
			client.TransferJSONRequestBody{FromAccountId: accounts[0].Id, ToAccountId: accounts[1].Id, Amount: 2500}, auth)
		must(err, tr.HTTPResponse, tr.Body, http.StatusCreated)
		if got := tr.HTTPResponse.Header.Get("Idempotent-Replayed"); got != want {
			log.Fatalf("transfer %d: Idempotent-Replayed %q, want %q", i+1, got, want)
		}
		step("transfer", "%s moved %d (Idempotent-Replayed %q)", tr.JSON201.Data.Id, tr.JSON201.Data.Amount, want)
	}
	for range 2 { // a second transfer, so that the list has two pages of one
		tr, err := c.TransferWithResponse(ctx, nil,
			client.TransferJSONRequestBody{FromAccountId: accounts[0].Id, ToAccountId: accounts[1].Id, Amount: 100}, auth)
		must(err, tr.HTTPResponse, tr.Body, http.StatusCreated)
	}

	limit := int64(2)
	params := &client.ListTransfersParams{Limit: &limit}
	seen := 0
	for page := 1; ; page++ {
		list, err := c.ListTransfersWithResponse(ctx, accounts[0].Id, params, auth)
		must(err, list.HTTPResponse, list.Body, http.StatusOK)
		seen += len(list.JSON200.Data)
		cur := list.JSON200.Meta.Cursor
		step("transfers", "page %d: %d items, hasMore %v", page, len(list.JSON200.Data), cur.HasMore)
		if !cur.HasMore {
			break
		}
		params.Cursor = cur.Next
	}
	if seen != 3 {
		log.Fatalf("transfers: %d over the pages, want 3", seen)
	}
	get, err := c.GetAccountWithResponse(ctx, accounts[1].Id, auth)
	must(err, get.HTTPResponse, get.Body, http.StatusOK)
	if get.JSON200.Data.Balance != 2700 {
		log.Fatalf("balance of the target: %d, want 2700", get.JSON200.Data.Balance)
	}
	step("account", "target balance %d", get.JSON200.Data.Balance)
	fmt.Println("goclient: the walkthrough passed through the generated client")
}

func must(err error, res *http.Response, body []byte, want int) {
	if err != nil {
		log.Fatal(err)
	}
	if res.StatusCode != want {
		log.Fatalf("%s %s: status %d, want %d: %s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, body)
	}
}

func step(name, format string, args ...any) {
	fmt.Printf("%-17s %s\n", name, fmt.Sprintf(format, args...))
}
