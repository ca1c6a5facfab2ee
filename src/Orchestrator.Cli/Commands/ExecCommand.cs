using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orchestrator.Cli.Api;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// <c>orch exec ID -- CMD [ARGS...]</c>: runs the command over the NDJSON exec stream, writes its stdout and stderr
/// to ours byte for byte as they arrive, and exits with its exit code (128+N for signal N). Ctrl-C cancels the
/// request, which the server answers by killing the remote command's process group. When stdin is not a terminal it is
/// streamed to the command over the exec WebSocket instead (<see cref="ExecStdinStream"/>).
/// </summary>
internal static class ExecCommand
{
    private static readonly Dictionary<string, int> Signals = new(StringComparer.Ordinal)
    {
        ["HUP"] = 1, ["INT"] = 2, ["QUIT"] = 3, ["ILL"] = 4, ["TRAP"] = 5, ["ABRT"] = 6, ["BUS"] = 7, ["FPE"] = 8, ["KILL"] = 9,
        ["USR1"] = 10, ["SEGV"] = 11, ["USR2"] = 12, ["PIPE"] = 13, ["ALRM"] = 14, ["TERM"] = 15,
    };

    public static Command Build(CliApp app)
    {
        var command = Args.Command("exec", "Run a command on an instance; its output is ours byte for byte and orch exits with its status. Stdin is streamed to it when it is not a terminal (piped or redirected), of any size.",
            "orch exec box -- uname -a",
            "orch exec box --cwd /srv --env MODE=prod -- ./deploy.sh",
            "tar -c site | orch exec box -- tar -x -C /var/www");
        var id = new Argument<string>("ID") { Description = "The instance." };
        var argv = new Argument<string[]>("COMMAND") { Description = "The command and its arguments (after --); one argument is run as shell text.", Arity = ArgumentArity.OneOrMore };
        var timeout = new Option<double?>("--timeout") { Description = "Kill the command after this many seconds." };
        var env = new Option<string[]>("--env", "-e") { Description = "Environment variable KEY=VALUE (repeatable)." };
        var cwd = new Option<string?>("--cwd") { Description = "Working directory." };
        var noStdin = new Option<bool>("--no-stdin", "-n") { Description = "Do not send stdin even when it is not a terminal." };
        command.Add(id);
        command.Add(argv);
        command.Add(timeout);
        command.Add(env);
        command.Add(cwd);
        command.Add(noStdin);
        app.SetApiAction(command, async (c, ct) =>
        {
            var words = c.Parse.GetValue(argv)!;
            var text = words.Length == 1 ? words[0] : string.Join(' ', words.Select(Quote));
            var request = new ExecRequest(text, Args.Pairs(c.Parse.GetValue(env), "--env"), c.Parse.GetValue(cwd), c.Parse.GetValue(timeout), StdinBase64: null);
            if (System.Console.IsInputRedirected && !c.Parse.GetValue(noStdin))
            {
                await using var stdin = System.Console.OpenStandardInput();
                return await ExecStdinStream.RunAsync(c.Api, c.Parse.GetValue(id)!, request, stdin, ct);
            }

            // A terminal's keystrokes are not the command's input: no stdin, over the plain exec stream.
            return await RunAsync(c.Api, c.Parse.GetValue(id)!, request, ct);
        });
        return command;
    }

    internal static async Task<int> RunAsync(ApiClient api, string id, ExecRequest request, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"/api/instances/{Args.Escape(id)}/exec")
        {
            Content = new StringContent(JsonSerializer.Serialize(request, ApiJson.Default.ExecRequest), Encoding.UTF8, "application/json"),
        };
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
        using var response = await api.SendAsync(message, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(body, Encoding.UTF8);
        await using var stdout = System.Console.OpenStandardOutput();
        await using var stderr = System.Console.OpenStandardError();
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            var item = JsonSerializer.Deserialize(line, ApiJson.Default.ExecLine)!;
            if (item.Stream is { } stream)
            {
                var bytes = item.DataBase64 ?? Encoding.UTF8.GetBytes(item.Data ?? "");
                var target = stream == "stderr" ? stderr : stdout;
                await target.WriteAsync(bytes, ct);
                await target.FlushAsync(ct);
            }
            else if (item.Error is { } error)
            {
                throw new CliException(ExitCodes.Server, $"{error.Title}: {error.Detail}");
            }
            else if (await ExitStatusAsync(item, stderr, ct) is { } status)
            {
                return status;
            }
        }

        throw new CliException(ExitCodes.Server, "The command's stream ended without its exit status.");
    }

    /// <summary>The status orch exits with for an exit line (128+N for signal N), or null when it is not one.</summary>
    internal static async Task<int?> ExitStatusAsync(ExecLine item, Stream stderr, CancellationToken ct)
    {
        if (item.ExitCode is { } code)
        {
            return code;
        }

        if (item.TimedOut == true || item.Cancelled == true || item.Signal is not null)
        {
            if (item.TimedOut == true)
            {
                await stderr.WriteAsync(Encoding.UTF8.GetBytes("orch: the command timed out and was killed\n"), ct);
            }

            return 128 + (item.Signal is { } signal && Signals.TryGetValue(signal, out var number) ? number : 9);
        }

        return null;
    }

    /// <summary>Quotes an argument for sh so several arguments run as they were given.</summary>
    internal static string Quote(string word) =>
        word.Length > 0 && word.All(static ch => char.IsAsciiLetterOrDigit(ch) || "-_./=:,+@%".Contains(ch, StringComparison.Ordinal))
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
