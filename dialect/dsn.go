package dialect

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// MySQLDSN turns a mysql://user:password@host:port/database?name=value URL
// into the data source name go-sql-driver/mysql opens,
// "user:password@tcp(host:port)/database?parseTime=true&name=value": port
// 3306 when the URL names none, parseTime on (DATETIME scans into
// time.Time, in UTC) and every query parameter passed on to the driver, in
// name order. The driver has no URL form of its own; this is the one
// place svckit writes its DSN, without importing it.
//
// It returns the url.Parse error for a malformed URL and an error for any
// scheme other than mysql.
func MySQLDSN(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	if u.Scheme != "mysql" {
		return "", fmt.Errorf("dialect: MySQLDSN wants a mysql:// URL, not %q", u.Scheme+"://")
	}
	var b strings.Builder
	if user := u.User.Username(); user != "" {
		b.WriteString(user)
		if pw, _ := u.User.Password(); pw != "" {
			b.WriteString(":" + pw)
		}
		b.WriteByte('@')
	}
	addr := u.Host
	if u.Port() == "" {
		addr += ":3306"
	}
	b.WriteString("tcp(" + addr + ")/" + url.PathEscape(strings.TrimPrefix(u.Path, "/")))
	b.WriteString("?parseTime=true")
	q := u.Query()
	for _, name := range slices.Sorted(maps.Keys(q)) {
		b.WriteString("&" + name + "=" + url.QueryEscape(q.Get(name)))
	}
	return b.String(), nil
}
