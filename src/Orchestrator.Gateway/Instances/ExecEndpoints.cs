using System.Text.Encodings.Web;
using System.Text.Json;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Gateway.Streaming;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// <c>POST /api/instances/{id}/exec</c>, <c>GET /api/instances/{id}/exec/ws</c> and <c>GET /api/instances/{id}/shell</c>: validate, open one session-grain
/// stream, relay it. Nothing is answered until the machine accepted the connection, so failures to reach it are
/// plain problem details; after that the status line is sent and output is relayed as it arrives. The request body is
/// read by <see cref="ExecRequestParser"/>; the WebSockets are relayed by <see cref="ExecSocketRelay"/> and <see cref="ShellRelay"/>.
/// </summary>
public static class ExecEndpoints
{
    public const string NdJson = "application/x-ndjson";
    public const string EventStream = "text/event-stream";
    public const string WebSocketRequired = InstanceProblems.TypeBase + "websocket-required";

    /// <summary>The first byte of an output message on <c>/exec/ws</c>: the rest is stdout.</summary>
    public const byte StdoutTag = 1;

    /// <summary>The first byte of an output message on <c>/exec/ws</c>: the rest is stderr.</summary>
    public const byte StderrTag = 2;

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
        api.MapGet("/{id}/exec/ws", ExecSocketRelay.ExecAsync).WithName("ExecInInstanceWithStdin")
            .WithSummary("Run a command with streamed stdin (WebSocket)")
            .WithDescription(
                "Runs a command as POST /exec does, but its stdin is streamed over a WebSocket as it is sent, of any size and "
                + "in constant memory (POST /exec takes at most 8 MiB of stdin inside its JSON body). Upgrade with GET, "
                + "'Connection: Upgrade' and 'Upgrade: websocket', the key in the Authorization header as for every /api call "
                + "(or, from a browser, the subprotocols 'orchestrator' and 'bearer.KEY'). The command and its options are "
                + "query parameters and are checked before the upgrade: a bad one is a 400 problem naming it, and failing to "
                + "reach the machine is a plain problem details answer; a request that is not an upgrade is 400 "
                + "(https://orchestrator.dev/problems/websocket-required).\n\n"
                + "After 101 Switching Protocols:\n\n"
                + "- client to server, binary frames: stdin bytes, written to the command in order. The server reads the next "
                + "frame only once the command took the previous one, so a command that reads slowly slows the sender.\n"
                + "- client to server, text frame {\"type\": \"eof\"}: closes stdin; the command reads end of file after what "
                + "was sent. Send it when stdin is done (at once for no stdin).\n"
                + "- server to client, binary frames: output; the first byte of each message is 1 for stdout or 2 for stderr, "
                + "the rest is the output's bytes as they are.\n"
                + "- server to client, text frames: {\"type\": \"exit\", \"exit_code\", \"signal\", \"timed_out\", "
                + "\"cancelled\", \"duration_ms\", \"stdout_bytes\", \"stderr_bytes\"} (the fields of the NDJSON exit line) "
                + "when the command ended, after all its output; {\"type\": \"error\", \"error\": {type, title, detail}} for a "
                + "bad control message or a lost connection to the machine (type https://orchestrator.dev/problems/ssh-unreachable).\n\n"
                + "The server closes the socket (1000) after the exit. When the command ends before reading all of stdin, "
                + "further stdin frames are read and dropped. Closing the socket from the client before the exit kills the "
                + "command. The command and options travel in the request line, which the server limits to 8 KiB; use POST "
                + "/exec for longer commands.")
            .WithPathParameter("id", "The instance's name.")
            .WithRequiredQueryParameter<string>("command", "Shell text, run by sh -c as root (as in POST /exec); given once.")
            .WithQueryParameter<string[]>("env", "An environment variable as NAME=VALUE; repeat for more.")
            .WithQueryParameter<string>("cwd", "Working directory; the command fails with exit 1 when it does not exist.")
            .WithQueryParameter<double>("timeout_seconds", $"Kill the command after this many seconds (more than 0, at most {ExecCommandRules.MaxTimeout.TotalSeconds:0}; default {ExecCommandRules.DefaultTimeout.TotalSeconds:0}).")
            .Produces(StatusCodes.Status101SwitchingProtocols)
            .WithResponse(StatusCodes.Status101SwitchingProtocols, "Switching Protocols: the WebSocket is open and the command started.", [])
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
        if (!await InstanceProblems.FirstEventOrProblemAsync(events, context, "The session ended before the command started."))
        {
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
