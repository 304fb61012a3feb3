package quorum

import (
	"errors"
	"io"
)

// NewMetadataMachine returns the metadata-image state machine.
// TODO(quorum): replaced by the image-backed machine once image and translate/batch land.
func NewMetadataMachine() Machine { return unbuiltMachine{} }

type unbuiltMachine struct{}

var errUnbuilt = errors.New("metadata image machine not available in this build")

func (unbuiltMachine) ApplyBatch([]byte, int64, int32) (int, error) { return 0, errUnbuilt }
func (unbuiltMachine) Capture() (Checkpoint, error)                 { return nil, errUnbuilt }
func (unbuiltMachine) Restore(io.Reader) error                      { return errUnbuilt }
