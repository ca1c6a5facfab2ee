using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Ssh;

/// <summary>
/// Builds the command line sent in the SSH exec request. sshd runs it with the user's login shell
/// as the leader of a new session and process group, so <c>$$</c> is the group to kill later; the
/// line reports it on stderr behind a marker, then <c>exec</c>s (same PID) into <c>env</c> and
/// <c>sh -c</c>. Environment and cwd go through the command line, not SSH env requests, because
/// sshd drops variables that AcceptEnv does not list.
/// </summary>
internal static partial class RemoteCommand
{
    /// <summary>First stderr line: <c>\x1E orchestrator-pgid=N \n</c>; the record separator keeps it from matching real output.</summary>
    internal const string PgidMarker = "\u001Eorchestrator-pgid=";

    internal static string Build(SshExecRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Command, nameof(request.Command));
        var builder = new StringBuilder();
        builder.Append("printf '\\036orchestrator-pgid=%s\\n' \"$$\" >&2 && ");
        if (request.StandardInput is not null)
        {
            // SSH.NET sends no EOF for an input stream closed before anything was written, and a streamed stdin may
            // turn out empty: every stdin starts with a newline (see RemoteExecution), read away here, before the
            // command runs. A shell's read builtin takes a pipe byte by byte, so nothing after the newline is consumed.
            builder.Append("IFS= read -r orchestrator_stdin && ");
        }

        if (request.WorkingDirectory is { } directory)
        {
            if (directory.Length == 0)
            {
                throw Invalid(nameof(request.WorkingDirectory), "WorkingDirectory must not be empty.");
            }

            builder.Append("cd -- ").Append(ShellQuote.Quote(directory, nameof(request.WorkingDirectory))).Append(" && ");
        }

        builder.Append("exec ");
        if (request.Environment is { Count: > 0 } environment)
        {
            builder.Append("env ");
            foreach (var (name, value) in environment)
            {
                if (name is null || !EnvironmentName().IsMatch(name))
                {
                    throw Invalid(nameof(request.Environment), $"Environment variable name '{name}' is invalid: use letters, digits and '_', not starting with a digit.");
                }

                ArgumentNullException.ThrowIfNull(value, nameof(request.Environment));
                if (value.Contains('\0', StringComparison.Ordinal))
                {
                    throw Invalid(nameof(request.Environment), $"Environment variable '{name}' contains NUL, which cannot be passed to a process.");
                }

                builder.Append(ShellQuote.Quote(name + "=" + value, nameof(request.Environment))).Append(' ');
            }
        }

        builder.Append("sh -c ").Append(ShellQuote.Quote(request.Command, nameof(request.Command)));
        if (request.StandardInput is null)
        {
            // Without stdin the command reads /dev/null, and nothing is sent on the channel.
            builder.Append(" </dev/null");
        }

        return builder.ToString();
    }

    /// <summary>The command that stops a process group: TERM, up to 2 s to exit, then KILL.</summary>
    internal static string Kill(int processGroup)
    {
        var group = "-" + processGroup.ToString(CultureInfo.InvariantCulture);
        return $"kill -s TERM -- {group} 2>/dev/null; i=0; while kill -s 0 -- {group} 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; kill -s KILL -- {group} 2>/dev/null; true";
    }

    // ParamName is the request's field, so callers (and HTTP 400s) can say which one was wrong.
    private static ArgumentException Invalid(string field, string message) => new(message, field);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvironmentName();
}
