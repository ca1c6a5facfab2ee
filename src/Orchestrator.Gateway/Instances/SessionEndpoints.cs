using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// <c>/api/instances/{id}/sessions</c>: named terminal sessions that live in tmux on the machine. Bodies are read by
/// <see cref="SessionRequestParser"/>; attaching relays a tmux client over the same WebSocket protocol as
/// <c>/shell</c> (<see cref="ShellRelay"/>).
/// </summary>
public static class SessionEndpoints
{
    public static RouteGroupBuilder MapSessionEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/instances/{id}/sessions").WithTags("Sessions");
        api.MapPost("/", CreateAsync).WithName("CreateSession")
            .WithSummary("Start a named terminal session")
            .WithDescription(
                "Starts a program (the login shell by default) in a tmux session on the machine. It keeps running with nobody "
                + "attached, through WebSocket drops, gateway restarts and the loss of the silo that hosted it, until it exits or "
                + "is deleted. env is passed to the program and never stored.")
            .WithPathParameter("id", "The instance's name.")
            .WithRequestBody(typeof(CreateSessionRequest), "The program to run.", required: false, "application/json")
            .Produces<SessionResponse>(StatusCodes.Status201Created)
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The session's URL.")
            .ProducesProblems(400, 404, 409, 502, 503);
        api.MapGet("/", ListAsync).WithName("ListSessions")
            .WithSummary("List an instance's sessions")
            .WithDescription("Every session of the instance, oldest first, with its status read from the machine: running, exited (with exit_code) or ended (ended_reason idle when the tenant's session_idle_timeout ended it, lost when its tmux session vanished).")
            .WithPathParameter("id", "The instance's name.")
            .Produces<SessionListResponse>()
            .ProducesProblems(400, 404, 409, 502, 503);
        api.MapGet("/{sid}", GetAsync).WithName("GetSession")
            .WithSummary("Get a session")
            .WithPathParameter("id", "The instance's name.")
            .WithPathParameter("sid", "The session's id.")
            .Produces<SessionResponse>()
            .ProducesProblems(400, 404, 409, 502, 503);
        api.MapPatch("/{sid}", RenameAsync).WithName("RenameSession")
            .WithSummary("Rename a session")
            .WithPathParameter("id", "The instance's name.")
            .WithPathParameter("sid", "The session's id.")
            .WithRequestBody(typeof(RenameSessionRequest), "The new name.", required: true, "application/json")
            .Produces<SessionResponse>()
            .ProducesProblems(400, 404, 409, 502, 503);
        api.MapDelete("/{sid}", DeleteAsync).WithName("DeleteSession")
            .WithSummary("Delete a session")
            .WithDescription("Kills the session's tmux session and so its processes, and forgets the session.")
            .WithPathParameter("id", "The instance's name.")
            .WithPathParameter("sid", "The session's id.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblems(400, 404, 409, 502, 503);
        api.MapGet("/{sid}/screen", ScreenAsync).WithName("GetSessionScreen")
            .WithSummary("Read a session's screen")
            .WithDescription("The screen as text/plain (one line per row), or with Accept: application/json as {text, cursor_x, cursor_y, cols, rows}. With ?scrollback=N up to N lines of history come first.")
            .WithPathParameter("id", "The instance's name.")
            .WithPathParameter("sid", "The session's id.")
            .WithQueryParameter<int>("scrollback", $"Lines of history above the screen, from 0 to {TerminalSessionRules.MaxScrollback} (default 0).")
            .WithHeaderParameter("Accept", "text/plain (default) or application/json for the cursor position too.")
            .WithResponse(StatusCodes.Status200OK, "The screen, one line per row.", [typeof(string)], "text/plain")
            .WithResponse(StatusCodes.Status200OK, "The screen with the cursor position and size.", [typeof(SessionScreenResponse)], "application/json")
            .ProducesProblems(400, 404, 409, 502, 503);
        api.MapPost("/{sid}/input", InputAsync).WithName("SendSessionInput")
            .WithSummary("Type into a session")
            .WithDescription("Types {text} literally, or presses {keys} in order (tmux key names such as C-c, Enter, Up, Escape, F1). 409 when the session's program has exited or the session ended.")
            .WithPathParameter("id", "The instance's name.")
            .WithPathParameter("sid", "The session's id.")
            .WithRequestBody(typeof(SessionInputRequest), "What to type.", required: true, "application/json")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblems(400, 404, 409, 502, 503);
        api.MapGet("/{sid}/attach", SessionAttachEndpoint.AttachAsync).WithName("AttachSession")
            .WithSummary("Attach to a session (WebSocket)")
            .WithDescription(
                "Upgrades to a WebSocket with the protocol of /shell (binary frames both ways, JSON resize in, exit and error out) "
                + "attached to the session: the current screen comes first (after up to ?scrollback=N lines of history), then live "
                + "output. Several clients may attach at once and see the same bytes (the clients attached through one gateway share "
                + "one tmux client; an interactive client's resize sizes it for all); ?mode=view attaches read-only (keystrokes are "
                + "dropped with an error message). When the session's program exits, every attached client is sent "
                + "{\"type\":\"exit\",\"exit_code\":N} with its exit code and the socket is closed. A client that falls more than 4 MiB "
                + "behind the output is sent an error and closed. Closing the socket detaches: the session keeps running.")
            .WithPathParameter("id", "The instance's name.")
            .WithPathParameter("sid", "The session's id.")
            .WithQueryParameter<string>("mode", "'interactive' (default) or 'view' for read-only.", "view")
            .WithQueryParameter<int>("scrollback", $"Lines of history sent before the screen, from 0 to {TerminalSessionRules.MaxScrollback} (default 0).")
            .WithQueryParameter<int>("cols", "Terminal width in columns, from 1 to 1000 (default 80).")
            .WithQueryParameter<int>("rows", "Terminal height in rows, from 1 to 1000 (default 24).")
            .WithResponse(StatusCodes.Status101SwitchingProtocols, "Switching Protocols: the WebSocket is attached to the session.", [])
            .ProducesProblems(400, 404, 409, 502, 503);
        return api;
    }

