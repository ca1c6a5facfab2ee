using System.CommandLine;
using System.Formats.Tar;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Orchestrator.Cli.Api;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// <c>orch cp</c>: files through <c>PUT/GET /api/instances/{id}/files</c>, streamed in both directions (memory does not
/// grow with the file). A directory (-r) travels as one tar stream through a temporary file on the machine, packed
/// or unpacked there with tar. Uploads are checked against the SHA-256 the machine computed of what it wrote.
/// </summary>
internal static class CopyCommand
{
    public static Command Build(CliApp app)
    {
        var command = Args.Command("cp", "Copy a file (or with -r a directory's contents) between here and an instance. One side is ID:PATH (absolute).",
            "orch cp ./app.tar box:/srv/app.tar",
            "orch cp box:/var/log/syslog ./syslog",
            "orch cp -r ./site box:/var/www/site");
        var source = new Argument<string>("SOURCE");
        var destination = new Argument<string>("DESTINATION");
        var recursive = new Option<bool>("--recursive", "-r") { Description = "Copy a directory's contents, as a tar stream." };
        var mode = new Option<string?>("--mode") { Description = "Permission bits of an uploaded file, in octal (default: the local file's, else 0644)." };
        command.Add(source);
        command.Add(destination);
        command.Add(recursive);
        command.Add(mode);
        app.SetApiAction(command, async (c, ct) =>
        {
            var from = c.Parse.GetValue(source)!;
            var to = c.Parse.GetValue(destination)!;
            var remoteFrom = Remote(from);
            var remoteTo = Remote(to);
            CopyReport report;
            if (remoteFrom is null && remoteTo is { } up)
            {
                report = c.Parse.GetValue(recursive)
                    ? await UploadDirectoryAsync(c, from, up.Id, up.Path, ct)
                    : await UploadFileAsync(c, from, up.Id, up.Path, c.Parse.GetValue(mode) ?? LocalMode(from), ct);
            }
            else if (remoteFrom is { } down && remoteTo is null)
            {
                report = c.Parse.GetValue(recursive)
                    ? await DownloadDirectoryAsync(c, down.Id, down.Path, to, ct)
                    : await DownloadFileAsync(c, down.Id, down.Path, to, ct);
            }
            else
            {
                throw new CliException(ExitCodes.Usage, "Exactly one of SOURCE and DESTINATION must be ID:/absolute/path.");
            }

            if (c.Ui.Json)
            {
                c.Ui.WriteJson(report, ApiJson.Default.CopyReport);
            }
            else
            {
                c.Ui.Note($"{report.Source} -> {report.Destination}: {report.Bytes} bytes");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>ID:PATH, where ID is an instance name; anything else (./x, /x, C:\x) is local.</summary>
    internal static (string Id, string Path)? Remote(string argument)
    {
        var colon = argument.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || argument[0] is '.' or '/')
        {
            return null;
        }

        var id = argument[..colon];
        return id.All(static ch => char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch == '-') ? (id, argument[(colon + 1)..]) : null;
    }

    private static async Task<CopyReport> UploadFileAsync(CommandContext c, string local, string id, string path, string mode, CancellationToken ct)
    {
        if (!File.Exists(local))
        {
            throw new CliException(ExitCodes.Usage, Directory.Exists(local) ? $"{local} is a directory; use -r." : $"{local} does not exist.");
        }

        if (path.EndsWith('/'))
        {
            path += Path.GetFileName(local);
        }

        await using var file = new FileStream(local, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var written = await WithProgressAsync(c, $"{local} -> {id}:{path}", file.Length, async progress =>
        {
            await using var counted = new CountingStream(file, progress, sha);
            var content = new StreamContent(counted, 1 << 16);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.ContentLength = file.Length;
            return await c.Api.SendAsync(HttpMethod.Put, FilesPath(id, path) + $"&mode={Args.Escape(mode)}", ApiJson.Default.FileWritten, ct, content);
        });
        var local256 = Convert.ToHexStringLower(sha.GetHashAndReset());
        if (!string.Equals(local256, written.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new CliException(ExitCodes.Failure, $"The copy on {id} has SHA-256 {written.Sha256}, not {local256}.");
        }

        return new CopyReport(local, $"{id}:{path}", written.SizeBytes, written.Sha256);
    }

    private static async Task<CopyReport> DownloadFileAsync(CommandContext c, string id, string path, string local, CancellationToken ct)
    {
        if (Directory.Exists(local))
        {
            local = Path.Combine(local, Path.GetFileName(path));
        }

        using var response = await c.Api.SendAsync(new HttpRequestMessage(HttpMethod.Get, FilesPath(id, path)), ct);
        var size = response.Content.Headers.ContentLength;
        var temporary = local + ".orch-part";
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long copied;
        try
        {
            copied = await WithProgressAsync(c, $"{id}:{path} -> {local}", size, async progress =>
            {
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                await using var counted = new CountingStream(body, progress, sha);
                await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                {
                    await counted.CopyToAsync(file, 1 << 16, ct);
                }

                return counted.Count;
            });
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            File.Delete(temporary);
            throw new CliException(ExitCodes.Server, $"The copy of {id}:{path} was cut short: {ex.Message}");
        }

        if (size is { } expected && copied != expected)
        {
            File.Delete(temporary);
            throw new CliException(ExitCodes.Server, $"The copy of {id}:{path} was cut short ({copied} of {expected} bytes).");
        }

        File.Move(temporary, local, overwrite: true);
        return new CopyReport($"{id}:{path}", local, copied, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    private static async Task<CopyReport> UploadDirectoryAsync(CommandContext c, string local, string id, string path, CancellationToken ct)
    {
        if (!Directory.Exists(local))
        {
            throw new CliException(ExitCodes.Usage, $"{local} is not a directory.");
        }

        var archive = $"/tmp/orch-cp-{Guid.NewGuid():N}.tar";
        var content = new TarContent(local);
        var written = await WithProgressAsync(c, $"{local}/ -> {id}:{path}", null, async progress =>
        {
            content.Progress = progress;
            return await c.Api.SendAsync(HttpMethod.Put, FilesPath(id, archive) + "&mode=0600", ApiJson.Default.FileWritten, ct, content);
        });
        var status = await Quietly(c, id, $"mkdir -p -- {ExecCommand.Quote(path)} && tar -xf {archive} -C {ExecCommand.Quote(path)}; rc=$?; rm -f {archive}; exit $rc", ct);
        if (status != 0)
        {
            throw new CliException(ExitCodes.Failure, $"Unpacking on {id} failed with exit {status}.");
        }

        return new CopyReport(local, $"{id}:{path}", written.SizeBytes, null);
    }

    private static async Task<CopyReport> DownloadDirectoryAsync(CommandContext c, string id, string path, string local, CancellationToken ct)
    {
        var archive = $"/tmp/orch-cp-{Guid.NewGuid():N}.tar";
        var status = await Quietly(c, id, $"tar -cf {archive} -C {ExecCommand.Quote(path)} .", ct);
        if (status != 0)
        {
            throw new CliException(ExitCodes.Failure, $"Packing {id}:{path} failed with exit {status} (does it exist?).");
        }

        try
        {
            Directory.CreateDirectory(local);
            using var response = await c.Api.SendAsync(new HttpRequestMessage(HttpMethod.Get, FilesPath(id, archive)), ct);
            var size = response.Content.Headers.ContentLength;
            var copied = await WithProgressAsync(c, $"{id}:{path}/ -> {local}", size, async progress =>
            {
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                await using var counted = new CountingStream(body, progress, hash: null);
                await TarFile.ExtractToDirectoryAsync(counted, local, overwriteFiles: true, ct);
                return counted.Count;
            });
            return new CopyReport($"{id}:{path}", local, copied, null);
        }
        finally
        {
            await Quietly(c, id, $"rm -f {archive}", CancellationToken.None);
        }
    }

    private static async Task<int> Quietly(CommandContext c, string id, string script, CancellationToken ct)
    {
        var request = new ExecRequest(script, null, null, null, null);
        return await ExecCommand.RunAsync(c.Api, id, request, ct);
    }

    private static string FilesPath(string id, string path) => $"/api/instances/{Args.Escape(id)}/files?path={Args.Escape(path)}";

    private static string LocalMode(string local) =>
        OperatingSystem.IsWindows() ? "0644" : Convert.ToString((int)File.GetUnixFileMode(local) & 0x1FF, 8).PadLeft(4, '0');

    /// <summary>A progress bar on stderr when it is a terminal; otherwise just the transfer.</summary>
    private static async Task<T> WithProgressAsync<T>(CommandContext c, string label, long? total, Func<Action<long>, Task<T>> transfer)
    {
        if (!c.Ui.StderrInteractive || c.Ui.Json)
        {
            return await transfer(static _ => { });
        }

        return await c.Ui.Err.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(label), maxValue: total ?? 1);
                task.IsIndeterminate = total is null;
                var result = await transfer(bytes => task.Value = bytes);
                task.Value = task.MaxValue;
                task.StopTask();
                return result;
            });
    }

    /// <summary>A tar stream of a directory's contents, written as the request is sent.</summary>
    private sealed class TarContent(string directory) : HttpContent
    {
        public Action<long> Progress { get; set; } = static _ => { };

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await using var counted = new CountingStream(stream, Progress, hash: null);
            await TarFile.CreateFromDirectoryAsync(directory, counted, includeBaseDirectory: false);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
