package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/svckit/svckit/dialect"
)

// leaseSQL is the statements of the leases in svckit_outbox_leases.
type leaseSQL struct{ insert, take, release string }

func newLeaseSQL(d dialect.Dialect) leaseSQL {
	insert := `INSERT INTO svckit_outbox_leases (name, owner, expires_at) VALUES (?, ?, 0) ON CONFLICT (name) DO NOTHING`
	if d == dialect.MySQL {
		insert = `INSERT IGNORE INTO svckit_outbox_leases (name, owner, expires_at) VALUES (?, ?, 0)`
	}
	return leaseSQL{
		insert:  d.Rebind(insert),
		take:    d.Rebind(`UPDATE svckit_outbox_leases SET owner = ?, expires_at = ? WHERE name = ? AND (owner = ? OR expires_at < ?)`),
		release: d.Rebind(`UPDATE svckit_outbox_leases SET expires_at = 0 WHERE name = ? AND owner = ?`),
	}
}

// lease takes or renews the lease name for owner until ttl from now, and
// reports whether owner holds it: it is free, lapsed, or owner's already.
func (o *Outbox) lease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if _, err := o.db.ExecContext(ctx, o.leases.insert, name, owner); err != nil {
		return false, fmt.Errorf("outbox: lease %s: %w", name, dialect.Wrap(err))
	}
	now := time.Now()
	res, err := o.db.ExecContext(ctx, o.leases.take, owner, now.Add(ttl).UnixMicro(), name, owner, now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("outbox: lease %s: %w", name, dialect.Wrap(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("outbox: lease %s: %w", name, dialect.Wrap(err))
	}
	return n == 1, nil
}

// unlease gives up owner's lease name, so that another takes it at once.
func (o *Outbox) unlease(ctx context.Context, name, owner string) error {
	if _, err := o.db.ExecContext(ctx, o.leases.release, name, owner); err != nil {
		return fmt.Errorf("outbox: release lease %s: %w", name, dialect.Wrap(err))
	}
	return nil
}

// Lease takes or renews, for owner, the right to be the one active
// subscription of c until ttl from now, and reports whether owner holds
// it. A broker adapter calls it before it fetches and then every ttl/3: one
// subscription at a time per consumer keeps the order of each key across
// processes; the others wait as hot standbys. Choose ttl longer than the
// broker's redelivery wait (natsjs: AckWait), so that what a dead holder
// had in hand is redelivered before its successor fetches anything newer.
func (c *Consumer) Lease(ctx context.Context, owner string, ttl time.Duration) (bool, error) {
	return c.o.lease(ctx, "consumer."+c.name, owner, ttl)
}

// Release gives up owner's lease of c, so that a standby takes over at
// once.
func (c *Consumer) Release(ctx context.Context, owner string) error {
	return c.o.unlease(ctx, "consumer."+c.name, owner)
}
