using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Gateway.Paging;
using Orchestrator.Gateway.Runs;
using Orchestrator.Grains.Tenants;

namespace Orchestrator.Gateway.Tenants;

/// <summary>
/// <c>/api/tenants</c>: tenant and key management with the admin key. A key's secret appears once,
/// in the answer that creates it.
/// </summary>
public static class TenantEndpoints
{
    /// <summary>Tenant and key bodies are a few fields; anything larger is not one.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    /// <summary>Longest lifetime a key can be given (ten years).</summary>
    public static readonly int MaxExpiresInDays = (int)ApiKeyToken.MaxLifetime.TotalDays;

    public static RouteGroupBuilder MapTenantEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/tenants").WithTags("Tenants").RequireAuthorization(Callers.AdminPolicy);
        api.MapPost("/", CreateAsync).WithName("CreateTenant")
            .WithSummary("Create a tenant")
            .WithDescription("Creates a tenant: 201 with it and its Location. Creating an existing tenant answers 200 with it as it is.")
            .WithRequestBody(typeof(CreateTenantRequest), "The tenant (at most 16 KiB).", required: true, "application/json")
            .Produces<TenantResponse>(StatusCodes.Status201Created)
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The tenant's URL.")
            .Produces<TenantResponse>()
            .ProducesProblems(400, 409, 413);
        api.MapGet("/", ListAsync).WithName("ListTenants")
            .WithSummary("List tenants")
            .WithDescription("Every tenant a page at a time, by id, with its display name and creation time; next_cursor, when not null, "
                + "fetches the next page. A tenant created before this list existed appears once it is next used (a key of it authenticating, for instance).")
            .WithQueryParameter<int>("limit", $"Tenants per page, from 1 to {PageQuery.MaxLimit} (default {PageQuery.DefaultLimit}).")
            .WithQueryParameter<string>("cursor", "The next_cursor of the previous page.")
            .Produces<TenantListResponse>()
            .ProducesProblems(400);
        api.MapGet("/{id}", GetAsync).WithName("GetTenant")
            .WithSummary("Get a tenant")
            .WithDescription("The tenant and its quotas.")
            .WithPathParameter("id", "The tenant's id.")
            .Produces<TenantResponse>()
            .ProducesProblems(400, 404);
        api.MapPut("/{id}/quotas", SetQuotasAsync).WithName("SetTenantQuotas")
            .WithSummary("Set a tenant's quotas")
            .WithDescription("Replaces the tenant's quotas; a quota that is null or left out is the cluster's default.")
            .WithPathParameter("id", "The tenant's id.")
            .WithRequestBody(typeof(TenantQuotasRequest), "The quotas (at most 16 KiB).", required: true, "application/json")
            .Produces<TenantResponse>()
            .ProducesProblems(400, 404, 409, 413);
        api.MapPost("/{id}/keys", CreateKeyAsync).WithName("CreateApiKey")
            .WithSummary("Create an API key")
            .WithDescription("Creates an API key for the tenant: 201 with the key, whose secret ('key') is shown in this answer only.")
            .WithPathParameter("id", "The tenant's id.")
            .WithRequestBody(typeof(CreateApiKeyRequest), "The key's name and expiry; an empty body makes a key named 'default' that does not expire.", required: false, "application/json")
            .Produces<CreatedKeyResponse>(StatusCodes.Status201Created)
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The key's URL.")
            .ProducesProblems(400, 404, 409, 413);
        api.MapGet("/{id}/keys", ListKeysAsync).WithName("ListApiKeys")
            .WithSummary("List a tenant's API keys")
            .WithDescription("The tenant's keys with their status (active, expired, revoked); never their secrets.")
            .WithPathParameter("id", "The tenant's id.")
            .Produces<KeyListResponse>()
            .ProducesProblems(400, 404);
        api.MapDelete("/{id}/keys/{keyId}", RevokeKeyAsync).WithName("RevokeApiKey")
            .WithSummary("Revoke an API key")
            .WithDescription("Revokes the key at once on every gateway: 204.")
            .WithPathParameter("id", "The tenant's id.")
            .WithPathParameter("keyId", "The key's id, as a key listing shows it.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblems(400, 404);
        return api;
    }