    internal static async Task<IResult> CreateAsync(string id, HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (InstanceSpecRules.ValidateName(id) is { } idProblem)
        {
            return InstanceProblems.Invalid("id", idProblem);
        }

        var (body, bodyProblem) = await ReadBodyAsync(request, allowEmpty: true, cancellationToken);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        var (spec, problem) = SessionRequestParser.ParseCreate(body);
        if (problem is { } p)
        {
            return InstanceProblems.Invalid(p.Field, p.Problem);
        }

        var sessionId = "s-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        try
        {
            var info = await Session(cluster, user, id, sessionId).CreateAsync(spec!, cancellationToken);
            return new WithLocation($"/api/instances/{id}/sessions/{sessionId}", TypedResults.Json(SessionResponse.From(info), InstanceEndpoints.Json, statusCode: StatusCodes.Status201Created));
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is { } mapped)
        {
            return mapped;
        }
    }

    internal static async Task<IResult> ListAsync(string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (InstanceSpecRules.ValidateName(id) is { } idProblem)
        {
            return InstanceProblems.Invalid("id", idProblem);
        }

        var instanceKey = InstanceKey.Format(user.Tenant(), id);
        try
        {
            if (await cluster.GetGrain<IInstanceGrain>(instanceKey).GetAsync(cancellationToken) is null)
            {
                throw new InstanceNotFoundException($"Instance '{id}' does not exist.");
            }

            var ids = await cluster.GetGrain<ITerminalSessionListGrain>(instanceKey).ListAsync();
            var sessions = await Task.WhenAll(ids.Select(sid => Session(cluster, user, id, sid).GetAsync(cancellationToken)));
            return TypedResults.Json(new SessionListResponse([.. sessions.Select(SessionResponse.From)]), InstanceEndpoints.Json);
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is { } mapped)
        {
            return mapped;
        }
    }

    internal static Task<IResult> GetAsync(string id, string sid, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken) =>
        CallAsync(id, sid, user, cluster, async g => TypedResults.Json(SessionResponse.From(await g.GetAsync(cancellationToken)), InstanceEndpoints.Json));

    internal static async Task<IResult> RenameAsync(string id, string sid, HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var (body, bodyProblem) = await ReadBodyAsync(request, allowEmpty: false, cancellationToken);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        var (name, problem) = SessionRequestParser.ParseRename(body);
        return problem is { } p
            ? InstanceProblems.Invalid(p.Field, p.Problem)
            : await CallAsync(id, sid, user, cluster, async g => TypedResults.Json(SessionResponse.From(await g.RenameAsync(name!, cancellationToken)), InstanceEndpoints.Json));
    }

    internal static Task<IResult> DeleteAsync(string id, string sid, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken) =>
        CallAsync(id, sid, user, cluster, async g =>
        {
            await g.DeleteAsync(cancellationToken);
            return TypedResults.NoContent();
        });

