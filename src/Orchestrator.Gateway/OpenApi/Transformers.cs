using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.Status;

namespace Orchestrator.Gateway.OpenApi;

/// <summary>
/// The bearer scheme, required by every <c>/api</c> operation: the API key handler guards all of them (the
/// authorization fallback policy), and nothing outside <c>/api</c> is part of the keyed API.
/// </summary>
internal sealed class BearerSecurityTransformer : IOpenApiDocumentTransformer
{
    public const string SchemeName = "bearer";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
        document.Components.SecuritySchemes[SchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key: a tenant's key for the tenant API, the admin key for /api/tenants. "
                + "The dev profile also accepts 'dev-key' from loopback clients.",
        };

        foreach (var (path, item) in document.Paths)
        {
            if (!path.StartsWith("/api/", StringComparison.Ordinal) || item.Operations is null)
            {
                continue;
            }

            foreach (var operation in item.Operations.Values)
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, document)] = [] });
            }
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Who may call an operation, from its authorization metadata: the 401 every keyed operation can answer, the 403
/// of operations limited to tenant keys or to the admin key (which says so in its description), and the 503/504
/// the cluster can cause in any of them (checking a tenant key calls the cluster before the endpoint runs).
/// </summary>
internal sealed class AccessOperationTransformer : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        if (metadata.OfType<IAllowAnonymous>().Any())
        {
            return;
        }

        var policies = metadata.OfType<IAuthorizeData>().Select(static a => a.Policy).ToHashSet(StringComparer.Ordinal);
        IOpenApiSchema problem = await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, cancellationToken);
        if (context.Document is { } document)
        {
            problem = OpenApiConventions.Component(document, nameof(ProblemDetails), problem);
        }

        operation.Responses ??= [];
        AddProblem(operation, StatusCodes.Status401Unauthorized, problem);
        if (policies.Contains(Callers.AdminPolicy))
        {
            AddProblem(operation, StatusCodes.Status403Forbidden, problem);
            operation.Description = "Admin only: needs the admin key; a tenant's key is refused with 403.\n\n" + operation.Description;
        }
        else if (policies.Contains(Callers.TenantPolicy))
        {
            AddProblem(operation, StatusCodes.Status403Forbidden, problem);
        }

        // Every keyed operation is behind the per-key rate limiter, and bodies are capped per endpoint group.
        AddProblem(operation, StatusCodes.Status429TooManyRequests, problem);
        if (context.Description.HttpMethod is "POST" or "PUT" or "PATCH")
        {
            AddProblem(operation, StatusCodes.Status413PayloadTooLarge, problem);
        }

        AddProblem(operation, StatusCodes.Status503ServiceUnavailable, problem);
        AddProblem(operation, StatusCodes.Status504GatewayTimeout, problem);
    }

    private static void AddProblem(OpenApiOperation operation, int statusCode, IOpenApiSchema schema) =>
        operation.Responses!.TryAdd(
            statusCode.ToString(CultureInfo.InvariantCulture),
            new OpenApiResponse
            {
                Description = ReasonPhrases.GetReasonPhrase(statusCode),
                Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal) { [ProblemResponseTransformer.ProblemJson] = new() { Schema = schema } },
            });
}

/// <summary>Says, for each problem details answer, which problem types its status carries.</summary>
internal sealed class ProblemResponseTransformer : IOpenApiOperationTransformer
{
    public const string ProblemJson = "application/problem+json";

    private const string Types = "https://orchestrator.dev/problems/";

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var (status, response) in operation.Responses ?? [])
        {
            if (response is OpenApiResponse { Content: { } content } concrete && content.ContainsKey(ProblemJson)
                && int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && Describe(code, context) is { } description)
            {
                concrete.Description = description;
            }
        }

        return Task.CompletedTask;
    }

    private static string? Describe(int status, OpenApiOperationTransformerContext context) => status switch
    {
        400 => $"The request is invalid: {Types}validation names the offending part in 'field'"
            + (context.Description.RelativePath?.StartsWith("api/workflows", StringComparison.Ordinal) is true ? $"; {Types}workflow-invalid lists the definition's located 'errors'." : "."),
        401 => $"No API key, or one that is malformed, expired or revoked ({Types}unauthorized).",
        403 => $"The key may not call this operation: the admin key on the tenant API, or a tenant's key on the admin API ({Types}forbidden).",
        404 => $"No such object in the caller's tenant ({Types}not-found).",
        409 => $"The object is in another state ({Types}conflict, {Types}instance-destroyed), or the tenant's max_instances quota is reached ({Types}quota-exceeded).",
        413 => $"The body is larger than the operation takes ({Types}payload-too-large; 'limit_bytes' says how large it may be).",
        415 => $"The body's Content-Type is not one the operation reads ({Types}unsupported-media-type).",
        422 => $"Fly rejected the request ({Types}fly-validation).",
        429 => $"The key's request rate is over its limit ({Types}rate-limited), the tenant's max_concurrent_runs quota is reached ({Types}quota-exceeded), or Fly's rate limit was reached ({Types}fly-rate-limited); retry after the Retry-After header's seconds.",
        502 => $"Fly failed or did not answer ({Types}fly-unavailable), or the machine could not be reached over SSH ({Types}ssh-unreachable, ssh-host-key-mismatch, ssh-authentication-failed).",
        503 => $"The silo holding the object is unavailable ({Types}cluster-unavailable), or Fly has no capacity ({Types}fly-capacity); retry.",
        504 => $"The cluster did not answer in time ({Types}cluster-timeout), or the request outlived the gateway's request timeout ({Types}request-timeout); read the object's state before retrying.",
        _ => null,
    };
}

