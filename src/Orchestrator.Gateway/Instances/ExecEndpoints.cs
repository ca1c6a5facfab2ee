using System.Globalization;
using System.Net.WebSockets;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// <c>POST /api/instances/{id}/exec</c> and <c>GET /api/instances/{id}/shell</c>: validate, open one session-grain
/// stream, relay it. Nothing is answered until the machine accepted the connection, so failures to reach it are
/// plain problem details; after that the status line is sent and output is relayed as it arrives.
/// </summary>
public static class ExecEndpoints
{
    public const int DefaultBufferedOutputCap = 1024 * 1024;
    public const int MaxBufferedOutputCap = 16 * 1024 * 1024;
    public const int DefaultColumns = 80;
    public const int DefaultRows = 24;
    public const string NdJson = "application/x-ndjson";
    public const string EventStream = "text/event-stream";
    public const string WebSocketRequired = InstanceProblems.TypeBase + "websocket-required";

    private const int MaxControlMessageBytes = 4096;
    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);
    private static readonly HashSet<string> Known = ["command", "env", "cwd", "timeout_seconds", "stdin", "stdin_base64", "max_output_bytes"];
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
        api.MapGet("/{id}/shell", ShellAsync).WithName("OpenInstanceShell")
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

        var (command, cap, problem) = Parse(body);
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

    internal static async Task ShellAsync(string id, HttpContext context, IClusterClient cluster)
    {
        var cancellationToken = context.RequestAborted;
        if (InstanceSpecRules.ValidateName(id) is { } idProblem)
        {
            await InstanceProblems.Invalid("id", idProblem).ExecuteAsync(context);
            return;
        }

        if (!TryWindow(context.Request, out var columns, out var rows, out var windowProblem))
        {
            await InstanceProblems.Invalid(windowProblem.Field, windowProblem.Problem).ExecuteAsync(context);
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            await TypedResults.Problem(
                "Open the shell with a WebSocket upgrade (GET with 'Connection: Upgrade' and 'Upgrade: websocket').",
                statusCode: StatusCodes.Status400BadRequest,
                title: "A WebSocket is required",
                type: WebSocketRequired).ExecuteAsync(context);
            return;
        }

        var sessionId = "sh-" + Guid.NewGuid().ToString("N")[..20];
        var grain = cluster.GetGrain<ISshSessionGrain>(SshSessionKey.Format(context.User.Tenant(), id, sessionId));
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var events = grain.ShellAsync(columns, rows, closing.Token).GetAsyncEnumerator(closing.Token);
        try
        {
            if (!await events.MoveNextAsync())
            {
                throw new InvalidOperationException("The shell ended before it opened.");
            }
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is { } mapped)
        {
            await mapped.ExecuteAsync(context);
            return;
        }

        // Browsers cannot set headers on a WebSocket: they offer "orchestrator" and "bearer.<key>" as
        // subprotocols instead, and the connection must select one of the offered ones to open.
        using var socket = await context.WebSockets.AcceptWebSocketAsync(
            context.WebSockets.WebSocketRequestedProtocols.Contains(ApiKeyAuthenticationHandler.WebSocketProtocol) ? ApiKeyAuthenticationHandler.WebSocketProtocol : null);
        // When the client closes (or the socket breaks), stop relaying output: ending the enumeration closes the shell.
        var input = PumpInputAsync(socket, grain, closing.Token).ContinueWith(_ => closing.Cancel(), TaskScheduler.Default);
        var closeReason = "shell exited";
        try
        {
            while (await events.MoveNextAsync())
            {
                var item = events.Current;
                if (item.Kind == ShellEventKind.Output && item.Data is { Length: > 0 } data)
                {
                    await socket.SendAsync(data, WebSocketMessageType.Binary, endOfMessage: true, closing.Token);
                }
                else if (item.Kind == ShellEventKind.Exited)
                {
                    var exit = JsonSerializer.SerializeToUtf8Bytes(new ShellControl("exit", ExitCode: item.ExitCode), InstanceEndpoints.Json);
                    await socket.SendAsync(exit, WebSocketMessageType.Text, endOfMessage: true, closing.Token);
                }
            }
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
            closeReason = "closed by the client";
        }
        catch (WebSocketException)
        {
            closeReason = "connection lost";
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is not null)
        {
            closeReason = "shell failed";
            await SendControlErrorAsync(socket, ex.Message, CancellationToken.None);
        }

        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var closeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, closeReason, closeTimeout.Token);
        }

        // The client answers our close frame, which ends the input pump; a client that never does is cut off.
        await input.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => closing.Cancel(), TaskScheduler.Default);
        await input;
    }

    /// <summary>Relays the client's frames: binary frames are keystrokes, text frames are JSON control messages.</summary>
    private static async Task PumpInputAsync(WebSocket socket, ISshSessionGrain grain, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        using var control = new MemoryStream();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var received = await socket.ReceiveAsync(buffer, cancellationToken);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                if (received.MessageType == WebSocketMessageType.Binary)
                {
                    if (received.Count > 0)
                    {
                        await grain.WriteShellAsync(buffer.AsSpan(0, received.Count).ToArray(), cancellationToken);
                    }

                    continue;
                }

                if (control.Length + received.Count > MaxControlMessageBytes)
                {
                    await SendControlErrorAsync(socket, $"control messages must be at most {MaxControlMessageBytes} bytes", cancellationToken);
                    control.SetLength(0);
                    continue;
                }

                control.Write(buffer, 0, received.Count);
                if (received.EndOfMessage)
                {
                    var message = control.ToArray();
                    control.SetLength(0);
                    var (resize, controlProblem) = ParseControl(message);
                    if (controlProblem is not null)
                    {
                        await SendControlErrorAsync(socket, controlProblem, cancellationToken);
                    }
                    else
                    {
                        await grain.ResizeShellAsync(resize!.Cols!.Value, resize.Rows!.Value, cancellationToken);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The socket closed or the shell ended: the output side finishes the exchange.
        }
    }

    /// <summary>The resize message, or the problem with it.</summary>
    internal static (ShellControl? Resize, string? Problem) ParseControl(byte[] message)
    {
        ShellControl? control;
        try
        {
            control = JsonSerializer.Deserialize<ShellControl>(message, InstanceEndpoints.Json);
        }
        catch (JsonException ex)
        {
            return (null, $"control message is not valid JSON: {ex.Message}");
        }

        if (control is not { Type: "resize" })
        {
            return (null, "control message type must be 'resize'");
        }

        return control is { Cols: { } cols, Rows: { } rows } && ExecCommandRules.ValidateWindow(cols, rows) is null
            ? (control, null)
            : (null, $"resize needs cols and rows from {ExecCommandRules.MinColumns} to {ExecCommandRules.MaxColumns}");
    }

    private static async Task SendControlErrorAsync(WebSocket socket, string detail, CancellationToken cancellationToken)
    {
        var error = JsonSerializer.SerializeToUtf8Bytes(new ShellControl("error", Detail: detail), InstanceEndpoints.Json);
        await socket.SendAsync(error, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
    }

    private static async Task StreamAsync(HttpContext context, IAsyncEnumerator<ExecEvent> events, bool sse, TimeProvider time, CancellationToken cancellationToken)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = sse ? EventStream : NdJson;
        context.Response.Headers.CacheControl = "no-cache";
        // Proxies such as nginx would otherwise hold output back until the command ends.
        context.Response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        await context.Response.StartAsync(cancellationToken);

        using var writer = new ExecStreamWriter(context.Response.Body, sse);
        try
        {
            while (await NextAsync(events, writer, time, cancellationToken))
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

    /// <summary>MoveNext, writing an SSE keep-alive whenever the command has been silent for a while.</summary>
    private static async Task<bool> NextAsync(IAsyncEnumerator<ExecEvent> events, ExecStreamWriter writer, TimeProvider time, CancellationToken cancellationToken)
    {
        var next = events.MoveNextAsync();
        if (next.IsCompleted)
        {
            return await next;
        }

        var pending = next.AsTask();
        while (true)
        {
            var tick = Task.Delay(KeepAliveInterval, time, cancellationToken);
            if (await Task.WhenAny(pending, tick) == pending)
            {
                return await pending;
            }

            await writer.WriteKeepAliveAsync(cancellationToken);
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

    internal static (ExecCommand? Command, int Cap, (string Field, string Problem)? Problem) Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, 0, ("body", "must be a JSON object"));
        }

        foreach (var property in body.EnumerateObject())
        {
            if (!Known.Contains(property.Name))
            {
                return (null, 0, (property.Name, "is not a known field"));
            }
        }

        if (!body.TryGetProperty("command", out var commandElement) || commandElement.ValueKind != JsonValueKind.String)
        {
            return (null, 0, ("command", "is required and must be a string"));
        }

        Dictionary<string, string>? env = null;
        if (body.TryGetProperty("env", out var envElement) && envElement.ValueKind != JsonValueKind.Null)
        {
            if (envElement.ValueKind != JsonValueKind.Object)
            {
                return (null, 0, ("env", "must be an object of string values"));
            }

            env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var variable in envElement.EnumerateObject())
            {
                if (variable.Value.ValueKind != JsonValueKind.String)
                {
                    return (null, 0, ($"env.{variable.Name}", "must be a string"));
                }

                env[variable.Name] = variable.Value.GetString()!;
            }
        }

        string? cwd = null;
        if (body.TryGetProperty("cwd", out var cwdElement) && cwdElement.ValueKind != JsonValueKind.Null)
        {
            if (cwdElement.ValueKind != JsonValueKind.String)
            {
                return (null, 0, ("cwd", "must be a string"));
            }

            cwd = cwdElement.GetString();
        }

        TimeSpan? timeout = null;
        if (body.TryGetProperty("timeout_seconds", out var timeoutElement) && timeoutElement.ValueKind != JsonValueKind.Null)
        {
            if (timeoutElement.ValueKind != JsonValueKind.Number || !timeoutElement.TryGetDouble(out var seconds) || double.IsNaN(seconds)
                || seconds <= 0 || seconds > ExecCommandRules.MaxTimeout.TotalSeconds)
            {
                return (null, 0, ("timeout_seconds", $"must be a number more than 0 and at most {ExecCommandRules.MaxTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}"));
            }

            timeout = TimeSpan.FromSeconds(seconds);
        }

        byte[]? stdin = null;
        var hasText = body.TryGetProperty("stdin", out var stdinElement) && stdinElement.ValueKind != JsonValueKind.Null;
        var hasBase64 = body.TryGetProperty("stdin_base64", out var stdinBase64) && stdinBase64.ValueKind != JsonValueKind.Null;
        if (hasText && hasBase64)
        {
            return (null, 0, ("stdin", "and stdin_base64 cannot both be given"));
        }

        if (hasText)
        {
            if (stdinElement.ValueKind != JsonValueKind.String)
            {
                return (null, 0, ("stdin", "must be a string"));
            }

            stdin = System.Text.Encoding.UTF8.GetBytes(stdinElement.GetString()!);
        }
        else if (hasBase64)
        {
            if (stdinBase64.ValueKind != JsonValueKind.String || !stdinBase64.TryGetBytesFromBase64(out stdin))
            {
                return (null, 0, ("stdin_base64", "must be a base64 string"));
            }
        }

        var cap = DefaultBufferedOutputCap;
        if (body.TryGetProperty("max_output_bytes", out var capElement) && capElement.ValueKind != JsonValueKind.Null
            && (capElement.ValueKind != JsonValueKind.Number || !capElement.TryGetInt32(out cap) || cap is < 1 or > MaxBufferedOutputCap))
        {
            return (null, 0, ("max_output_bytes", $"must be a whole number from 1 to {MaxBufferedOutputCap}"));
        }

        var command = new ExecCommand(commandElement.GetString()!, env, cwd, timeout, stdin);
        return ExecCommandRules.Validate(command) is [var first, ..] ? (null, 0, first) : (command, cap, null);
    }

    private static bool TryWindow(HttpRequest request, out int columns, out int rows, out (string Field, string Problem) problem)
    {
        columns = DefaultColumns;
        rows = DefaultRows;
        problem = default;
        if (request.Query["cols"].FirstOrDefault() is { } rawColumns && !int.TryParse(rawColumns, CultureInfo.InvariantCulture, out columns))
        {
            problem = ("cols", "must be a whole number");
            return false;
        }

        if (request.Query["rows"].FirstOrDefault() is { } rawRows && !int.TryParse(rawRows, CultureInfo.InvariantCulture, out rows))
        {
            problem = ("rows", "must be a whole number");
            return false;
        }

        if (ExecCommandRules.ValidateWindow(columns, rows) is { } windowProblem)
        {
            problem = (columns is < ExecCommandRules.MinColumns or > ExecCommandRules.MaxColumns ? "cols" : "rows", windowProblem);
            return false;
        }

        return true;
    }

    /// <summary>A shell control message: <c>resize</c> from the client; <c>exit</c> and <c>error</c> to it.</summary>
    internal sealed record ShellControl(
        string Type,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Cols = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Rows = null,
        int? ExitCode = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Detail = null);
}
