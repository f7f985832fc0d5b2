package walletd

// EntryIterator yields ledger entries in seq order: the database's entries
// (ledger/sqlite) or an export's (ledger/export), for ledger.Verify and for
// walletd export. Next fills e and returns false after the last entry.
//
// An error with a BadSeq() uint64 method names an entry that could not be
// read (a tampered row, a damaged export line); the verifier reports that
// seq as the first bad one instead of failing to run.
type EntryIterator interface {
	Next(e *Entry) (bool, error)
}
