using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// Moves one file's bytes through commands on the instance's session: an upload appends the body to a temporary file
/// beside the target in pieces (one command per piece, its stdin the piece), then sets the mode and renames it over
/// the target; a download is one <c>head -c SIZE</c> whose stdout is copied to the response as it arrives. Memory is
/// one piece either way, whatever the file's size.
/// </summary>
internal sealed partial class FileTransfer(ISshSessionGrain session, string path)
{
    /// <summary>One piece of an upload: well under the command's stdin limit, large enough that commands stay few.</summary>
    internal const int PieceBytes = 4 * 1024 * 1024;

    private const int MaxPathLength = 4096;
    private const int NotFoundExit = 44;
    private const int NotRegularExit = 45;
    private static readonly TimeSpan PieceTimeout = TimeSpan.FromMinutes(10);

    public static string? ValidatePath(string path) =>
        path.Length == 0 ? "is required"
        : path[0] != '/' ? "must be absolute (start with /)"
        : path.Length > MaxPathLength ? $"must be at most {MaxPathLength} characters"
        : path.Contains('\0', StringComparison.Ordinal) ? "must not contain NUL characters"
        : path.EndsWith('/') ? "must name a file, not end with /"
        : null;

    public static bool IsMode(string mode) => ModePattern().IsMatch(mode);

    /// <summary>The file's size; throws <see cref="FileTransferException"/> for a missing or non-regular file.</summary>
    public async Task<long> StatAsync(CancellationToken cancellationToken)
    {
        var quoted = Quote(path);
        var (exit, stdout, stderr) = await RunAsync(
            $"if [ -f {quoted} ]; then exec stat -L -c %s -- {quoted}; elif [ -e {quoted} ]; then exit {NotRegularExit}; else exit {NotFoundExit}; fi",
            stdin: null,
            cancellationToken);
        return exit switch
        {
            0 when long.TryParse(stdout.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var size) => size,
            NotFoundExit => throw FileTransferException.NotFound(path),
            NotRegularExit => throw FileTransferException.NotRegular(path),
            _ => throw FileTransferException.Failed("stat", Describe(exit, stderr)),
        };
    }

    /// <summary>Copies the file's first <paramref name="size"/> bytes to <paramref name="destination"/> as they arrive.</summary>
    public async Task DownloadAsync(Stream destination, long size, CancellationToken cancellationToken)
    {
        var command = new ExecCommand($"exec head -c {size.ToString(CultureInfo.InvariantCulture)} -- {Quote(path)}", Timeout: ExecCommandRules.MaxTimeout);
        long copied = 0;
        var stderr = new StringBuilder();
        ExecExit? exit = null;
        await foreach (var item in session.ExecAsync(command, cancellationToken))
        {
            switch (item.Kind)
            {
                case ExecEventKind.Stdout:
                    copied += item.Data!.Length;
                    await destination.WriteAsync(item.Data, cancellationToken);
                    break;
                case ExecEventKind.Stderr when stderr.Length < 4096:
                    stderr.Append(Encoding.UTF8.GetString(item.Data!));
                    break;
                case ExecEventKind.Exited:
                    exit = item.Exit;
                    break;
            }
        }

        if (exit?.ExitCode != 0 || copied != size)
        {
            throw FileTransferException.Failed("read", $"{copied} of {size} bytes, {Describe(exit?.ExitCode, stderr.ToString())}");
        }
    }

    /// <summary>Writes <paramref name="body"/> to the file; the target changes only once every byte arrived.</summary>
    public async Task<FileWrittenResponse> UploadAsync(Stream body, string mode, CancellationToken cancellationToken)
    {
        var target = Quote(path);
        var temporary = Quote($"{path}.orch-upload-{Guid.NewGuid():N}");
        var buffer = new byte[PieceBytes];
        var first = true;
        var done = false;
        long total = 0;
        try
        {
            while (true)
            {
                var read = await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
                total += read;
                if (total > FileEndpoints.MaxUploadBytes)
                {
                    throw new BadHttpRequestException("The body is larger than an upload takes.", StatusCodes.Status413PayloadTooLarge);
                }

                if (read > 0 || first)
                {
                    // The first piece makes the parent directories and truncates; the others append.
                    var script = first
                        ? $"mkdir -p -- \"$(dirname -- {target})\" && cat > {temporary}"
                        : $"cat >> {temporary}";
                    var (exit, _, stderr) = await RunAsync(script, buffer.AsSpan(0, read).ToArray(), cancellationToken);
                    if (exit != 0)
                    {
                        throw FileTransferException.Failed("write", Describe(exit, stderr));
                    }

                    first = false;
                }

                if (read < buffer.Length)
                {
                    break;
                }
            }

            var (finalExit, stdout, finalError) = await RunAsync(
                $"chmod {mode} {temporary} && mv -f -- {temporary} {target} && sha256sum -- {target}", stdin: null, cancellationToken);
            if (finalExit != 0)
            {
                throw FileTransferException.Failed("rename", Describe(finalExit, finalError));
            }

            done = true;
            var normalizedMode = Convert.ToString(Convert.ToInt32(mode, 8), 8).PadLeft(4, '0');
            return new FileWrittenResponse(path, total, normalizedMode, stdout.Split(' ', 2)[0].Trim());
        }
        finally
        {
            if (!done && !first)
            {
                // Best effort: the request may be gone, so the clean-up does not take its token.
                try
                {
                    await RunAsync($"rm -f -- {temporary}", stdin: null, CancellationToken.None);
                }
                catch (Exception ex) when (ex is InstanceUnreachableException or FileTransferException or OperationCanceledException)
                {
                    // The machine went away too; the temporary file is all that is left, beside the untouched target.
                }
            }
        }
    }

    private async Task<(int? Exit, string Stdout, string Stderr)> RunAsync(string script, byte[]? stdin, CancellationToken cancellationToken)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        int? exit = null;
        await foreach (var item in session.ExecAsync(new ExecCommand(script, Timeout: PieceTimeout, Stdin: stdin), cancellationToken))
        {
            switch (item.Kind)
            {
                case ExecEventKind.Stdout when stdout.Length < 4096:
                    stdout.Append(Encoding.UTF8.GetString(item.Data!));
                    break;
                case ExecEventKind.Stderr when stderr.Length < 4096:
                    stderr.Append(Encoding.UTF8.GetString(item.Data!));
                    break;
                case ExecEventKind.Exited:
                    exit = item.Exit?.ExitCode;
                    break;
            }
        }

        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static string Describe(int? exit, string stderr) =>
        string.Create(CultureInfo.InvariantCulture, $"exit {exit?.ToString(CultureInfo.InvariantCulture) ?? "none"}{(stderr.Length > 0 ? ": " + stderr.Trim() : "")}");

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [GeneratedRegex("^0?[0-7]{3}$")]
    private static partial Regex ModePattern();
}