    internal static async Task<IResult> CreateAsync(HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadObjectAsync(request, ["id", "display_name", "quotas"], cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (ReadString(body, "id", out var id) is { } idProblem)
        {
            return idProblem;
        }

        if (TenantId.Validate(id) is { } invalidId)
        {
            return InstanceProblems.Invalid("id", invalidId);
        }

        var displayName = id;
        if (body.TryGetProperty("display_name", out _) && ReadString(body, "display_name", out displayName) is { } nameProblem)
        {
            return nameProblem;
        }

        if (TenantId.ValidateDisplayName(displayName) is { } invalidName)
        {
            return InstanceProblems.Invalid("display_name", invalidName);
        }

        TenantQuotas? quotas = null;
        if (body.TryGetProperty("quotas", out var quotasElement))
        {
            (quotas, var quotaProblem) = ReadQuotas(quotasElement, "quotas.");
            if (quotaProblem is not null)
            {
                return quotaProblem;
            }
        }

        return await CallAsync(async () =>
        {
            var creation = await cluster.GetGrain<ITenantGrain>(id).CreateOrGetAsync(displayName, quotas, cancellationToken);
            var response = TenantResponse.From(creation.Tenant);
            if (!creation.Created)
            {
                return TypedResults.Json(response, InstanceEndpoints.Json);
            }

            request.HttpContext.Response.Headers.Location = $"/api/tenants/{id}";
            return TypedResults.Json(response, InstanceEndpoints.Json, statusCode: StatusCodes.Status201Created);
        });
    }

    internal static async Task<IResult> ListAsync(HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (PageQuery.TryRead(request, static cursor => TenantId.Validate(cursor) is null, out var page) is { } problem)
        {
            return problem;
        }

        var listed = await cluster.GetGrain<ITenantDirectoryGrain>(0).ListAsync(page.Limit, page.Cursor, cancellationToken);
        return TypedResults.Json(new TenantListResponse([.. listed.Items.Select(TenantSummaryResponse.From)], listed.NextCursor), InstanceEndpoints.Json);
    }

    internal static async Task<IResult> GetAsync(string id, IClusterClient cluster)
    {
        if (TenantId.Validate(id) is { } invalid)
        {
            return InstanceProblems.Invalid("id", invalid);
        }

        var tenant = await cluster.GetGrain<ITenantGrain>(id).GetAsync();
        return tenant is null ? NotFound(id) : TypedResults.Json(TenantResponse.From(tenant), InstanceEndpoints.Json);
    }

    internal static async Task<IResult> SetQuotasAsync(string id, HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (TenantId.Validate(id) is { } invalid)
        {
            return InstanceProblems.Invalid("id", invalid);
        }

        var (body, problem) = await ReadObjectAsync(request, ["max_instances", "max_concurrent_runs", "max_run_depth", "session_idle_timeout"], cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var (quotas, quotaProblem) = ReadQuotas(body, "");
        if (quotaProblem is not null)
        {
            return quotaProblem;
        }

        return await CallAsync(async () =>
            TypedResults.Json(TenantResponse.From(await cluster.GetGrain<ITenantGrain>(id).SetQuotasAsync(quotas!, cancellationToken)), InstanceEndpoints.Json));
    }

    internal static async Task<IResult> CreateKeyAsync(string id, HttpRequest request, IClusterClient cluster, TimeProvider time, CancellationToken cancellationToken)
    {
        if (TenantId.Validate(id) is { } invalid)
        {
            return InstanceProblems.Invalid("id", invalid);
        }

        var (body, problem) = await ReadObjectAsync(request, ["name", "expires_at", "expires_in_days"], cancellationToken, allowEmpty: true);
        if (problem is not null)
        {
            return problem;
        }

        var name = "default";
        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("name", out _) && ReadString(body, "name", out name) is { } nameProblem)
        {
            return nameProblem;
        }

        if (ApiKeyToken.ValidateName(name) is { } invalidName)
        {
            return InstanceProblems.Invalid("name", invalidName);
        }

        var (expiresAt, expiryProblem) = ReadExpiry(body, time.GetUtcNow());
        if (expiryProblem is not null)
        {
            return expiryProblem;
        }

        return await CallAsync(async () =>
        {
            var created = await cluster.GetGrain<ITenantGrain>(id).CreateKeyAsync(name, expiresAt, cancellationToken);
            request.HttpContext.Response.Headers.Location = $"/api/tenants/{id}/keys/{created.Info.Id}";
            return TypedResults.Json(CreatedKeyResponse.From(created, time.GetUtcNow()), InstanceEndpoints.Json, statusCode: StatusCodes.Status201Created);
        });
    }

    internal static async Task<IResult> ListKeysAsync(string id, IClusterClient cluster, TimeProvider time)
    {
        if (TenantId.Validate(id) is { } invalid)
        {
            return InstanceProblems.Invalid("id", invalid);
        }

        return await CallAsync(async () =>
        {
            var keys = await cluster.GetGrain<ITenantGrain>(id).ListKeysAsync();
            var now = time.GetUtcNow();
            return TypedResults.Json(new KeyListResponse([.. keys.Select(k => KeyResponse.From(k, now))]), InstanceEndpoints.Json);
        });
    }

    internal static async Task<IResult> RevokeKeyAsync(string id, string keyId, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (TenantId.Validate(id) is { } invalid)
        {
            return InstanceProblems.Invalid("id", invalid);
        }

        if (!ApiKeyToken.IsKeyId(keyId))
        {
            return InstanceProblems.Invalid("keyId", $"must be {ApiKeyToken.KeyIdLength} lowercase hex digits (the id a key listing shows)");
        }

        return await CallAsync(async () =>
        {
            await cluster.GetGrain<ITenantGrain>(id).RevokeKeyAsync(keyId, cancellationToken);
            return TypedResults.NoContent();
        });
    }

    internal static async Task<(JsonElement Body, IResult? Problem)> ReadObjectAsync(HttpRequest request, string[] fields, CancellationToken cancellationToken, bool allowEmpty = false, int maxBytes = MaxBodyBytes)
    {
        var (body, problem) = await RunEndpoints.ReadJsonAsync(request, maxBytes, cancellationToken);
        if (problem is not null)
        {
            return (default, problem);
        }

        if (body is not { } element)
        {
            return allowEmpty ? (default, null) : (default, InstanceProblems.Invalid("body", "is required: a JSON object"));
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return (default, InstanceProblems.Invalid("body", "must be a JSON object"));
        }

        return UnknownField(element, fields, prefix: "") is { } unknown ? (default, unknown) : (element, null);
    }

    /// <summary>The problem naming the first member of <paramref name="element"/> that is not one of <paramref name="fields"/>.</summary>
    private static IResult? UnknownField(JsonElement element, string[] fields, string prefix)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (!fields.Contains(property.Name, StringComparer.Ordinal))
            {
                return InstanceProblems.Invalid(prefix + property.Name, $"is not a known field (expected {string.Join(", ", fields)})");
            }
        }

