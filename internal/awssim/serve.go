package awssim

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Serve starts a simulator, writes Banner to diag and the environment to
// export to out (shell syntax, credentials of account), and serves until
// ctx is done. It is what `deployctl rehearse` runs.
func Serve(ctx context.Context, opts Options, account string, out, diag io.Writer) error {
	sim, err := Start(opts)
	if err != nil {
		return err
	}
	defer func() { _ = sim.Close() }()
	if _, err := fmt.Fprintf(diag, "%s.\nListening on %s (region %s, account %s). Service endpoints: GET %s/_sim/endpoints; faults: POST %s/_sim/scenario. Stop with Ctrl-C.\n",
		Banner, sim.URL(), sim.Region(), account, sim.URL(), sim.URL()); err != nil {
		return err
	}
	if err := WriteExports(out, sim.Env(account)); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// WriteExports writes env as shell export lines, sorted, values quoted.
func WriteExports(w io.Writer, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# " + Banner + "\n")
	for _, k := range keys {
		if env[k] == "" {
			fmt.Fprintf(&b, "unset %s\n", k)
			continue
		}
		fmt.Fprintf(&b, "export %s='%s'\n", k, strings.ReplaceAll(env[k], "'", `'\''`))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
