using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;
using Orchestrator.Cli.Api;
using Spectre.Console;

namespace Orchestrator.Cli.Commands;

/// <summary><c>orch runs start|watch|list|get|logs|cancel|retry|signal</c>.</summary>
internal static class RunCommands
{
    private const int MaxReconnects = 20;

    public static Command Build(CliApp app)
    {
        var runs = Args.Command("runs", "Workflow runs: start, follow, list, inspect, logs, cancel, retry, signal.", "orch runs start deploy --input version=1.2 --follow", "orch runs list --status failed");
        runs.Aliases.Add("run");
        runs.Add(Start(app));
        runs.Add(Watch(app));
        runs.Add(List(app));
        runs.Add(Get(app));
        runs.Add(Logs(app));
        runs.Add(Action(app, "cancel", "Cancel a run."));
        runs.Add(Action(app, "retry", "Retry a failed run from its failed step."));
        runs.Add(Signal(app));
        return runs;
    }

    private static Command Start(CliApp app)
    {
        var command = Args.Command("start", "Start a run of a workflow; with --follow, show its steps live and exit 0 only if it succeeds.",
            "orch runs start deploy --input version=1.2 --secret TOKEN=$TOKEN --follow",
            "orch runs start nightly --inputs-file inputs.json --idempotency-key nightly-2026-12-04");
        var workflow = new Argument<string>("WORKFLOW");
        var input = new Option<string[]>("--input", "-i") { Description = "Input KEY=VALUE (repeatable); a value that is JSON (number, true, [..], {..}) is sent as JSON." };
        var inputsFile = new Option<string?>("--inputs-file") { Description = "A JSON object of inputs; --input values override it." };
        var secret = new Option<string[]>("--secret") { Description = "Run secret KEY=VALUE (repeatable)." };
        var idempotency = new Option<string?>("--idempotency-key") { Description = "Starting again with the same key returns the same run." };
        var follow = new Option<bool>("--follow", "-f") { Description = "Follow the run until it ends; the exit code says how it ended." };
        command.Add(workflow);
        command.Add(input);
        command.Add(inputsFile);
        command.Add(secret);
        command.Add(idempotency);
        command.Add(follow);
        app.SetApiAction(command, async (c, ct) =>
        {
            var inputs = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            if (c.Parse.GetValue(inputsFile) is { } path)
            {
                try
                {
                    foreach (var (k, v) in JsonSerializer.Deserialize(await File.ReadAllTextAsync(path, ct), ApiJson.Default.DictionaryStringJsonElement) ?? [])
                    {
                        inputs[k] = v;
                    }
                }
                catch (Exception ex) when (ex is JsonException or IOException)
                {
                    throw new CliException(ExitCodes.Usage, $"--inputs-file {path}: {ex.Message}");
                }
            }

            foreach (var (k, v) in Args.Pairs(c.Parse.GetValue(input), "--input") ?? [])
            {
                inputs[k] = AsJson(v);
            }

            var request = new StartRunRequest(c.Parse.GetValue(workflow)!, inputs.Count == 0 ? null : inputs, Args.Pairs(c.Parse.GetValue(secret), "--secret"), c.Parse.GetValue(idempotency));
            var run = await c.Api.SendJsonAsync(HttpMethod.Post, "/api/runs", request, ApiJson.Default.StartRunRequest, ApiJson.Default.Run, ct);
            if (!c.Parse.GetValue(follow))
            {
                Print(c, run);
                return ExitCodes.Success;
            }

            if (!c.Ui.Json)
            {
                c.Ui.Note($"run {run.Id} ({run.Workflow} v{run.Version})");
            }

            return await FollowAsync(c, run.Id, 0, ct);
        });
        return command;
    }

    private static Command Watch(CliApp app)
    {
        var command = Args.Command("watch", "Follow a run until it ends; exits 0 only if it succeeded.", "orch runs watch 01JF...", "orch runs watch 01JF... --from-sequence 40");
        var id = new Argument<string>("RUN");
        var from = new Option<long>("--from-sequence") { Description = "Start after this event sequence (default: from the first event)." };
        command.Add(id);
        command.Add(from);
        app.SetApiAction(command, (c, ct) => FollowAsync(c, c.Parse.GetValue(id)!, c.Parse.GetValue(from), ct));
        return command;
    }

