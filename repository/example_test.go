package repository_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/repository"
	_ "modernc.org/sqlite" // registers "sqlite"
)

// Customer is the row type of the examples.
type Customer struct {
	ID        int64     `db:"id,pk" json:"id"`
	Email     string    `db:"email,unique" json:"email"`
	Name      string    `db:"name" json:"name"`
	CreatedAt time.Time `db:"created_at,created" json:"createdAt"`
	UpdatedAt time.Time `db:"updated_at,updated" json:"updatedAt"`
}

// Invoice belongs to a Customer.
type Invoice struct {
	ID         int64 `db:"id,pk"`
	CustomerID int64 `db:"customer_id"`
	Cents      int64 `db:"cents"`
}

func openExampleDB() *sql.DB {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		panic(err)
	}
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	for _, stmt := range []string{
		`CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
			created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)`,
		`CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, cents INTEGER NOT NULL)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			panic(err)
		}
	}
	return db
}

func Example() {
	ctx := context.Background()
	db := openExampleDB()
	defer db.Close()
	customers := repository.NewSQL[Customer, int64](db, dialect.SQLite, "customers", repository.Options[int64]{})

	ada := Customer{Email: "ada@example.com", Name: "Ada"}
	if err := customers.Create(ctx, &ada); err != nil {
		panic(err)
	}
	fmt.Println("created id", ada.ID)

	// Only the keys present change: "not set" differs from "set to zero".
	updated, err := customers.Update(ctx, ada.ID, repository.Set{"name": "Ada Lovelace"})
	if err != nil {
		panic(err)
	}
	fmt.Println("renamed to", updated.Name, "email kept:", updated.Email)

	dup := Customer{Email: "ada@example.com", Name: "Impostor"}
	err = customers.Create(ctx, &dup)
	fmt.Println("duplicate email conflicts:", errors.Is(err, repository.ErrConflict))

	_, err = customers.FindByID(ctx, 42)
	fmt.Println("missing row:", errors.Is(err, repository.ErrNotFound))

	_, err = customers.FindMany(ctx, repository.FindOptions{OrderBy: "password"})
	fmt.Println("unknown orderBy:", errors.Is(err, repository.ErrInvalidField))
	// Output:
	// created id 1
	// renamed to Ada Lovelace email kept: ada@example.com
	// duplicate email conflicts: true
	// missing row: true
	// unknown orderBy: true
}

func ExampleSQL_FindPage() {
	ctx := context.Background()
	db := openExampleDB()
	defer db.Close()
	customers := repository.NewSQL[Customer, int64](db, dialect.SQLite, "customers",
		repository.Options[int64]{CursorKey: []byte("a 32-byte secret shared by all instances")})
	for _, name := range []string{"Eve", "Bob", "Dan", "Ann", "Cat"} {
		c := Customer{Email: name + "@example.com", Name: name}
		if err := customers.Create(ctx, &c); err != nil {
			panic(err)
		}
	}
	opts := repository.PageOptions{OrderBy: "name", Limit: 2}
	for {
		page, err := customers.FindPage(ctx, opts)
		if err != nil {
			panic(err)
		}
		for _, c := range page.Items {
			fmt.Print(c.Name, " ")
		}
		fmt.Println("| more:", page.HasMore)
		if !page.HasMore {
			break
		}
		opts.Cursor = page.NextCursor
	}
	// Output:
	// Ann Bob | more: true
	// Cat Dan | more: true
	// Eve | more: false
}

func ExampleLoadMany() {
	ctx := context.Background()
	db := openExampleDB()
	defer db.Close()
	customers := repository.NewSQL[Customer, int64](db, dialect.SQLite, "customers", repository.Options[int64]{})
	invoices := repository.NewSQL[Invoice, int64](db, dialect.SQLite, "invoices", repository.Options[int64]{})
	for i, name := range []string{"Ann", "Bob", "Cat"} {
		c := Customer{Email: name + "@example.com", Name: name}
		if err := customers.Create(ctx, &c); err != nil {
			panic(err)
		}
		for j := range i {
			inv := Invoice{CustomerID: c.ID, Cents: int64(100 * (j + 1))}
			if err := invoices.Create(ctx, &inv); err != nil {
				panic(err)
			}
		}
	}
	page, err := customers.FindMany(ctx, repository.FindOptions{OrderBy: "name"})
	if err != nil {
		panic(err)
	}
	// One query for the page above, one for every invoice of the page.
	byCustomer, err := repository.LoadMany(ctx, invoices, "customer_id", page,
		func(c Customer) int64 { return c.ID })
	if err != nil {
		panic(err)
	}
	for _, c := range page {
		fmt.Println(c.Name, len(byCustomer[c.ID]), "invoices")
	}
	// Output:
	// Ann 0 invoices
	// Bob 1 invoices
	// Cat 2 invoices
}

func ExamplePatch() {
	ctx := context.Background()
	customers := repository.NewMemory[Customer, int64](repository.MemoryOptions[int64]{Name: "customers"})
	c := Customer{Email: "ann@example.com", Name: "Ann"}
	if err := customers.Create(ctx, &c); err != nil {
		panic(err)
	}
	// A patch struct: field names and value types are checked by the
	// compiler, its shape by NewPatch (once, as the program starts);
	// absent Optionals leave their column alone.
	type CustomerPatch struct {
		Name  repository.Optional[string] `db:"name" json:"name"`
		Email repository.Optional[string] `db:"email" json:"email"`
	}
	customerPatch := repository.NewPatch[CustomerPatch]()
	var p CustomerPatch
	if err := json.Unmarshal([]byte(`{"name":"Anne"}`), &p); err != nil { // a PATCH body
		panic(err)
	}
	got, err := customers.Update(ctx, c.ID, customerPatch.Of(p))
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Name, got.Email)
	// Output:
	// Anne ann@example.com
}

func ExampleNewUUIDv7() {
	type Note struct {
		ID   repository.UUID `db:"id,pk"`
		Body string          `db:"body"`
	}
	notes := repository.NewMemory[Note](repository.MemoryOptions[repository.UUID]{
		Name:    "notes",
		Options: repository.Options[repository.UUID]{NewID: repository.NewUUIDv7},
	})
	n := Note{Body: "hello"}
	if err := notes.Create(context.Background(), &n); err != nil {
		panic(err)
	}
	fmt.Println(int(n.ID.Version()), len(n.ID.String()))
	// Output:
	// 7 36
}

// Account is stored with a secret that no client may sort or filter on.
type Account struct {
	ID           int64  `db:"id,pk" json:"id"`
	Email        string `db:"email,unique" json:"email"`
	PasswordHash string `db:"password_hash,private" json:"-"`
}

// Columns tagged private (and fields tagged json:"-") answer filters and
// orders as if they did not exist, and Create chooses the id whatever a
// decoded request body said.
func Example_privateColumns() {
	ctx := context.Background()
	accounts := repository.NewMemory[Account, int64](repository.MemoryOptions[int64]{Name: "accounts"})
	var a Account
	if err := json.Unmarshal([]byte(`{"id":42,"email":"ada@example.com"}`), &a); err != nil {
		panic(err)
	}
	a.PasswordHash = "$argon2id$..."
	if err := accounts.Create(ctx, &a); err != nil {
		panic(err)
	}
	fmt.Println("id chosen by the repository:", a.ID)

	for _, orderBy := range []string{"password_hash", "no_such_column", "email"} {
		_, err := accounts.FindMany(ctx, repository.FindOptions{OrderBy: orderBy})
		fmt.Printf("orderBy %s: %v\n", orderBy, err)
	}
	// Output:
	// id chosen by the repository: 1
	// orderBy password_hash: repository: orderBy: unknown field "password_hash"
	// orderBy no_such_column: repository: orderBy: unknown field "no_such_column"
	// orderBy email: <nil>
}