        return null;
    }

    internal static IResult? ReadString(JsonElement body, string field, out string value)
    {
        value = "";
        if (!body.TryGetProperty(field, out var element))
        {
            return InstanceProblems.Invalid(field, "is required");
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return InstanceProblems.Invalid(field, "must be a string");
        }

        value = element.GetString()!;
        return null;
    }

    private static (TenantQuotas? Quotas, IResult? Problem) ReadQuotas(JsonElement element, string prefix)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return (null, InstanceProblems.Invalid(prefix.TrimEnd('.') is { Length: > 0 } name ? name : "body", "must be a JSON object"));
        }

        int? Read(string field, out IResult? problem)
        {
            problem = null;
            if (!element.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number) || number is < 0 or > TenantQuotas.MaxCountLimit)
            {
                problem = InstanceProblems.Invalid(prefix + field, "must be a whole number from 0 to 1000000, or null for the cluster's default");
                return null;
            }

            return number;
        }

        if (UnknownField(element, ["max_instances", "max_concurrent_runs", "max_run_depth", "session_idle_timeout"], prefix) is { } unknown)
        {
            return (null, unknown);
        }

        var instances = Read("max_instances", out var instancesProblem);
        if (instancesProblem is not null)
        {
            return (null, instancesProblem);
        }

        var runs = Read("max_concurrent_runs", out var runsProblem);
        if (runsProblem is not null)
        {
            return (null, runsProblem);
        }

        var depth = Read("max_run_depth", out var depthProblem);
        if (depthProblem is not null)
        {
            return (null, depthProblem);
        }

        if (depth > TenantQuotas.MaxRunDepthLimit)
        {
            return (null, InstanceProblems.Invalid(prefix + "max_run_depth", $"must be a whole number from 0 to {TenantQuotas.MaxRunDepthLimit}, or null for the cluster's default"));
        }

        var idle = Read("session_idle_timeout", out var idleProblem);
        var (min, max) = ((int)TenantQuotas.MinSessionIdleTimeout.TotalSeconds, (int)TenantQuotas.MaxSessionIdleTimeout.TotalSeconds);
        return idleProblem is not null || idle is { } seconds && (seconds < min || seconds > max)
            ? (null, InstanceProblems.Invalid(prefix + "session_idle_timeout", $"must be a whole number of seconds from {min} to {max}, or null for no idle timeout"))
            : (new TenantQuotas(instances, runs, depth, idle is { } s ? TimeSpan.FromSeconds(s) : null), null);
    }

    private static (DateTimeOffset? ExpiresAt, IResult? Problem) ReadExpiry(JsonElement body, DateTimeOffset now)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, null);
        }

        var hasAt = body.TryGetProperty("expires_at", out var at) && at.ValueKind != JsonValueKind.Null;
        var hasIn = body.TryGetProperty("expires_in_days", out var days) && days.ValueKind != JsonValueKind.Null;
        if (hasAt && hasIn)
        {
            return (null, InstanceProblems.Invalid("expires_at", "and expires_in_days cannot both be given"));
        }

        if (hasIn)
        {
            return days.ValueKind == JsonValueKind.Number && days.TryGetInt32(out var count) && count >= 1 && count <= MaxExpiresInDays
                ? (now.AddDays(count), null)
                : (null, InstanceProblems.Invalid("expires_in_days", $"must be a whole number of days from 1 to {MaxExpiresInDays}"));
        }

        if (hasAt)
        {
            if (at.ValueKind != JsonValueKind.String
                || !DateTimeOffset.TryParse(at.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expiry))
            {
                return (null, InstanceProblems.Invalid("expires_at", "must be an RFC 3339 date and time, such as 2027-01-31T00:00:00Z"));
            }

            if (expiry <= now)
            {
                return (null, InstanceProblems.Invalid("expires_at", "must be in the future"));
            }

            return expiry > now.AddDays(MaxExpiresInDays)
                ? (null, InstanceProblems.Invalid("expires_at", $"must be at most {MaxExpiresInDays} days from now"))
                : (expiry.ToUniversalTime(), null);
        }

        return (null, null);
    }

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem($"Tenant '{id}' does not exist.", statusCode: StatusCodes.Status404NotFound, title: "No such tenant", type: InstanceProblems.NotFound);

    private static async Task<IResult> CallAsync(Func<Task<IResult>> call)
    {
        try
        {
            return await call();
        }
        catch (TenantNotFoundException ex)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "No such tenant", type: InstanceProblems.NotFound);
        }
        catch (ApiKeyNotFoundException ex)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "No such API key", type: InstanceProblems.NotFound);
        }
        catch (TenantConflictException ex)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "The tenant is in another state", type: InstanceProblems.Conflict);
        }
    }
}

