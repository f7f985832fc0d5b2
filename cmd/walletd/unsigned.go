package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/keyfile"
)

// unsignedMarkFile records, in the data dir (0600), the adoption of a
// stream written before walletd signed its messages (bus.UnsignedMark):
// `walletd serve --adopt-unsigned-stream` writes it once.
const unsignedMarkFile = "relay-unsigned.json"

// loadUnsignedMark reads the mark at path; a missing file is no mark.
func loadUnsignedMark(path string) (*bus.UnsignedMark, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("unsigned stream mark: %w", err)
	}
	var m bus.UnsignedMark
	if err := json.Unmarshal(b, &m); err != nil || m.Stream == "" {
		return nil, fmt.Errorf("unsigned stream mark: %s does not parse", path)
	}
	return &m, nil
}

// unsignedThrough returns the stream sequence up to which unsigned
// messages are walletd's: from the data dir's mark when it was made for
// this stream; with adopt and no mark yet, after checking every unsigned
// message against the ledger (CheckUnsigned), which a mismatch fails.
// Without a mark, a stream whose last message carries no MAC is logged
// with what to do.
func unsignedThrough(ctx context.Context, dataDir string, js jetstream.JetStream, stream, prefix string, src bus.Source, adopt bool, logger *slog.Logger) (uint64, error) {
	path := filepath.Join(dataDir, unsignedMarkFile)
	mark, err := loadUnsignedMark(path)
	if err != nil {
		return 0, err
	}
	s, serr := js.Stream(ctx, stream)
	var info *jetstream.StreamInfo
	if serr == nil {
		info, serr = s.Info(ctx)
	}
	switch {
	case mark == nil && adopt:
		if serr != nil {
			return 0, fmt.Errorf("--adopt-unsigned-stream: the stream must be reachable: %w", serr)
		}
		if mark, err = bus.CheckUnsigned(ctx, js, stream, src); err != nil {
			return 0, fmt.Errorf("--adopt-unsigned-stream: %w (look into that message; remove it with nats stream rmm %s <seq> if it is not walletd's, then start again)", err, stream)
		}
		if mark.Unsigned == 0 {
			logger.Info("--adopt-unsigned-stream: the stream holds no unsigned message; nothing to adopt", walletd.LogStream, stream)
			return 0, nil
		}
		if err := keyfile.WriteAtomic(path, mustJSON(mark), 0o600); err != nil {
			return 0, err
		}
		logger.Warn("adopted the stream's unsigned messages: each was checked against the ledger; messages after this stream seq must carry walletd's MAC",
			walletd.LogStream, stream, walletd.LogStreamSeq, mark.Through, "unsigned", mark.Unsigned, "mark", path)
	case mark == nil:
		if serr == nil && info.State.Msgs > 0 {
			if m, err := s.GetLastMsgForSubject(ctx, events.StreamSubjects(prefix)); err == nil && m.Header.Get(bus.HeaderMAC) == "" {
				logger.Error("the stream's last message carries no MAC: if the stream was written by a walletd from before messages were signed, check and adopt it once with walletd serve --adopt-unsigned-stream (docs/operations.md, Security)",
					walletd.LogStream, stream, walletd.LogStreamSeq, m.Sequence)
			}
		}
		return 0, nil
	case serr == nil && !mark.Applies(info):
		logger.Warn("the unsigned stream mark is for another stream (made again since): it does not apply", walletd.LogStream, stream, "mark", path)
		return 0, nil
	case serr != nil:
		logger.Warn("the stream is not reachable to check the unsigned stream mark against; applying it", walletd.LogStream, stream, walletd.LogError, serr)
	}
	return mark.Through, nil
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}
