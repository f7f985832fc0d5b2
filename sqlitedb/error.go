package sqlitedb

import (
	"errors"

	"github.com/mattn/go-sqlite3"
	"github.com/walletd/walletd"
)

// FormatError turns SQLite's constraint failures into walletd errors, in
// one place: a UNIQUE or PRIMARY KEY failure becomes EConflict "The record
// already exists.", any other (a CHECK, a foreign key) EConflict "The
// change conflicts with existing data.". It looks through wrapping; other
// errors, and nil, are returned as they are. Callers wrap its result with
// their operation, so that the log keeps it and the API shows the message.
func FormatError(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) || se.Code != sqlite3.ErrConstraint {
		return err
	}
	switch se.ExtendedCode {
	case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
		return walletd.Errorf(walletd.EConflict, "The record already exists.")
	}
	return walletd.Errorf(walletd.EConflict, "The change conflicts with existing data.")
}
