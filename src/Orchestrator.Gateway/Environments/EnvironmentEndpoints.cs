using System.Security.Claims;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Gateway.Tenants;
using Orchestrator.Grains.Environments;

namespace Orchestrator.Gateway.Environments;

/// <summary>
/// <c>/api/environments</c>: create (a run of the built-in <c>environment</c> workflow), list, read and delete
/// environments. Git on an environment's checkout is in <see cref="GitEndpoints"/>.
/// </summary>
public static class EnvironmentEndpoints
{
    public static RouteGroupBuilder MapEnvironmentEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/environments").WithTags("Environments");
        api.MapPost("/", CreateAsync).WithName("CreateEnvironment")
            .WithSummary("Create an environment")
            .WithDescription(
                "Creates an instance, clones the repository into /workspace/{name} (on the volume, mounted at /workspace, when "
                + "there is one) and runs setup_command there, as a run of the built-in workflow 'environment': 202 with the "
                + "environment (status creating, its run_id) and its Location. An https token for the repository comes from "
                + "the tenant secret named by git_credentials_secret.")
            .WithRequestBody(typeof(CreateEnvironmentRequest), "The environment to make.", required: true, "application/json")
            .Produces<EnvironmentResponse>(StatusCodes.Status202Accepted)
            .WithResponseHeader(StatusCodes.Status202Accepted, "Location", "The environment's URL.")
            .ProducesProblems(400, 409, 413, 429);
        api.MapGet("/", ListAsync).WithName("ListEnvironments")
            .WithSummary("List environments")
            .WithDescription("The tenant's environments with each one's status, instance state, branch and sessions.")
            .Produces<EnvironmentListResponse>();
        api.MapGet("/{id}", GetAsync).WithName("GetEnvironment")
            .WithSummary("Get an environment")
            .WithDescription("The environment with its status, run, instance state, checkout path, branch and sessions.")
            .WithPathParameter("id", "The environment's id.")
            .Produces<EnvironmentResponse>()
            .ProducesProblems(400, 404);
        api.MapDelete("/{id}", DeleteAsync).WithName("DeleteEnvironment")
            .WithSummary("Delete an environment")
            .WithDescription("Cancels its run if it still runs, destroys its instance and forgets it: 204. With keep_volume=true the volume is kept for a later environment ({volume: {id}}).")
            .WithPathParameter("id", "The environment's id.")
            .WithQueryParameter<bool>("keep_volume", "Keep the instance's volume (default false).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblems(400, 404, 409, 502);
        return api;
    }

    internal static async Task<IResult> CreateAsync(HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var (body, problem) = await TenantEndpoints.ReadObjectAsync(request, EnvironmentRequestParser.CreateFields, cancellationToken, maxBytes: (int)Limits.BodyLimits.Instances);
        if (problem is not null)
        {
            return problem;
        }

        var id = EnvironmentKey.NewId();
        var (spec, specProblem) = EnvironmentRequestParser.ParseCreate(body, id);
        if (specProblem is not null)
        {
            return specProblem;
        }

        return await CallAsync(async () =>
        {
            var view = await Grain(cluster, user, id).CreateAsync(spec!, cancellationToken);
            return new AcceptedEnvironmentResult(EnvironmentResponse.From(view));
        });
    }

    internal static async Task<IResult> ListAsync(ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken) =>
        await CallAsync(async () =>
        {
            var ids = await cluster.GetGrain<IEnvironmentIndexGrain>(user.Tenant()).ListAsync(cancellationToken);
            var views = await Task.WhenAll(ids.Select(id => Grain(cluster, user, id).GetAsync(cancellationToken)));
            return TypedResults.Json(new EnvironmentListResponse([.. views.OfType<EnvironmentView>().Select(EnvironmentResponse.From)]), InstanceEndpoints.Json);
        });

    internal static async Task<IResult> GetAsync(string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (ValidateId(id) is { } invalid)
        {
            return invalid;
        }

        return await CallAsync(async () =>
            await Grain(cluster, user, id).GetAsync(cancellationToken) is { } view
                ? TypedResults.Json(EnvironmentResponse.From(view), InstanceEndpoints.Json)
                : NotFound(id));
    }

    internal static async Task<IResult> DeleteAsync(string id, HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (ValidateId(id) is { } invalid)
        {
            return invalid;
        }

        var keepVolume = false;
        if (request.Query["keep_volume"].FirstOrDefault() is { } raw && !bool.TryParse(raw, out keepVolume))
        {
            return InstanceProblems.Invalid("keep_volume", "must be true or false");
        }

        return await CallAsync(async () =>
        {
            await Grain(cluster, user, id).DeleteAsync(keepVolume, cancellationToken);
            return TypedResults.NoContent();
        });
    }

    /// <summary>Ids are what <see cref="EnvironmentKey.NewId"/> makes; anything else cannot name an environment.</summary>
    internal static IResult? ValidateId(string id) =>
        id.Length is > 3 and <= 64 && id.StartsWith("env-", StringComparison.Ordinal) && id[4..].All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c))
            ? null
            : InstanceProblems.Invalid("id", "is not an environment id (env- and lowercase letters or digits)");

    internal static IResult NotFound(string id) => EnvironmentProblems.FromException(new EnvironmentNotFoundException($"There is no environment '{id}'."))!;

    internal static IEnvironmentGrain Grain(IClusterClient cluster, ClaimsPrincipal user, string id) =>
        cluster.GetGrain<IEnvironmentGrain>(EnvironmentKey.Format(user.Tenant(), id));

    internal static async Task<IResult> CallAsync(Func<Task<IResult>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (EnvironmentProblems.FromException(ex) is { } mapped)
        {
            return mapped;
        }
    }

    /// <summary>202 with a Location header and the environment as snake_case JSON.</summary>
    private sealed class AcceptedEnvironmentResult(EnvironmentResponse body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status202Accepted;
            httpContext.Response.Headers.Location = $"/api/environments/{body.Id}";
            return httpContext.Response.WriteAsJsonAsync(body, InstanceEndpoints.Json);
        }
    }
}