    internal static async Task<IResult> ScreenAsync(string id, string sid, HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (!TryScrollback(request, out var scrollback, out var scrollbackProblem))
        {
            return scrollbackProblem!;
        }

        var json = request.GetTypedHeaders().Accept is { Count: > 0 } accept
            && accept.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            && !accept.Any(a => a.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase));
        return await CallAsync(id, sid, user, cluster, async g =>
        {
            var screen = await g.GetScreenAsync(scrollback, cancellationToken);
            return json
                ? TypedResults.Json(new SessionScreenResponse(screen.Text, screen.CursorX, screen.CursorY, screen.Columns, screen.Rows), InstanceEndpoints.Json)
                : TypedResults.Text(screen.Text, "text/plain", Encoding.UTF8);
        });
    }

    internal static async Task<IResult> InputAsync(string id, string sid, HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var (body, bodyProblem) = await ReadBodyAsync(request, allowEmpty: false, cancellationToken);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        var (input, problem) = SessionRequestParser.ParseInput(body);
        return problem is { } p
            ? InstanceProblems.Invalid(p.Field, p.Problem)
            : await CallAsync(id, sid, user, cluster, async g =>
            {
                await g.SendInputAsync(input!, cancellationToken);
                return TypedResults.NoContent();
            });
    }

    private static async Task<IResult> CallAsync(string id, string sid, ClaimsPrincipal user, IClusterClient cluster, Func<ITerminalSessionGrain, Task<IResult>> call)
    {
        if (IdProblem(id, sid) is { } problem)
        {
            return problem;
        }

        try
        {
            return await call(Session(cluster, user, id, sid));
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is { } mapped)
        {
            return mapped;
        }
    }

    internal static IResult? IdProblem(string id, string sid) =>
        InstanceSpecRules.ValidateName(id) is { } idProblem ? InstanceProblems.Invalid("id", idProblem)
        : InstanceSpecRules.ValidateName(sid) is { } sidProblem ? InstanceProblems.Invalid("sid", sidProblem)
        : null;

    internal static ITerminalSessionGrain Session(IClusterClient cluster, ClaimsPrincipal user, string id, string sid) =>
        cluster.GetGrain<ITerminalSessionGrain>(SshSessionKey.Format(user.Tenant(), id, sid));

    internal static bool TryScrollback(HttpRequest request, out int scrollback, out IResult? problem)
    {
        scrollback = 0;
        problem = null;
        if (request.Query["scrollback"].FirstOrDefault() is not { } raw)
        {
            return true;
        }

        if (!int.TryParse(raw, CultureInfo.InvariantCulture, out scrollback) || TerminalSessionRules.ValidateScrollback(scrollback) is not null)
        {
            problem = InstanceProblems.Invalid("scrollback", $"must be a whole number from 0 to {TerminalSessionRules.MaxScrollback}");
            return false;
        }

        return true;
    }

    private static async Task<(JsonElement Body, IResult? Problem)> ReadBodyAsync(HttpRequest request, bool allowEmpty, CancellationToken cancellationToken)
    {
        if (allowEmpty && request.ContentLength is 0 or null && !request.Headers.ContainsKey("Transfer-Encoding"))
        {
            return (JsonSerializer.SerializeToElement(new { }), null);
        }

        try
        {
            var body = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body, InstanceEndpoints.Json, cancellationToken);
            return JsonBodyText.FindUnreadable(body) is { } unreadable ? (default, JsonBodyText.Problem(unreadable)) : (body, null);
        }
        catch (JsonException ex)
        {
            return (default, InstanceProblems.Invalid("body", $"is not valid JSON: {ex.Message}"));
        }
    }
}

/// <summary>An answer with a Location header.</summary>
internal sealed class WithLocation(string location, IResult inner) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.Headers.Location = location;
        return inner.ExecuteAsync(httpContext);
    }
}

/// <summary>A session as the API shows it (snake_case on the wire).</summary>
public sealed record SessionResponse(
    string Id,
    string Name,
    string Status,
    string? Command,
    string? Cwd,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActivityAt,
    int Attached,
    int? ExitCode,
    string? EndedReason,
    DateTimeOffset? EndedAt)
{
    public static SessionResponse From(TerminalSessionInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return new(info.Id, info.Name, info.Status, info.Command, info.Cwd, info.CreatedAt, info.LastActivityAt, info.Attached, info.ExitCode, info.EndedReason, info.EndedAt);
    }
}

public sealed record SessionListResponse(IReadOnlyList<SessionResponse> Items);

/// <summary>The screen with the cursor (0-based column and row within the screen) and the size.</summary>
public sealed record SessionScreenResponse(string Text, int CursorX, int CursorY, int Cols, int Rows);
