package testenv

import (
	"context"
	"errors"
)

func newDockerBackend(ctx context.Context, e *Env) (backend, error) {
	return nil, errors.New("docker backend: not implemented yet")
}

const dockerBackendReady = false
