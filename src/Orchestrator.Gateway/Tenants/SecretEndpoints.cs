using System.Security.Claims;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.Limits;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Grains.Tenants;

namespace Orchestrator.Gateway.Tenants;

/// <summary>
/// <c>/api/secrets</c>: the calling tenant's named secrets, for workflows (<c>${{ secrets.NAME }}</c>). Values are
/// write-only: no answer ever carries one.
/// </summary>
public static class SecretEndpoints
{
    public static RouteGroupBuilder MapSecretEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/secrets").WithTags("Secrets");
        api.MapPut("/{name}", PutAsync).WithName("PutSecret")
            .WithSummary("Set a secret")
            .WithDescription("Creates the secret (201 with its Location) or replaces its value (200). The value is encrypted at rest and never shown again; "
                + $"a tenant holds at most {TenantSecretRules.MaxSecrets} secrets.")
            .WithPathParameter("name", "The secret's name: uppercase letters, digits and '_', not starting with a digit, at most 64 characters.")
            .WithRequestBody(typeof(PutSecretRequest), "The value (at most 64 KiB of UTF-8).", required: true, "application/json")
            .Produces<SecretResponse>(StatusCodes.Status201Created)
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The secret's URL.")
            .Produces<SecretResponse>()
            .ProducesProblems(400, 409, 413);
        api.MapGet("/", ListAsync).WithName("ListSecrets")
            .WithSummary("List secrets")
            .WithDescription("The tenant's secrets by name, with when each was created and last set; never their values.")
            .Produces<SecretListResponse>();
        api.MapDelete("/{name}", DeleteAsync).WithName("DeleteSecret")
            .WithSummary("Delete a secret")
            .WithDescription("Deletes the secret: 204. Runs already started keep the value they read at their start.")
            .WithPathParameter("name", "The secret's name.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblems(400, 404);
        return api;
    }

    internal static async Task<IResult> PutAsync(string name, HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (TenantSecretRules.ValidateName(name) is { } invalidName)
        {
            return InstanceProblems.Invalid("name", invalidName);
        }

        var (body, problem) = await TenantEndpoints.ReadObjectAsync(request, ["value"], cancellationToken, maxBytes: (int)BodyLimits.Secrets);
        if (problem is not null)
        {
            return problem;
        }

        if (TenantEndpoints.ReadString(body, "value", out var value) is { } valueProblem)
        {
            return valueProblem;
        }

        if (TenantSecretRules.ValidateValue(value) is { } invalidValue)
        {
            return InstanceProblems.Invalid("value", invalidValue);
        }

        try
        {
            var write = await cluster.GetGrain<ITenantSecretsGrain>(user.Tenant()).PutAsync(name, value, cancellationToken);
            var response = SecretResponse.From(write.Secret);
            if (!write.Created)
            {
                return TypedResults.Json(response, InstanceEndpoints.Json);
            }

            request.HttpContext.Response.Headers.Location = $"/api/secrets/{name}";
            return TypedResults.Json(response, InstanceEndpoints.Json, statusCode: StatusCodes.Status201Created);
        }
        catch (TenantConflictException ex)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "Too many secrets", type: InstanceProblems.Conflict);
        }
    }

    internal static async Task<IResult> ListAsync(ClaimsPrincipal user, IClusterClient cluster)
    {
        var secrets = await cluster.GetGrain<ITenantSecretsGrain>(user.Tenant()).ListAsync();
        return TypedResults.Json(new SecretListResponse([.. secrets.Select(SecretResponse.From)]), InstanceEndpoints.Json);
    }

    internal static async Task<IResult> DeleteAsync(string name, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (TenantSecretRules.ValidateName(name) is { } invalidName)
        {
            return InstanceProblems.Invalid("name", invalidName);
        }

        return await cluster.GetGrain<ITenantSecretsGrain>(user.Tenant()).DeleteAsync(name, cancellationToken)
            ? TypedResults.NoContent()
            : TypedResults.Problem($"There is no secret '{name}'.", statusCode: StatusCodes.Status404NotFound, title: "No such secret", type: InstanceProblems.NotFound);
    }
}

/// <summary>A secret as the API shows it: its name and dates, never its value.</summary>
public sealed record SecretResponse(string Name, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static SecretResponse From(TenantSecretInfo secret) => new(secret.Name, secret.CreatedAt, secret.UpdatedAt);
}

public sealed record SecretListResponse(IReadOnlyList<SecretResponse> Items);