/// <summary>
/// The health endpoints are health-check middleware, not route handlers, so the generator does not see them;
/// they are described here. They need no key (load balancers call them).
/// </summary>
internal sealed class HealthPathsTransformer : IOpenApiDocumentTransformer
{
    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var schema = OpenApiConventions.Component(document, nameof(HealthResponse), await context.GetOrCreateSchemaAsync(typeof(HealthResponse), null, cancellationToken));
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag { Name = "Health", Description = "Liveness and readiness for load balancers and orchestrators; no key needed." });
        document.Paths.Add("/health/live", Path("GetLiveness", "Liveness", "Answers 200 while the process serves HTTP; runs no checks.", schema));
        document.Paths.Add("/health/ready", Path(
            "GetReadiness",
            "Readiness",
            "Answers 200 when the cluster answers through this process's cluster client, 503 when it does not; 'checks.cluster' says why.",
            schema));
    }

    private static OpenApiPathItem Path(string id, string summary, string description, IOpenApiSchema schema)
    {
        OpenApiResponse Response(string text) => new()
        {
            Description = text,
            Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal) { ["application/json"] = new() { Schema = schema } },
        };

        return new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = new()
                {
                    OperationId = id,
                    Summary = summary,
                    Description = description,
                    Tags = new HashSet<OpenApiTagReference> { new("Health") },
                    // Open to anyone: an empty requirement list, which the bearer transformer leaves alone.
                    Security = [],
                    Responses = new OpenApiResponses { ["200"] = Response("Healthy."), ["503"] = Response("Unhealthy.") },
                },
            },
        };
    }
}

/// <summary>
/// An instance's <c>size</c> is a preset name or an explicit size; a record cannot say "one of", so the
/// schema of <see cref="CreateInstanceRequest"/> is given both here.
/// </summary>
internal sealed class InstanceSizeSchemaTransformer : IOpenApiSchemaTransformer
{
    public async Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Type != typeof(CreateInstanceRequest) || schema.Properties is null
            || !schema.Properties.ContainsKey("size"))
        {
            return;
        }

        var preset = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Pattern = "^(shared-cpu|performance)-[0-9]{1,2}x$",
            Description = "A preset: shared-cpu-{1,2,4,6,8}x or performance-{1,2,4,6,8,10,12,14,16}x.",
        };
        var explicitSize = await context.GetOrCreateSchemaAsync(typeof(InstanceSizeRequest), null, cancellationToken);
        schema.Properties["size"] = new OpenApiSchema
        {
            Description = "A preset name or an explicit {cpus, memory_mb, cpu_kind}.",
            OneOf = [preset, explicitSize],
        };
    }
}

/// <summary>
/// The web defaults read numbers from strings too, so the generator offers "integer or numeric string"; the API's
/// parsers take JSON numbers only and its answers write numbers, so the schemas say just that.
/// </summary>
internal sealed class NumbersOnlySchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        Fix(schema);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Walks nested schemas too: the generator finds a property's schema by its camelCase name, so it never hands
    /// this transformer the properties that <see cref="SnakeCaseSchemaTransformer"/> renamed.
    /// </summary>
    private static void Fix(IOpenApiSchema? candidate)
    {
        if (candidate is not OpenApiSchema schema)
        {
            return;
        }

        if (schema.Type is { } type && (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 && (type & JsonSchemaType.String) != 0)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        foreach (var nested in (schema.Properties?.Values ?? []).Concat(schema.OneOf ?? []).Append(schema.Items).Append(schema.AdditionalProperties))
        {
            Fix(nested);
        }
    }
}
