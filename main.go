// Command lastcall is a tiny init for containers and start commands: it runs
// COMMAND as its child, forwards signals, escalates to SIGKILL after a grace
// period, reaps zombies and cleans up every descendant.
//
//	lastcall [flags] [--] COMMAND [ARG...]
//	lastcall healthcheck (--http URL | --tcp HOST:PORT | --db[=URL])
//	lastcall version
//
// Flags stop at COMMAND: in `lastcall gunicorn -w 4 app:app`, `-w 4` belongs
// to gunicorn. To run a command named like a subcommand, put `--` first
// (`lastcall -- version`). Every flag also reads LASTCALL_<FLAG> (upper snake
// case, e.g. LASTCALL_GRACE) when it is not given; the flag wins. An empty
// variable counts as unset; an empty flag value (--grace=) is a usage error.
//
// # Exit codes
//
//   - the child's exit code, or 128+N when signal N killed it, after the
//     --remap-exit rewrites
//   - 126: COMMAND was found but could not be executed
//   - 127: COMMAND was not found
//   - 2: usage error (one line on stderr naming the flag or variable; the
//     child is never started)
//   - 1: lastcall itself failed (an error that is not the child's), or a
//     resource limit is too low for it (one line naming the limit; the child
//     is never started)
//   - 3: --db-strict and the drain check found a leak or a rollback; 4: --wait-db
//     gave up; 5: a PostgreSQL server of the tree was not shut down cleanly
//
// # Logs
//
// lastcall logs to stderr only; stdout belongs to the app. A run that ends by
// itself with no leftovers prints nothing at the default level.
//
// # SIGURG
//
// SIGURG is forwarded only when lastcall's own GODEBUG turns async preemption
// off (asyncpreemptoff=1): otherwise the Go runtime sends itself SIGURG and
// those must never reach the child.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lastcall-dev/lastcall/internal/cli"
	"github.com/lastcall-dev/lastcall/internal/earlysignals"
	"github.com/lastcall-dev/lastcall/internal/logsink"
	"github.com/lastcall-dev/lastcall/internal/redact"
	"github.com/lastcall-dev/lastcall/supervisor"
)

// version is the release version; set with -ldflags '-X main.version=v1.2.3'.
// When empty, the main module's version from the build info is used.
var version = ""

// commit is the source revision; set with -ldflags '-X main.commit=...'.
// When empty, the VCS stamp in the build info is used, if any.
var commit = ""

// exitFlush is how long lastcall's last lines get to reach a stalled
// stderr before lastcall exits anyway.
const exitFlush = 250 * time.Millisecond

func main() {
	supervisor.ExecTrampoline() // returns unless this is a socket-activated child on its way to exec
	env := cli.Env{LookupEnv: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr, StartPPID: os.Getppid()}
	defer redact.ScrubPanics(cli.DatabaseURLs(os.Args[1:], os.Getenv)...)
	// Subscribe first thing, so that a stop signal in lastcall's first
	// milliseconds is queued, not fatal, and its cost overlaps the setup.
	env.Signals = supervisor.Subscribe(cli.AsyncPreemptOff(os.Getenv("GODEBUG")), earlysignals.Channel())
	// lastcall's own output never makes it wait: a full, closed or broken
	// stderr costs lines (counted), never a forward, a deadline or the exit.
	stderr, err := logsink.New(2, logsink.Options{})
	if err == nil {
		env.Stderr = stderr
	}
	code := execute(context.Background(), os.Args[1:], env)
	if stderr != nil {
		stderr.Close(exitFlush)
	}
	os.Exit(code)
}

// execute runs lastcall with args and returns its exit code. An error that
// is not the child's or the probe's is printed to stderr as one line.
func execute(ctx context.Context, args []string, env cli.Env) int {
	cmd := newRootCommand(env)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	code, print := cli.ExitCode(err)
	if print {
		fmt.Fprintf(env.Stderr, "lastcall: %v\n", redact.Text(err.Error()))
	}
	return code
}

// newRootCommand builds the commands. Each RunE only resolves its settings
// and calls into internal/cli; the exit code travels back as an error.
func newRootCommand(env cli.Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "lastcall [flags] [--] COMMAND [ARG...]",
		Short: "Run COMMAND as a supervised child: forward signals, escalate, reap, clean up",
		Long: "lastcall runs COMMAND as its child, forwards signals to it, sends SIGKILL to the whole\n" +
			"tree when the child outlives --grace after a stop signal, reaps zombies and terminates\n" +
			"leftover descendants. Every flag also reads LASTCALL_<FLAG> (e.g. LASTCALL_GRACE);\n" +
			"the flag wins.",
		Args:              cobra.ArbitraryArgs,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := cli.Resolve(cmd.Flags(), args, env.LookupEnv)
			if err != nil {
				return err
			}
			return &cli.ExitError{Code: cli.Run(cmd.Context(), s, env)}
		},
	}
	root.Flags().SetInterspersed(false)
	cli.RegisterFlags(root.Flags())
	root.SetFlagErrorFunc(cli.FlagErrors)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.AddCommand(newVersionCommand(env), newHealthcheckCommand(env))
	return root
}

func newVersionCommand(env cli.Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print lastcall's version",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("version takes no arguments (to run a command named version: lastcall -- version)")
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(env.Stdout, versionLine())
			return err
		},
	}
}

func newHealthcheckCommand(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "healthcheck (--http URL | --tcp HOST:PORT | --db[=URL]) [--timeout DURATION]",
		Short: "Probe once, for Docker HEALTHCHECK and exec probes: exit 0 healthy, 1 unhealthy",
		Long: "healthcheck runs one probe, all of it within --timeout, and exits 0 when healthy\n" +
			"(one line on stdout: \"healthy: ...\"), 1 when not (one line on stderr: \"unhealthy: ...\"),\n" +
			"2 on a usage error. It needs no shell, curl or /etc files: it works in FROM scratch images.\n" +
			"Give the database URL in LASTCALL_DB_URL or DATABASE_URL rather than on the command line,\n" +
			"where every process can read it. Every flag also reads LASTCALL_<FLAG>; the flag wins.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("unexpected argument %q: healthcheck takes flags only; to give --db a URL write --db=URL "+
					"(better: put it in LASTCALL_DB_URL or DATABASE_URL)", redact.Redact(args[0]))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if env.Signals != nil {
				env.Signals.Release() // a probe runs no child: signals act as usual
			}
			p, err := cli.ResolveProbe(cmd.Flags(), env.LookupEnv)
			if err != nil {
				return err
			}
			return &cli.ExitError{Code: cli.RunProbe(cmd.Context(), p, env.Stdout, env.Stderr)}
		},
	}
	cli.RegisterProbeFlags(cmd.Flags())
	cmd.SetFlagErrorFunc(cli.ProbeFlagErrors)
	return cmd
}

// versionLine is "lastcall VERSION (commit COMMIT, go GOVERSION)".
func versionLine() string {
	v, c := "(devel)", "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				c = s.Value
			}
		}
	}
	if version != "" {
		v = version
	}
	if commit != "" {
		c = commit
	}
	return fmt.Sprintf("lastcall %s (commit %s, go %s)", v, c, strings.TrimPrefix(runtime.Version(), "go"))
}
