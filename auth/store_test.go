package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/internal/storetest"
)

// TestMain checks that no test leaves a goroutine behind (the contract
// starts a hundred at a time).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.RefreshStore { return auth.NewMemory(auth.MemoryOptions{}) })
}

func TestMemoryPrune(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var s auth.Memory
	short := auth.RefreshToken{Hash: auth.HashJTI("a"), Family: "f1", Subject: "u",
		ExpiresAt: now.Add(time.Minute), FamilyExpiresAt: now.Add(time.Minute)}
	long := auth.RefreshToken{Hash: auth.HashJTI("b"), Family: "f2", Subject: "u",
		ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.Create(ctx, short), "Create")
	require.NoError(t, s.Create(ctx, long), "Create")
	s.Prune(now.Add(30 * time.Minute))
	assert.Equal(t, 1, s.Len(), "Prune must drop only the expired token")
	err := s.Rotate(ctx, auth.Rotation{Old: short.Hash, Child: auth.RefreshToken{Hash: auth.HashJTI("c"), Family: "f1"}, Now: now})
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "a pruned token is unknown")
}

func TestHashJTI(t *testing.T) {
	h := auth.HashJTI("abc")
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", h.String(),
		"HashJTI must be the SHA-256 of the jti in hex")
}
