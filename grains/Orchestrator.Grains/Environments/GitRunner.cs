using System.Text;
using Orchestrator.Grains.Sessions;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Environments;

/// <summary>What a git script printed and how it ended; <see cref="Truncated"/> when stdout was longer than asked for.</summary>
internal sealed record GitOutput(int? ExitCode, string Stdout, string Stderr, bool Truncated, bool TimedOut)
{
    public bool Succeeded => ExitCode == 0 && !TimedOut;

    /// <summary>The line <c>name=value</c> of stdout's value, or null.</summary>
    public string? Value(string name)
    {
        foreach (var line in Stdout.Split('\n'))
        {
            if (line.StartsWith(name + "=", StringComparison.Ordinal))
            {
                var value = line[(name.Length + 1)..].Trim();
                return value.Length == 0 ? null : value;
            }
        }

        return null;
    }
}

/// <summary>Runs git scripts on an instance through its exec session and reads back their output, with credentials masked.</summary>
internal static class GitRunner
{
    /// <summary>How much of git's error output a problem quotes.</summary>
    private const int QuotedErrorChars = 600;

    public static async Task<GitOutput> RunAsync(
        IGrainFactory grains,
        string tenant,
        string instanceId,
        string script,
        string? cwd,
        TimeSpan timeout,
        int maxStdoutBytes,
        byte[]? stdin,
        IReadOnlyDictionary<string, string>? env,
        CancellationToken cancellationToken)
    {
        var session = grains.GetGrain<ISshSessionGrain>(SshSessionKey.Format(tenant, instanceId, SshSessionKey.ExecSession));
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var truncated = false;
        ExecExit? exit = null;
        var command = new ExecCommand(script, GitScripts.Environment(env), cwd, timeout, stdin);
        await foreach (var item in session.ExecAsync(command, cancellationToken).WithCancellation(cancellationToken))
        {
            switch (item.Kind)
            {
                case ExecEventKind.Stdout:
                    var room = maxStdoutBytes - (int)stdout.Length;
                    truncated |= item.Data!.Length > room;
                    stdout.Write(item.Data, 0, Math.Max(0, Math.Min(room, item.Data.Length)));
                    break;
                case ExecEventKind.Stderr when stderr.Length < 64 * 1024:
                    stderr.Write(item.Data!);
                    break;
                case ExecEventKind.Exited:
                    exit = item.Exit;
                    break;
            }
        }

        return new GitOutput(exit?.ExitCode, Decode(stdout), Decode(stderr), truncated, exit?.TimedOut ?? false);
    }

    /// <summary>The failure as a <see cref="GitOperationException"/>: its kind, and the end of what git said, masked.</summary>
    public static GitOperationException Failure(string operation, GitOutput output, Redactor redactor, IReadOnlyList<string>? conflicts = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(redactor);
        if (output.TimedOut)
        {
            return new GitOperationException(GitErrorKinds.Failed, $"git {operation} did not finish in time and was stopped.");
        }

        var said = redactor.Redact((output.Stderr + "\n" + output.Stdout).Replace('\0', '\n')).Trim();
        var kind = GitFailures.Classify(output.ExitCode, said);
        var quoted = said.Length > QuotedErrorChars ? "…" + said[^QuotedErrorChars..] : said;
        var summary = kind switch
        {
            GitErrorKinds.NothingToCommit => "There is nothing to commit: no change is staged or selected.",
            GitErrorKinds.MergeConflict => $"git {operation} stopped on a merge conflict; resolve the conflicting paths and commit.",
            GitErrorKinds.PushRejected => "The remote rejected the push: it has commits this branch lacks (not a fast-forward). Pull first.",
            GitErrorKinds.AuthenticationFailed => "The remote refused the credentials, or asked for some and none were given (git_credentials_secret).",
            GitErrorKinds.UnknownBranch => "There is no such branch.",
            GitErrorKinds.BranchExists => "The branch already exists.",
            GitErrorKinds.LocalChanges => "Local changes would be overwritten; commit them first.",
            GitErrorKinds.NoUpstream => "The branch has no upstream; push with set_upstream first.",
            _ => $"git {operation} failed with exit code {output.ExitCode}.",
        };
        return new GitOperationException(kind, quoted.Length > 0 ? $"{summary} git said: {quoted}" : summary, conflicts);
    }

    private static string Decode(MemoryStream stream) =>
        new UTF8Encoding(false, false).GetString(stream.GetBuffer(), 0, (int)stream.Length);
}
