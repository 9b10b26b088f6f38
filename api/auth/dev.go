package auth

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DevTokensFile is the tokens file of a development data directory.
const DevTokensFile = "dev-tokens.json"

// DevTokenFile is the file of a development data directory holding the
// plain development token of role: dev-token for the producer (the name
// scripts have read since development mode made only that token), and
// dev-token-<role> for every other role.
func DevTokenFile(role Role) string {
	if role == Producer {
		return "dev-token"
	}
	return "dev-token-" + string(role)
}

// DevName is the tokens-file name of the development token of role.
func DevName(role Role) string { return "dev-" + string(role) }

// EnsureDev returns one development token per role (Roles) for the data
// directory dir and the path of the tokens file that authenticates them.
//
// Contracts: a token, once made, is kept across restarts (only roles
// without a token get a new one, so a directory made when development
// mode had only a producer token gains the others); every file is mode
// 0600; the plain tokens are kept only so that development mode can print
// them on every start, and MUST NOT be used outside development.
func EnsureDev(dir string) (map[Role]string, string, error) {
	toks := make(map[Role]string, len(roles))
	var entries []Entry
	for _, role := range roles {
		path := filepath.Join(dir, DevTokenFile(role))
		b, err := os.ReadFile(path)
		switch {
		case err == nil && strings.TrimSpace(string(b)) != "":
			tok := strings.TrimSpace(string(b))
			toks[role] = tok
			entries = append(entries, entryFor(DevName(role), role, tok))
			continue
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return nil, "", err
		}
		tok, e, err := NewToken(DevName(role), role)
		if err != nil {
			return nil, "", err
		}
		if err := writePrivate(path, []byte(tok+"\n")); err != nil {
			return nil, "", err
		}
		toks[role] = tok
		entries = append(entries, e)
	}
	b, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, DevTokensFile)
	if err := writePrivate(path, append(b, '\n')); err != nil {
		return nil, "", err
	}
	return toks, path, nil
}

// writePrivate writes b to path with mode 0600 (also when the file was
// there before with another mode). Development files only: a crash while
// writing costs a development token, which the next start makes again.
func writePrivate(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}
