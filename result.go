package walletd

// Result is the outcome of a command: the entries it appended, in seq
// order. A replayed request gets the entries of the original one.
type Result struct {
	Entries  []*Entry
	Replayed bool
	// Object is the object the command created or changed (a *Topup, a
	// *Withdrawal, an *Order …), or nil for commands that have none.
	Object any
}
