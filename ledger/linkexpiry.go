package ledger

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/walletd/walletd"
)

// LinkExpirer cancels, through the writer, the orders whose payment link
// expired while they were still pending (ExpirePaymentLink). Open
// schedules the links of the pending orders found in the store, so that
// expiries survive a restart; Schedule adds the link of a new order.
type LinkExpirer struct {
	Writer walletd.Submitter
	Reader walletd.LedgerReader
	Logger *slog.Logger
	// Now is the clock the links' expiries are read on (default
	// time.Now): the writer's.
	Now func() time.Time
	// Margin is waited after a link's expiry before expiring it (default
	// 50 ms), so that the writer's clock has passed it.
	Margin time.Duration
	// OnExpired, if set, is called for each order cancelled.
	OnExpired func(orderID int64)

	mu     sync.Mutex
	timers map[int64]*time.Timer
	closed bool
	wg     sync.WaitGroup
}

// Open schedules the expiry of every payment link of a pending order in
// the store.
func (x *LinkExpirer) Open(ctx context.Context) error {
	if x.Logger == nil {
		x.Logger = slog.Default()
	}
	if x.Now == nil {
		x.Now = time.Now
	}
	if x.Margin == 0 {
		x.Margin = 50 * time.Millisecond
	}
	x.mu.Lock()
	x.timers = make(map[int64]*time.Timer)
	x.mu.Unlock()
	after := ""
	for {
		page, err := x.Reader.Objects(ctx, walletd.ObjPaymentLink, after, 1000)
		if err != nil {
			return err
		}
		for _, v := range page {
			l, ok := v.(*walletd.PaymentLink)
			if !ok {
				continue
			}
			after = walletd.IntKey(l.OrderID)
			if l.Status == walletd.LinkExpired {
				continue
			}
			ov, err := x.Reader.Object(ctx, walletd.ObjShopOrder, after)
			if err != nil {
				return err
			}
			if o, ok := ov.(*walletd.ShopOrder); ok && o.Status == walletd.OrderPending {
				x.Schedule(l.OrderID, l.ExpiryAt())
			}
		}
		if len(page) < 1000 {
			return nil
		}
	}
}

// Pending returns how many expiries are scheduled.
func (x *LinkExpirer) Pending() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.timers)
}

// Schedule expires order id's payment link at (after the margin).
func (x *LinkExpirer) Schedule(id int64, at time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed || x.timers == nil {
		return
	}
	if t := x.timers[id]; t != nil {
		t.Stop()
	}
	x.timers[id] = time.AfterFunc(at.Sub(x.Now())+x.Margin, func() { x.fire(id, at) })
}

func (x *LinkExpirer) fire(id int64, at time.Time) {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return
	}
	delete(x.timers, id)
	x.wg.Add(1)
	x.mu.Unlock()
	defer x.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := x.Writer.Submit(ctx, "", &ExpirePaymentLink{OrderID: id})
	switch walletd.ErrorCode(err) {
	case "":
		x.Logger.Info("payment link expired, order cancelled", "order_id", id)
		if x.OnExpired != nil {
			x.OnExpired(id)
		}
	case walletd.ENotFound:
	case walletd.EConflict:
		// Paid, cancelled or expired already: nothing to do; but if the
		// order is still pending, the writer's clock had not reached the
		// expiry yet: try again.
		if x.stillPending(ctx, id) {
			x.retry(id, at, time.Second)
		}
	default:
		x.Logger.Warn("expire payment link: retrying", "order_id", id, walletd.LogError, err)
		x.retry(id, at, time.Second)
	}
}

// retry fires order id's expiry again after d.
func (x *LinkExpirer) retry(id int64, at time.Time, d time.Duration) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.closed {
		x.timers[id] = time.AfterFunc(d, func() { x.fire(id, at) })
	}
}

// stillPending reports whether order id is pending with its link not
// expired, as stored.
func (x *LinkExpirer) stillPending(ctx context.Context, id int64) bool {
	lv, err := x.Reader.Object(ctx, walletd.ObjPaymentLink, walletd.IntKey(id))
	if l, ok := lv.(*walletd.PaymentLink); err != nil || !ok || l.Status == walletd.LinkExpired {
		return false
	}
	ov, err := x.Reader.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(id))
	o, ok := ov.(*walletd.ShopOrder)
	return err == nil && ok && o.Status == walletd.OrderPending
}

// Close stops the timers and waits for expiries under way. What is left
// is scheduled again by the next Open.
func (x *LinkExpirer) Close() error {
	x.mu.Lock()
	x.closed = true
	for _, t := range x.timers {
		t.Stop()
	}
	x.timers = nil
	x.mu.Unlock()
	x.wg.Wait()
	return nil
}
