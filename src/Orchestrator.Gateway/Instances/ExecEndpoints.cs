using System.Text.Encodings.Web;
using System.Text.Json;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Gateway.Streaming;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// <c>POST /api/instances/{id}/exec</c> and <c>GET /api/instances/{id}/shell</c>: validate, open one session-grain
/// stream, relay it. Nothing is answered until the machine accepted the connection, so failures to reach it are
/// plain problem details; after that the status line is sent and output is relayed as it arrives. The request body is
/// read by <see cref="ExecRequestParser"/>; the shell's WebSocket is relayed by <see cref="ShellRelay"/>.
/// </summary>
public static class ExecEndpoints
{
    public const string NdJson = "application/x-ndjson";
    public const string EventStream = "text/event-stream";
    public const string WebSocketRequired = InstanceProblems.TypeBase + "websocket-required";

    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);
    private static readonly JsonWriterOptions BufferedWriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static RouteGroupBuilder MapExecEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/instances").WithTags("Instances");
        api.MapPost("/{id}/exec", ExecAsync).WithName("ExecInInstance")
            .WithSummary("Run a command")
            .WithDescription(
                "Runs a command on the instance's machine over SSH. Nothing is answered until the machine accepted the "
                + "connection, so failing to reach it is a plain problem details answer; after that the status is 200 and the "
                + "shape follows the Accept header:\n\n"
                + "- application/x-ndjson (the default): one JSON object per line as output arrives: {stream, data} "
                + "(or data_base64 for bytes that are not UTF-8), then one exit line {exit_code, signal, timed_out, cancelled, "
                + "duration_ms, stdout_bytes, stderr_bytes}.\n"
                + "- text/event-stream: the same objects as SSE events named stdout, stderr and exit, with ': keep-alive' "
                + "comments while the command is silent.\n"
                + "- application/json (when the client accepts it but not NDJSON): one object once the command ended, with "
                + "stdout and stderr kept up to max_output_bytes each.\n\n"
                + "If the connection to the machine is lost mid-stream, the last line (SSE event 'error') is {error: {type, "
                + "title, detail}} with type https://orchestrator.dev/problems/ssh-unreachable.")
            .WithPathParameter("id", "The instance's name.")
            .WithHeaderParameter("Accept", "application/x-ndjson (default), text/event-stream, or application/json for one buffered answer.")
            .WithRequestBody(typeof(ExecRequest), "The command to run.", required: true, "application/json")
            .WithResponse(
                StatusCodes.Status200OK,
                "The command's output as it arrives (NDJSON lines or SSE events), ending with its exit; or, for application/json, the whole result.",
                [typeof(ExecOutputEvent), typeof(ExecExitEvent), typeof(StreamErrorEvent)],
                NdJson,
                EventStream)
            .WithResponse(StatusCodes.Status200OK, "The command's output as it arrives, ending with its exit; or, for application/json, the whole result.", [typeof(ExecResultResponse)], "application/json")
            .ProducesProblems(400, 404, 409, 502, 503);
        api.MapGet("/{id}/shell", ShellRelay.ShellAsync).WithName("OpenInstanceShell")
            .WithSummary("Open an interactive shell (WebSocket)")
            .WithDescription(
                "Upgrades to a WebSocket (GET with 'Connection: Upgrade' and 'Upgrade: websocket', the key in the Authorization "
                + "header as for every /api call) and attaches it to a shell on the machine with a terminal of cols x rows. The machine must accept the SSH connection before the upgrade, "
                + "so failing to reach it is a plain problem details answer; a request that is not an upgrade is 400 "
                + "(https://orchestrator.dev/problems/websocket-required).\n\n"
                + "After 101 Switching Protocols:\n\n"
                + "- client to server, binary frames: keystrokes, written to the terminal as they are.\n"
                + "- client to server, text frames: JSON control messages (at most 4096 bytes); the only one is "
                + "{\"type\": \"resize\", \"cols\": 120, \"rows\": 40} (1 to 1000 each).\n"
                + "- server to client, binary frames: the terminal's output.\n"
                + "- server to client, text frames: {\"type\": \"exit\", \"exit_code\": 0} when the shell exits, and "
                + "{\"type\": \"error\", \"detail\": \"...\"} for a bad control message or a failed shell.\n\n"
                + "The server closes the socket (1000) after the shell exits; closing it from the client ends the shell. "
                + "Pings every 20 s keep idle shells open through proxies.")
            .WithPathParameter("id", "The instance's name.")
            .WithQueryParameter<int>("cols", "Terminal width in columns, from 1 to 1000 (default 80).")
            .WithQueryParameter<int>("rows", "Terminal height in rows, from 1 to 1000 (default 24).")
            .Produces(StatusCodes.Status101SwitchingProtocols)
            .WithResponse(StatusCodes.Status101SwitchingProtocols, "Switching Protocols: the WebSocket is open and attached to the shell.", [])
            .ProducesProblems(400, 404, 409, 502, 503);
        return api;
    }

    internal static async Task ExecAsync(string id, HttpContext context, IClusterClient cluster, TimeProvider time)
    {
        var cancellationToken = context.RequestAborted;
        if (InstanceSpecRules.ValidateName(id) is { } idProblem)
        {
            await InstanceProblems.Invalid("id", idProblem).ExecuteAsync(context);
            return;
        }

        JsonElement body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body, InstanceEndpoints.Json, cancellationToken);
        }
        catch (JsonException ex)
        {
            await InstanceProblems.Invalid("body", $"is not valid JSON: {ex.Message}").ExecuteAsync(context);
            return;
        }

        if (JsonBodyText.FindUnreadable(body) is { } unreadable)
        {
            await JsonBodyText.Problem(unreadable).ExecuteAsync(context);
            return;
        }

        var (command, cap, problem) = ExecRequestParser.Parse(body);
        if (problem is { } p)
        {
            await InstanceProblems.Invalid(p.Field, p.Problem).ExecuteAsync(context);
            return;
        }

        var format = ChooseFormat(context.Request);
        var grain = cluster.GetGrain<ISshSessionGrain>(SshSessionKey.Format(context.User.Tenant(), id, SshSessionKey.ExecSession));
        await using var events = grain.ExecAsync(command!, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            // The first event says the machine accepted the connection; before it, failures are problem details.
            if (!await events.MoveNextAsync())
            {
                throw new InvalidOperationException("The session ended before the command started.");
            }
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is { } mapped)
        {
            await mapped.ExecuteAsync(context);
            return;
        }

        if (format == ExecFormat.Buffered)
        {
            await WriteBufferedAsync(context, events, cap, cancellationToken);
        }
        else
        {
            await StreamAsync(context, events, format == ExecFormat.ServerSentEvents, time, cancellationToken);
        }
    }

    private static async Task StreamAsync(HttpContext context, IAsyncEnumerator<ExecEvent> events, bool sse, TimeProvider time, CancellationToken cancellationToken)
    {
        await StreamingResponse.StartAsync(context, sse ? EventStream : NdJson, cancellationToken);
        using var writer = new ExecStreamWriter(context.Response.Body, sse);
        try
        {
            // An SSE keep-alive whenever the command has been silent for a while.
            while (await StreamingResponse.NextAsync(events, writer.WriteKeepAliveAsync, time, KeepAliveInterval, cancellationToken))
            {
                var item = events.Current;
                switch (item.Kind)
                {
                    case ExecEventKind.Stdout or ExecEventKind.Stderr:
                        await writer.WriteOutputAsync(item, cancellationToken);
                        break;
                    case ExecEventKind.Exited when item.Exit is { } exit:
                        await writer.WriteExitAsync(exit, cancellationToken);
                        break;
                }
            }
        }
        catch (InstanceUnreachableException ex)
        {
            // The status line is gone: the problem becomes the last line of the stream.
            await writer.WriteErrorAsync(InstanceProblems.SshUnreachable, "The connection to the machine was lost", ex.Message, cancellationToken);
        }
    }

    private static async Task WriteBufferedAsync(HttpContext context, IAsyncEnumerator<ExecEvent> events, int cap, CancellationToken cancellationToken)
    {
        var stdout = new CappedOutput(cap);
        var stderr = new CappedOutput(cap);
        ExecExit? exit = null;
        try
        {
            while (await events.MoveNextAsync())
            {
                var item = events.Current;
                switch (item.Kind)
                {
                    case ExecEventKind.Stdout:
                        stdout.Add(item.Data);
                        break;
                    case ExecEventKind.Stderr:
                        stderr.Add(item.Data);
                        break;
                    case ExecEventKind.Exited:
                        exit = item.Exit;
                        break;
                }
            }
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is { } mapped)
        {
            await mapped.ExecuteAsync(context);
            return;
        }

        if (exit is null)
        {
            throw new InvalidOperationException("The command's stream ended without an exit.");
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body, BufferedWriterOptions);
        json.WriteStartObject();
        ExecStreamWriter.WriteExitFields(json, exit);
        stdout.WriteTo(json, "stdout");
        stderr.WriteTo(json, "stderr");
        json.WriteNumber("stdout_bytes", stdout.Total);
        json.WriteNumber("stderr_bytes", stderr.Total);
        json.WriteBoolean("truncated", stdout.Truncated || stderr.Truncated);
        json.WriteNumber("max_output_bytes", cap);
        json.WriteEndObject();
        await json.FlushAsync(cancellationToken);
    }

    /// <summary>NDJSON unless the client asks for SSE, or for JSON without NDJSON.</summary>
    internal static ExecFormat ChooseFormat(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        if (accept is null or { Count: 0 })
        {
            return ExecFormat.NdJson;
        }

        bool Accepts(string type) => accept.Any(a => a.MediaType.Equals(type, StringComparison.OrdinalIgnoreCase) && a.Quality is not 0);
        return Accepts(NdJson) ? ExecFormat.NdJson
            : Accepts(EventStream) ? ExecFormat.ServerSentEvents
            : Accepts("application/json") ? ExecFormat.Buffered
            : ExecFormat.NdJson;
    }
}
