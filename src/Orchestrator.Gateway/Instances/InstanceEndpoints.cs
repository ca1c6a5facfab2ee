using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Gateway.Paging;
using Orchestrator.Grains.Instances;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// <c>/api/instances</c>: validate, call one instance grain, map. The caller's tenant (from its API key) is
/// always the first part of the grain key, so another tenant's instance is simply not found.
/// </summary>
public static class InstanceEndpoints
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const int DefaultLimit = PageQuery.DefaultLimit;

    /// <summary>How long <c>?wait=started</c> holds the request; past it the answer is 202 with the state so far.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(25);

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static RouteGroupBuilder MapInstanceEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/instances").WithTags("Instances");
        api.MapPost("/", CreateAsync).WithName("CreateInstance")
            .WithSummary("Create an instance")
            .WithDescription(
                "Creates a Fly machine (with its volume, SSH key and SSH host key) in the caller's tenant. The request is validated "
                + "and counted against the quota, then answered 202 with the instance as it is so far (state creating) and a Location "
                + "to poll, while the orchestrator makes the volume, machine and IP; its events say how far it got, and a creation Fly "
                + "refuses ends in state failed with last_error saying why. With ?wait=started the request is held until the machine "
                + "has started (at most 25 s), answering 201 when it has, 202 when the wait ran out, and 502 instance-failed with the "
                + "reason when the machine could not be created or failed to start. Creating again with the same name and spec returns "
                + "the same instance (one that failed is created again). 503 machines-unavailable: this cluster cannot run machines now "
                + "(nothing was created).")
            .WithRequestBody(typeof(CreateInstanceRequest), "The instance to create.", required: true, "application/json")
            .WithQueryParameter<string>("wait", "'started' to hold the request until the machine has started (at most 25 s).", "started")
            .WithHeaderParameter(IdempotencyKeyHeader, "Makes a retried create safe: the same key returns the same instance instead of failing.")
            .Produces<InstanceResponse>(StatusCodes.Status201Created)
            .Produces<InstanceResponse>(StatusCodes.Status202Accepted)
            .WithResponseHeader(StatusCodes.Status202Accepted, "Location", "The instance's URL, to poll.")
            .ProducesProblems(400, 409, 422, 429, 502, 503);
        api.MapGet("/{id}/events", EventsAsync).WithName("ListInstanceEvents")
            .WithSummary("List an instance's lifecycle events")
            .WithDescription(
                "What happened to the instance, oldest first: created (accepted), machine_created, starting, started, stopping, stopped, restarted, resized, "
                + "volume_extended, failed, destroyed; each with its time, who asked for it (the API request id, or the run and step) "
                + "and Fly's machine event or error where there was one. Pages follow next_cursor; the instance keeps its newest "
                + "200 events (first_sequence says where they begin). Served from the instance: no Fly call.")
            .WithPathParameter("id", "The instance's name.")
            .WithQueryParameter<int>("limit", "Events per page, from 1 to 100 (default 50).")
            .WithQueryParameter<string>("cursor", "The next_cursor of the previous page (a sequence number): events after it.")
            .Produces<InstanceEventListResponse>()
            .ProducesProblems(400, 404);
        api.MapGet("/", ListAsync).WithName("ListInstances")
            .WithSummary("List instances")
            .WithDescription("The caller's instances a page at a time, by name; next_cursor, when not null, fetches the next page.")
            .WithQueryParameter<int>("limit", "Instances per page, from 1 to 100 (default 50).")
            .WithQueryParameter<string>("cursor", "The next_cursor of the previous page.")
            .WithQueryParameter<string>("region", "Only instances in this Fly region.")
            .WithQueryParameter<string>("state", "Only instances in this observed state, such as started, stopped or destroyed.")
            .Produces<InstanceListResponse>()
            .ProducesProblems(400);
        api.MapGet("/{id}", GetAsync).WithName("GetInstance")
            .WithSummary("Get an instance")
            .WithDescription("The instance as last observed: desired and observed state, machine, addresses and SSH host key.")
            .WithPathParameter("id", "The instance's name.")
            .Produces<InstanceResponse>()
            .ProducesProblems(400, 404);
        api.MapPost("/{id}/start", (string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken ct) => TransitionAsync(id, user, cluster, (g, t) => g.StartAsync(t), ct)).WithName("StartInstance")
            .WithTransition("Start an instance", "Starts the instance's machine; 202 with the instance, whose state follows as the machine starts.");
        api.MapPost("/{id}/stop", (string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken ct) => TransitionAsync(id, user, cluster, (g, t) => g.StopAsync(t), ct)).WithName("StopInstance")
            .WithTransition("Stop an instance", "Stops the instance's machine, keeping it and its volume; 202 with the instance.");
        api.MapPost("/{id}/restart", (string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken ct) => TransitionAsync(id, user, cluster, (g, t) => g.RestartAsync(t), ct)).WithName("RestartInstance")
            .WithTransition("Restart an instance", "Restarts the instance's machine; 202 with the instance.");
        api.MapDelete("/{id}", DeleteAsync).WithName("DestroyInstance")
            .WithSummary("Destroy an instance")
            .WithDescription("Destroys the instance's machine and, unless keep_volume=true, its volume. The instance stays readable as destroyed.")
            .WithPathParameter("id", "The instance's name.")
            .WithQueryParameter<bool>("keep_volume", "true to keep the instance's volume (default false).")
            .Produces<InstanceResponse>()
            .ProducesProblems(400, 404, 409, 422, 429, 502, 503);
        return api;
    }

    internal static async Task<IResult> CreateAsync(HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        JsonElement body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body, Json, cancellationToken);
        }
        catch (JsonException ex)
        {
            return InstanceProblems.Invalid("body", $"is not valid JSON: {ex.Message}");
        }

        if (JsonBodyText.FindUnreadable(body) is { } unreadable)
        {
            return JsonBodyText.Problem(unreadable);
        }

        var parsed = InstanceRequestParser.Parse(body);
        if (parsed.Problem is { } problem)
        {
            return InstanceProblems.Invalid(problem.Field, problem.Problem);
        }

        var spec = parsed.Spec!;
        if (InstanceSpecRules.Validate(spec) is [var first, ..])
        {
            return InstanceProblems.Invalid(first.Field, first.Problem);
        }

        string? wait = request.Query["wait"];
        if (wait is not (null or "started"))
        {
            return InstanceProblems.Invalid("wait", "must be 'started' when given");
        }

        var requestId = request.Headers[IdempotencyKeyHeader].FirstOrDefault() is { Length: > 0 } key ? key : Guid.NewGuid().ToString("N");
        return await CallAsync(async () =>
        {
            var grain = Grain(cluster, request.HttpContext.User, spec.Name);
            var snapshot = await grain.CreateAsync(spec, requestId, cancellationToken);
            if (wait == "started")
            {
                // The grain holds the wait without holding a turn, and wakes on its own transitions.
                snapshot = await grain.WaitForStateAsync(InstanceStates.Started, MaxWait, cancellationToken);
                if (snapshot.ObservedState == InstanceStates.Failed)
                {
                    return InstanceProblems.Failed(snapshot);
                }
            }

            var location = $"/api/instances/{snapshot.Id}";
            return snapshot.ObservedState == InstanceStates.Started && wait == "started"
                ? TypedResults.Json(InstanceResponse.From(snapshot), Json, statusCode: StatusCodes.Status201Created)
                : Accepted(location, snapshot);
        });
    }

    internal static async Task<IResult> ListAsync(HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (PageQuery.TryRead(request, static cursor => InstanceSpecRules.ValidateName(cursor) is null, out var page) is { } pageProblem)
        {
            return pageProblem;
        }

        var region = request.Query["region"].FirstOrDefault();
        if (region is not null && !InstanceSpecRules.Regions.Contains(region))
        {
            return InstanceProblems.Invalid("region", $"'{region}' is not a Fly region");
        }

        var state = request.Query["state"].FirstOrDefault();
        if (state is not null && (state.Length is 0 or > 32 || !state.All(char.IsAsciiLetterLower)))
        {
            return InstanceProblems.Invalid("state", "must be a state such as started, stopped or destroyed");
        }

        return await CallAsync(async () =>
        {
            var listed = await cluster.GetGrain<IInstanceIndexGrain>(request.HttpContext.User.Tenant()).ListAsync(new InstanceListQuery(page.Limit, page.Cursor, state, region), cancellationToken);
            return TypedResults.Json(new InstanceListResponse(listed.Items.Select(InstanceResponse.From).ToList(), listed.NextCursor), Json);
        });
    }

    internal static async Task<IResult> GetAsync(string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (InstanceSpecRules.ValidateName(id) is { } problem)
        {
            return InstanceProblems.Invalid("id", problem);
        }

        return await CallAsync(async () =>
        {
            var snapshot = await Grain(cluster, user, id).GetAsync(cancellationToken);
            return snapshot is null
                ? InstanceProblems.FromException(new InstanceNotFoundException($"Instance '{id}' does not exist."))!
                : TypedResults.Json(InstanceResponse.From(snapshot), Json);
        });
    }

    internal static async Task<IResult> EventsAsync(string id, HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (InstanceSpecRules.ValidateName(id) is { } problem)
        {
            return InstanceProblems.Invalid("id", problem);
        }

        var limit = DefaultLimit;
        if (request.Query["limit"].FirstOrDefault() is { } rawLimit && (!int.TryParse(rawLimit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 100))
        {
            return InstanceProblems.Invalid("limit", "must be a whole number from 1 to 100");
        }

        long after = 0;
        if (request.Query["cursor"].FirstOrDefault() is { } rawCursor && (!long.TryParse(rawCursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out after) || after < 0))
        {
            return InstanceProblems.Invalid("cursor", "is not a cursor this API returned");
        }

        return await CallAsync(async () =>
        {
            var page = await Grain(cluster, request.HttpContext.User, id).GetEventsAsync(after, limit, cancellationToken);
            return TypedResults.Json(InstanceEventListResponse.From(page), Json);
        });
    }

    internal static async Task<IResult> DeleteAsync(string id, HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (InstanceSpecRules.ValidateName(id) is { } problem)
        {
            return InstanceProblems.Invalid("id", problem);
        }

        var keepVolume = false;
        if (request.Query["keep_volume"].FirstOrDefault() is { } raw && !bool.TryParse(raw, out keepVolume))
        {
            return InstanceProblems.Invalid("keep_volume", "must be true or false");
        }

        return await CallAsync(async () => TypedResults.Json(InstanceResponse.From(await Grain(cluster, request.HttpContext.User, id).DestroyAsync(keepVolume, cancellationToken)), Json));
    }

    private static async Task<IResult> TransitionAsync(string id, ClaimsPrincipal user, IClusterClient cluster, Func<IInstanceGrain, CancellationToken, Task<InstanceSnapshot>> transition, CancellationToken cancellationToken)
    {
        if (InstanceSpecRules.ValidateName(id) is { } problem)
        {
            return InstanceProblems.Invalid("id", problem);
        }

        return await CallAsync(async () => Accepted($"/api/instances/{id}", await transition(Grain(cluster, user, id), cancellationToken)));
    }

    internal static IInstanceGrain Grain(IClusterClient cluster, ClaimsPrincipal user, string id) => cluster.GetGrain<IInstanceGrain>(InstanceKey.Format(user.Tenant(), id));

    internal static IResult Accepted(string location, InstanceSnapshot snapshot) =>
        new AcceptedJsonResult(location, InstanceResponse.From(snapshot));

    internal static async Task<IResult> CallAsync(Func<Task<IResult>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is { } mapped)
        {
            return mapped;
        }
    }

    /// <summary>202 with a Location header and the instance as snake_case JSON.</summary>
    private sealed class AcceptedJsonResult(string location, InstanceResponse body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status202Accepted;
            httpContext.Response.Headers.Location = location;
            return httpContext.Response.WriteAsJsonAsync(body, Json);
        }
    }
}
