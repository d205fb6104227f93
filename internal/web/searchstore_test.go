// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/search"
)

// slowStore is an event store that answers nothing before its caller's
// deadline: every call waits for the context to end and returns its error,
// as the real store does when a query runs too long.
type slowStore struct{}

func (slowStore) Search(ctx context.Context, q search.Query) (search.Page, error) {
	<-ctx.Done()
	return search.Page{}, ctx.Err()
}

func (slowStore) Count(ctx context.Context, q search.Query) (int64, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func (slowStore) Histogram(ctx context.Context, q search.Query, step time.Duration) ([]search.Bucket, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (slowStore) Top(ctx context.Context, q search.Query, field string, n int, rare bool) ([]search.Value, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (slowStore) CountBy(ctx context.Context, q search.Query, fields []string, limit int) ([]search.Group, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (slowStore) Get(ctx context.Context, tenant string, id event.ID) (event.Event, error) {
	<-ctx.Done()
	return event.Event{}, ctx.Err()
}