    /// <summary>Reads the run's event stream to its end, reconnecting after the last event seen when it drops.</summary>
    internal static async Task<int> FollowAsync(CommandContext c, string id, long after, CancellationToken ct)
    {
        var view = new RunView(c.Ui);
        var last = after;
        var reconnects = 0;
        await view.RunAsync(async () =>
        {
            while (true)
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{Args.Escape(id)}/events");
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
                    request.Headers.Add("Last-Event-ID", last.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    using var response = await c.Api.SendAsync(request, ct);
                    await using var body = await response.Content.ReadAsStreamAsync(ct);
                    using var reader = new StreamReader(body);
                    while (await reader.ReadLineAsync(ct) is { } line)
                    {
                        if (line.Length == 0)
                        {
                            continue;
                        }

                        var e = JsonSerializer.Deserialize(line, ApiJson.Default.RunEvent)!;
                        last = e.Sequence;
                        view.Add(e);
                    }

                    return;
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException || (ex is CliException { ExitCode: ExitCodes.Server } && reconnects < MaxReconnects))
                {
                    if (++reconnects > MaxReconnects)
                    {
                        throw;
                    }

                    view.Note($"stream dropped ({ex.Message}); reconnecting after event {last}");
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 200 * reconnects)), ct);
                }
            }
        });

        var run = await c.Api.GetAsync($"/api/runs/{Args.Escape(id)}", ApiJson.Default.Run, ct);
        if (c.Ui.Json)
        {
            c.Ui.WriteJson(run, ApiJson.Default.Run, indented: false);
        }
        else
        {
            c.Ui.Note($"run {run.Id} {run.Status}{(run.Error is null ? "" : ": " + run.Error)}");
        }

        return run.Status == "succeeded" ? ExitCodes.Success : ExitCodes.Failure;
    }

    private static Command List(CliApp app)
    {
        var command = Args.Command("list", "List runs, newest first.", "orch runs list --status running --workflow deploy");
        command.Aliases.Add("ls");
        var status = new Option<string?>("--status") { Description = "pending, running, waiting, succeeded, failed or cancelled." };
        var workflow = new Option<string?>("--workflow") { Description = "Only runs of this workflow." };
        var watch = ListWatch.Option("Keep listing as runs change (Ctrl-C to stop).");
        command.Add(status);
        command.Add(workflow);
        command.Add(watch);
        app.SetApiAction(command, async (c, ct) =>
        {
            var query = "/api/runs?limit=100"
                + (c.Parse.GetValue(status) is { } s ? $"&status={Args.Escape(s)}" : "")
                + (c.Parse.GetValue(workflow) is { } w ? $"&workflow={Args.Escape(w)}" : "");
            var watching = c.Parse.GetValue(watch);
            return await ListWatch.RunAsync(
                watching,
                token => c.Api.GetAsync(query, ApiJson.Default.RunList, token),
                static runs => string.Join('\n', runs.Items.Select(static r => $"{r.Id} {r.Status}")),
                runs =>
                {
                    if (c.Ui.Json)
                    {
                        c.Ui.WriteJson(runs, ApiJson.Default.RunList, indented: !watching);
                    }
                    else
                    {
                        c.Ui.WriteTable(["id", "workflow", "version", "status", "created", "updated"], runs.Items.Select(static r => new[] { r.Id, r.Workflow, r.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Status, Args.Time(r.CreatedAt), Args.Time(r.UpdatedAt) }));
                    }
                },
                ct);
        });
        return command;
    }

    private static Command Get(CliApp app)
    {
        var command = Args.Command("get", "Show a run and its steps.", "orch runs get 01JF...");
        var id = new Argument<string>("RUN");
        command.Add(id);
        app.SetApiAction(command, async (c, ct) =>
        {
            Print(c, await c.Api.GetAsync($"/api/runs/{Args.Escape(c.Parse.GetValue(id)!)}", ApiJson.Default.Run, ct));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Logs(CliApp app)
    {
        var command = Args.Command("logs", "Print a step's output (every step's without STEP); --follow streams it as the run goes.", "orch runs logs 01JF... build", "orch runs logs 01JF... --follow");
        var id = new Argument<string>("RUN");
        var step = new Argument<string?>("STEP") { Arity = ArgumentArity.ZeroOrOne };
        var follow = new Option<bool>("--follow", "-f") { Description = "Stream output until the run ends." };
        command.Add(id);
        command.Add(step);
        command.Add(follow);
        app.SetApiAction(command, async (c, ct) =>
        {
            var runId = c.Parse.GetValue(id)!;
            var only = c.Parse.GetValue(step);
            if (c.Parse.GetValue(follow))
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{Args.Escape(runId)}/events");
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
                using var response = await c.Api.SendAsync(request, ct);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
                while (await reader.ReadLineAsync(ct) is { } line)
                {
                    if (line.Length == 0)
                    {
                        continue;
                    }

                    var e = JsonSerializer.Deserialize(line, ApiJson.Default.RunEvent)!;
                    if (e.Kind == "step.output" && (only is null || e.StepId == only) && e.Data.ValueKind == JsonValueKind.Object)
                    {
                        var text = e.Data.TryGetProperty("data", out var d) ? d.GetString() : null;
                        var isErr = e.Data.TryGetProperty("stream", out var s) && s.GetString() == "stderr";
                        (isErr ? System.Console.Error : System.Console.Out).Write(text);
                    }
                }

                return ExitCodes.Success;
            }

            var run = await c.Api.GetAsync($"/api/runs/{Args.Escape(runId)}", ApiJson.Default.Run, ct);
            foreach (var s in run.Steps.Where(s => only is null || s.Id == only))
            {
                if (s.Status == "pending" && only is null)
                {
                    continue;
                }

                var output = await c.Api.GetAsync($"/api/runs/{Args.Escape(runId)}/steps/{Args.Escape(s.Id)}/output", ApiJson.Default.StepOutput, ct);
                if (c.Ui.Json)
                {
                    c.Ui.WriteJson(output, ApiJson.Default.StepOutput, indented: false);
                    continue;
                }

                if (only is null)
                {
                    c.Ui.Note($"--- {s.Id} (attempt {output.Attempt})");
                }

                System.Console.Out.Write(output.Stdout);
                System.Console.Error.Write(output.Stderr);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Action(CliApp app, string name, string description)
    {
        var command = Args.Command(name, description, $"orch runs {name} 01JF...");
        var id = new Argument<string>("RUN");
        command.Add(id);
        app.SetApiAction(command, async (c, ct) =>
        {
            Print(c, await c.Api.SendAsync(HttpMethod.Post, $"/api/runs/{Args.Escape(c.Parse.GetValue(id)!)}/{name}", ApiJson.Default.Run, ct));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Signal(CliApp app)
    {
        var command = Args.Command("signal", "Send a signal to a run waiting for it.", "orch runs signal 01JF... approve --payload '{\"by\":\"ana\"}'");
        var id = new Argument<string>("RUN");
        var name = new Argument<string>("NAME");
        var payload = new Option<string?>("--payload") { Description = "A JSON object sent with the signal." };
        command.Add(id);
        command.Add(name);
        command.Add(payload);
        app.SetApiAction(command, async (c, ct) =>
        {
            var body = c.Parse.GetValue(payload) ?? "{}";
            try
            {
                using var _ = JsonDocument.Parse(body);
            }
            catch (JsonException ex)
            {
                throw new CliException(ExitCodes.Usage, $"--payload is not JSON: {ex.Message}");
            }

            var run = await c.Api.SendAsync(HttpMethod.Post, $"/api/runs/{Args.Escape(c.Parse.GetValue(id)!)}/signals/{Args.Escape(c.Parse.GetValue(name)!)}", ApiJson.Default.Run, ct,
                new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Print(c, run);
            return ExitCodes.Success;
        });
        return command;
    }

    private static JsonElement AsJson(string value)
    {
        if (value.Length > 0 && (value[0] is '{' or '[' or '"' or '-' || char.IsAsciiDigit(value[0]) || value is "true" or "false" or "null"))
        {
            try
            {
                return JsonSerializer.Deserialize(value, ApiJson.Default.JsonElement);
            }
            catch (JsonException)
            {
                // Not JSON after all: a string.
            }
        }

        return JsonSerializer.SerializeToElement(value, ApiJson.Default.String);
    }

    private static void Print(CommandContext c, Run run)
    {
        if (c.Ui.Json)
        {
            c.Ui.WriteJson(run, ApiJson.Default.Run);
            return;
        }

        c.Ui.WriteFields([("id", run.Id), ("workflow", $"{run.Workflow} v{run.Version}"), ("status", run.Status), ("error", run.Error), ("created", Args.Time(run.CreatedAt)), ("ended", Args.Time(run.EndedAt))]);
        if (run.Steps.Count > 0)
        {
            c.Ui.Line("");
            c.Ui.WriteTable(["step", "uses", "status", "attempts", "duration", "error"], run.Steps.Select(static s => new[] { s.Id, s.Uses, s.Status, s.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture), Args.Duration(s.StartedAt, s.EndedAt), s.Error }));
        }
    }
}
