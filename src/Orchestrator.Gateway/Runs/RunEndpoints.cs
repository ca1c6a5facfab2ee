using System.Security.Claims;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Gateway.Workflows;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Gateway.Runs;

/// <summary>
/// <c>/api/runs</c>: start runs of registered workflows, read and list them, follow their events (SSE or NDJSON),
/// read a step's output, and cancel, signal or retry them. Validate, call one run grain, map.
/// </summary>
public static class RunEndpoints
{
    public const string NdJson = "application/x-ndjson";
    public const string EventStream = "text/event-stream";
    public const string LastEventIdHeader = "Last-Event-ID";

    /// <summary>How long an event stream may be silent before an SSE keep-alive comment is sent.</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    public static RouteGroupBuilder MapRunEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/runs").WithTags("Runs");
        api.MapPost("/", StartAsync).WithName("StartRun")
            .WithSummary("Start a run")
            .WithDescription(
                "Starts a run of a registered workflow (the latest version unless one is named) with the given inputs: 202 with "
                + "the run and its Location. With an idempotency key (the Idempotency-Key header or idempotency_key in the body), "
                + "the key names the run: starting again with it returns the same run.")
            .WithHeaderParameter(InstanceEndpoints.IdempotencyKeyHeader, "Names the run so that a retried start returns the same run (1 to 255 characters); the same as idempotency_key in the body.")
            .WithRequestBody(typeof(Orchestrator.Gateway.OpenApi.StartRunRequest), "What to run (at most 1 MiB).", required: true, "application/json")
            .Produces<RunResponse>(StatusCodes.Status202Accepted)
            .WithResponseHeader(StatusCodes.Status202Accepted, "Location", "The run's URL.")
            .ProducesProblems(400, 404, 409, 413);
        api.MapGet("/", ListAsync).WithName("ListRuns")
            .WithSummary("List runs")
            .WithDescription("The caller's runs a page at a time; next_cursor, when not null, fetches the next page.")
            .WithQueryParameter<int>("limit", "Runs per page, from 1 to 100 (default 50).")
            .WithQueryParameter<string>("cursor", "The next_cursor of the previous page.")
            .WithQueryParameter<string>("status", "Only runs with this status.", "pending", "running", "waiting", "succeeded", "failed", "cancelled")
            .WithQueryParameter<string>("workflow", "Only runs of this workflow.")
            .Produces<RunListResponse>()
            .ProducesProblems(400);
        api.MapGet("/{id}", GetAsync).WithName("GetRun")
            .WithSummary("Get a run")
            .WithDescription("The run with its inputs, outputs and steps.")
            .WithPathParameter("id", "The run's id.")
            .Produces<RunResponse>()
            .ProducesProblems(400, 404);
        api.MapGet("/{id}/events", EventsAsync).WithName("FollowRunEvents")
            .WithSummary("Follow a run's events")
            .WithDescription(
                "Streams the run's events: first those after the requested sequence, then live ones until the run has ended and "
                + "every event was sent, then the stream closes. Server-sent events by default: each event has 'id: <sequence>' "
                + "(so an EventSource reconnects with Last-Event-ID) and 'event: <kind>', its data one JSON object, with "
                + "': keep-alive' comments while the run is quiet. With 'Accept: application/x-ndjson', one JSON object per line. "
                + "An unknown run is a plain 404. If the stream breaks after it started, its last event (SSE event 'error') is "
                + "{error: {type, title, detail}} with type https://orchestrator.dev/problems/run-events-interrupted: reconnect "
                + "with Last-Event-ID to resume.")
            .WithPathParameter("id", "The run's id.")
            .WithHeaderParameter(LastEventIdHeader, "The sequence of the last event the client has; the stream starts after it. Takes precedence over ?after=.")
            .WithQueryParameter<long>("after", "The sequence of the last event the client has (default 0: from the first event).")
            .WithHeaderParameter("Accept", "text/event-stream (default) or application/x-ndjson.")
            .WithResponse(StatusCodes.Status200OK, "The run's events as they happen.", [typeof(RunEventItem), typeof(StreamErrorEvent)], EventStream, NdJson)
            .ProducesProblems(400, 404)
            .DisableRequestTimeout();
        api.MapGet("/{id}/steps/{step}/output", StepOutputAsync).WithName("GetRunStepOutput")
            .WithSummary("Get a step's output")
            .WithDescription(
                "The captured output of a step's latest attempt: standard output as text/plain (?stream=stderr for standard "
                + "error) with the attempt in the Step-Attempt header, or both as JSON when the client prefers application/json.")
            .WithPathParameter("id", "The run's id.")
            .WithPathParameter("step", "The step's id.")
            .WithQueryParameter<string>("stream", "Which stream the text/plain answer carries (default stdout).", "stdout", "stderr")
            .WithHeaderParameter("Accept", "text/plain (default) or application/json.")
            .WithResponse(StatusCodes.Status200OK, "The step's output.", [typeof(string)], "text/plain")
            .WithResponse(StatusCodes.Status200OK, "The step's output.", [typeof(StepOutputResponse)], "application/json")
            .WithResponseHeader(StatusCodes.Status200OK, "Step-Attempt", "The attempt whose output this is (text/plain answers).")
            .ProducesProblems(400, 404);
        api.MapPost("/{id}/cancel", (string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken ct) => ActAsync(id, user, cluster, (g, t) => g.CancelAsync(t), ct)).WithName("CancelRun")
            .WithRunAction("Cancel a run", "Cancels the run: the running step is stopped and finally-steps run; 202 with the run.");
        api.MapPost("/{id}/retry", (string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken ct) => ActAsync(id, user, cluster, (g, t) => g.RetryAsync(t), ct)).WithName("RetryRun")
            .WithRunAction("Retry a run", "Resumes a failed run from the step that failed; 202 with the run.");
        api.MapPost("/{id}/signals/{name}", SignalAsync).WithName("SignalRun")
            .WithRunAction("Signal a run", "Delivers a named signal, with an optional JSON payload (at most 256 KiB), to a run waiting for it; 202 with the run. A signal no step waits for yet is kept until one does (the same name replaces it), at most 32 names per run: a new one beyond that is 409.")
            .WithPathParameter("name", "The signal's name: a letter or '_', then up to 63 letters, digits, '_', '-' and '.'.")
            .WithRequestBody(typeof(System.Text.Json.JsonElement), "The signal's payload: any JSON value; an empty body is null.", required: false, "application/json")
            .ProducesProblems(413);
        return api;
    }

    internal static async Task<IResult> StartAsync(HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadJsonAsync(request, RunRequest.MaxBodyBytes, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var headerKey = request.Headers[InstanceEndpoints.IdempotencyKeyHeader].FirstOrDefault();
        var (start, startProblem) = RunRequest.ParseStart(body ?? default, string.IsNullOrEmpty(headerKey) ? null : headerKey);
        if (startProblem is { } p)
        {
            return InstanceProblems.Invalid(p.Field, p.Problem);
        }

        var id = start!.IdempotencyKey is { } key ? RunIds.For(request.HttpContext.User.Tenant(), key) : RunIds.New();
        return await CallAsync(async () =>
        {
            // The run grain admits the run under the tenant's quota (and answers a repeated start with its run).
            var view = await Grain(cluster, request.HttpContext.User, id).StartAsync(new RunStartRequest(start.Workflow, start.Version, start.InputsJson, start.Secrets), cancellationToken);
            return Accepted(view);
        });
    }

    internal static async Task<IResult> ListAsync(HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var limit = InstanceEndpoints.DefaultLimit;
        if (request.Query["limit"].FirstOrDefault() is { } rawLimit && (!int.TryParse(rawLimit, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 100))
        {
            return InstanceProblems.Invalid("limit", "must be a whole number from 1 to 100");
        }

        var cursor = request.Query["cursor"].FirstOrDefault();
        if (cursor is not null && (cursor.Length is 0 or > RunRequest.MaxCursorLength || cursor.Any(char.IsControl)))
        {
            return InstanceProblems.Invalid("cursor", "is not a cursor this API returned");
        }

        var status = request.Query["status"].FirstOrDefault();
        if (status is not null && RunRequest.ValidateStatus(status) is { } statusProblem)
        {
            return InstanceProblems.Invalid("status", statusProblem);
        }

        var workflow = request.Query["workflow"].FirstOrDefault();
        if (workflow is not null && WorkflowRequest.ValidateName(workflow) is { } workflowProblem)
        {
            return InstanceProblems.Invalid("workflow", workflowProblem);
        }

        return await CallAsync(async () =>
        {
            var page = await cluster.GetGrain<IRunQueryGrain>(0).ListAsync(request.HttpContext.User.Tenant(), limit, cursor, status, workflow, cancellationToken);
            return TypedResults.Json(new RunListResponse([.. page.Items.Select(RunSummaryResponse.From)], page.NextCursor), InstanceEndpoints.Json);
        });
    }

    internal static async Task<IResult> GetAsync(string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (RunRequest.ValidateRunId(id) is { } problem)
        {
            return InstanceProblems.Invalid("id", problem);
        }

        return await CallAsync(async () =>
        {
            var view = await Grain(cluster, user, id).GetAsync(cancellationToken);
            return view is null ? RunNotFound(id) : TypedResults.Json(RunResponse.From(view), InstanceEndpoints.Json);
        });
    }

    internal static async Task EventsAsync(string id, HttpContext context, IClusterClient cluster, TimeProvider time)
    {
        var cancellationToken = context.RequestAborted;
        if (RunRequest.ValidateRunId(id) is { } idProblem)
        {
            await InstanceProblems.Invalid("id", idProblem).ExecuteAsync(context);
            return;
        }

        var (after, afterProblem) = RunRequest.ParseAfter(context.Request.Headers[LastEventIdHeader].FirstOrDefault(), context.Request.Query["after"].FirstOrDefault());
        if (afterProblem is { } p)
        {
            await InstanceProblems.Invalid(p.Field, p.Problem).ExecuteAsync(context);
            return;
        }

        // An unknown run is a plain 404; only a run that exists gets a stream.
        var grain = Grain(cluster, context.User, id);
        var exists = await TryCallAsync(async () => await grain.GetAsync(cancellationToken) is null ? RunNotFound(id) : null);
        if (exists is not null)
        {
            await exists.ExecuteAsync(context);
            return;
        }

        var format = ChooseEventFormat(context.Request);
        await Streaming.StreamingResponse.StartAsync(context, format == RunEventFormat.NdJson ? NdJson : EventStream, cancellationToken);

        using var writer = new RunEventWriter(context.Response.Body, format);
        try
        {
            var (_, complete) = await RunEventRelay.RelayAsync(grain.WatchAsync, grain.GetAsync, after, writer, time, KeepAliveInterval, cancellationToken);
            if (!complete)
            {
                await writer.WriteErrorAsync(WorkflowProblems.EventsInterrupted, "The run's event stream was interrupted", "The run's events could not be followed; reconnect with Last-Event-ID to resume.", cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception ex) when (WorkflowProblems.FromException(ex) is not null || RunEventRelay.IsTransient(ex))
        {
            // The status line is gone: the problem becomes the last event of the stream.
            await writer.WriteErrorAsync(WorkflowProblems.EventsInterrupted, "The run's event stream was interrupted", ex.Message, cancellationToken);
        }
    }

    internal static async Task StepOutputAsync(string id, string step, HttpContext context, IClusterClient cluster)
    {
        var cancellationToken = context.RequestAborted;
        var problem = RunRequest.ValidateRunId(id) is { } idProblem ? InstanceProblems.Invalid("id", idProblem)
            : RunRequest.ValidateStepId(step) is { } stepProblem ? InstanceProblems.Invalid("step", stepProblem)
            : context.Request.Query["stream"].FirstOrDefault() is not (null or "stdout" or "stderr") ? InstanceProblems.Invalid("stream", "must be stdout or stderr")
            : null;
        if (problem is not null)
        {
            await problem.ExecuteAsync(context);
            return;
        }

        var result = await CallAsync(async () =>
        {
            StepOutputView output;
            try
            {
                output = await Grain(cluster, context.User, id).GetStepOutputAsync(step, cancellationToken);
            }
            catch (RunNotFoundException ex)
            {
                return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "No such run or step", type: InstanceProblems.NotFound);
            }

            if (WantsJson(context.Request))
            {
                return TypedResults.Json(new StepOutputResponse(output.StepId, output.Attempt, output.Stdout, output.Stderr), InstanceEndpoints.Json);
            }

            context.Response.Headers["Step-Attempt"] = output.Attempt.ToString(CultureInfo.InvariantCulture);
            var text = context.Request.Query["stream"].FirstOrDefault() == "stderr" ? output.Stderr : output.Stdout;
            return TypedResults.Text(text, "text/plain", Encoding.UTF8);
        });
        await result.ExecuteAsync(context);
    }

    internal static async Task<IResult> SignalAsync(string id, string name, HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (RunRequest.ValidateRunId(id) is { } idProblem)
        {
            return InstanceProblems.Invalid("id", idProblem);
        }

        if (RunRequest.ValidateSignalName(name) is { } nameProblem)
        {
            return InstanceProblems.Invalid("name", nameProblem);
        }

        var (payload, problem) = await ReadJsonAsync(request, RunRequest.MaxSignalBytes, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var payloadJson = payload?.GetRawText() ?? "null";
        return await CallAsync(async () => Accepted(await Grain(cluster, request.HttpContext.User, id).SignalAsync(name, payloadJson, cancellationToken)));
    }

    /// <summary>NDJSON when the client accepts it; SSE otherwise.</summary>
    internal static RunEventFormat ChooseEventFormat(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        return accept is not null && accept.Any(a => a.MediaType.Equals(NdJson, StringComparison.OrdinalIgnoreCase) && a.Quality is not 0)
            ? RunEventFormat.NdJson
            : RunEventFormat.ServerSentEvents;
    }

    /// <summary>JSON when the client asks for it and prefers it to plain text.</summary>
    internal static bool WantsJson(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        if (accept is null or { Count: 0 })
        {
            return false;
        }

        double Quality(string type) => accept.Where(a => a.MediaType.Equals(type, StringComparison.OrdinalIgnoreCase)).Select(a => a.Quality ?? 1).DefaultIfEmpty(-1).Max();
        var json = Quality("application/json");
        return json > 0 && json >= Quality("text/plain");
    }

    /// <summary>The body as one JSON value; null for an empty body.</summary>
    internal static async Task<(JsonElement? Body, IResult? Problem)> ReadJsonAsync(HttpRequest request, int limitBytes, CancellationToken cancellationToken)
    {
        var (text, problem) = await RequestText.ReadAsync(request, limitBytes, cancellationToken);
        if (problem is not null)
        {
            return (null, problem);
        }

        return ParseJson(text!);
    }

    internal static (JsonElement? Body, IResult? Problem) ParseJson(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return (null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 });
            return JsonBodyText.FindUnreadable(document.RootElement) is { } unreadable
                ? (null, JsonBodyText.Problem(unreadable))
                : (document.RootElement.Clone(), null);
        }
        catch (JsonException ex)
        {
            return (null, InstanceProblems.Invalid("body", $"is not valid JSON: {ex.Message}"));
        }
    }

    private static async Task<IResult> ActAsync(string id, ClaimsPrincipal user, IClusterClient cluster, Func<IWorkflowRunGrain, CancellationToken, Task<RunView>> action, CancellationToken cancellationToken)
    {
        if (RunRequest.ValidateRunId(id) is { } problem)
        {
            return InstanceProblems.Invalid("id", problem);
        }

        return await CallAsync(async () => Accepted(await action(Grain(cluster, user, id), cancellationToken)));
    }

    private static IWorkflowRunGrain Grain(IClusterClient cluster, ClaimsPrincipal user, string id) => cluster.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(user.Tenant(), id));

    private static IResult RunNotFound(string id) =>
        WorkflowProblems.FromException(new RunNotFoundException($"Run '{id}' does not exist."))!;

    private static AcceptedRunResult Accepted(RunView view) => new(RunResponse.From(view));

    private static async Task<IResult?> TryCallAsync(Func<Task<IResult?>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (WorkflowProblems.FromException(ex) is { } mapped)
        {
            return mapped;
        }
    }

    private static async Task<IResult> CallAsync(Func<Task<IResult>> call) => (await TryCallAsync(async () => await call()))!;

    /// <summary>202 with a Location header and the run as snake_case JSON.</summary>
    private sealed class AcceptedRunResult(RunResponse body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status202Accepted;
            httpContext.Response.Headers.Location = $"/api/runs/{body.Id}";
            return httpContext.Response.WriteAsJsonAsync(body, InstanceEndpoints.Json);
        }
    }
}