/// <summary>A tenant as the admin API shows it; a <see langword="null"/> quota means the cluster's default.</summary>
public sealed record TenantResponse(string Id, string DisplayName, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int Revision, QuotasResponse Quotas)
{
    public static TenantResponse From(TenantInfo tenant) =>
        new(tenant.Id, tenant.DisplayName, tenant.CreatedAt, tenant.UpdatedAt, tenant.Revision, new QuotasResponse(tenant.Quotas.MaxInstances, tenant.Quotas.MaxConcurrentRuns, tenant.Quotas.MaxRunDepth, (int?)tenant.Quotas.SessionIdleTimeout?.TotalSeconds));
}

/// <summary>A tenant in the admin's list: what the tenant directory holds of it.</summary>
public sealed record TenantSummaryResponse(string Id, string DisplayName, DateTimeOffset CreatedAt)
{
    public static TenantSummaryResponse From(TenantDirectoryEntry tenant) => new(tenant.Id, tenant.DisplayName, tenant.CreatedAt);
}

public sealed record TenantListResponse(IReadOnlyList<TenantSummaryResponse> Items, string? NextCursor);

public sealed record QuotasResponse(int? MaxInstances, int? MaxConcurrentRuns, int? MaxRunDepth, int? SessionIdleTimeout = null);

/// <summary>A key in a listing: its prefix identifies it; the secret is never kept.</summary>
public sealed record KeyResponse(string Id, string Name, string Prefix, string Status, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt)
{
    public static KeyResponse From(ApiKeyInfo key, DateTimeOffset now) =>
        new(key.Id, key.Name, key.Prefix, key.StatusAt(now), key.CreatedAt, key.ExpiresAt, key.RevokedAt);
}

public sealed record KeyListResponse(IReadOnlyList<KeyResponse> Items);

/// <summary>A new key: <see cref="Key"/> is shown this once.</summary>
public sealed record CreatedKeyResponse(string Id, string Name, string Prefix, string Status, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, string Key)
{
    public static CreatedKeyResponse From(CreatedApiKey created, DateTimeOffset now) =>
        new(created.Info.Id, created.Info.Name, created.Info.Prefix, created.Info.StatusAt(now), created.Info.CreatedAt, created.Info.ExpiresAt, created.Key);
}
