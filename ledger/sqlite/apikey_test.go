package sqlite_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/walletd/walletd"
)

func TestDB_APIKeys(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	var keys []*walletd.APIKey
	var tokens []string
	for i, scopes := range [][]string{{walletd.ScopeAdmin}, {walletd.ScopeWalletsRead, walletd.ScopeWalletsWrite}, {walletd.ScopeWalletsRead}} {
		k, token, err := walletd.NewAPIKey(fmt.Sprintf("key %d", i), scopes, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		keys, tokens = append(keys, k), append(tokens, token)
	}
	got, err := db.APIKey(ctx, keys[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "key 1" || !reflect.DeepEqual(got.Scopes, keys[1].Scopes) || !got.CreatedAt.Equal(keys[1].CreatedAt) || got.RevokedAt != nil {
		t.Fatalf("APIKey = %+v", got)
	}
	id, secret, ok := walletd.SplitToken(tokens[1])
	if !ok || id != keys[1].ID || !got.Matches(secret) || got.Matches(secret+"x") {
		t.Fatal("the stored key does not match its token")
	}
	list, err := db.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || !sort.SliceIsSorted(list, func(i, j int) bool { return list[i].ID > list[j].ID }) {
		t.Fatalf("APIKeys() not newest (highest id) first: %v", list)
	}

	t.Run("ErrConflict", func(t *testing.T) {
		if err := db.CreateAPIKey(ctx, keys[0]); walletd.ErrorCode(err) != walletd.EConflict {
			t.Fatalf("CreateAPIKey(duplicate) = %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := db.APIKey(ctx, "wdk_nope"); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatalf("APIKey(wdk_nope) = %v", err)
		}
		if err := db.RevokeAPIKey(ctx, "wdk_nope", time.Now()); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatalf("RevokeAPIKey(wdk_nope) = %v", err)
		}
	})
	t.Run("Revoke", func(t *testing.T) {
		at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
		if err := db.RevokeAPIKey(ctx, keys[2].ID, at); err != nil {
			t.Fatal(err)
		}
		k, err := db.APIKey(ctx, keys[2].ID)
		if err != nil {
			t.Fatal(err)
		}
		if k.RevokedAt == nil || !k.RevokedAt.Equal(at) {
			t.Fatalf("revoked_at %v", k.RevokedAt)
		}
		if err := db.RevokeAPIKey(ctx, keys[2].ID, at); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatalf("revoking twice: %v", err)
		}
	})
}
