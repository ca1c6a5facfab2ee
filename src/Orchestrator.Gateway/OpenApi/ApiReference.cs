using Microsoft.AspNetCore.OpenApi;
using Orchestrator.Gateway.Status;
using Scalar.AspNetCore;

namespace Orchestrator.Gateway.OpenApi;

/// <summary>
/// The API's own description: the OpenAPI document at <c>/openapi/v1.json</c> and an interactive reference at
/// <c>/docs</c>. Both open without a key, so a client can learn how to get one.
/// </summary>
public static class ApiReference
{
    public const string DocumentName = "v1";
    public const string DocumentPath = "/openapi/v1.json";
    public const string ReferencePath = "/docs";

    /// <summary>Registers the OpenAPI document and the transformers that complete what handlers cannot say.</summary>
    public static IServiceCollection AddOrchestratorApiReference(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, static options =>
        {
            options.AddSchemaTransformer<SnakeCaseSchemaTransformer>();
            options.AddSchemaTransformer<NumbersOnlySchemaTransformer>();
            options.AddSchemaTransformer<InstanceSizeSchemaTransformer>();
            options.AddSchemaTransformer<ProblemSchemaTransformer>();
            options.AddSchemaTransformer<ClosedBodySchemaTransformer>();
            options.AddOperationTransformer<AccessOperationTransformer>();
            options.AddOperationTransformer<ProblemResponseTransformer>();
            options.AddOperationTransformer<ProblemHeadersTransformer>();
            options.AddDocumentTransformer<DocumentInfoTransformer>();
            options.AddDocumentTransformer<ServersTransformer>();
            options.AddDocumentTransformer<HealthPathsTransformer>();
            options.AddDocumentTransformer<BearerSecurityTransformer>();
            options.AddDocumentTransformer<ParameterRulesTransformer>();
        });

    /// <summary>Maps the document and the reference, both open to anonymous callers.</summary>
    public static IEndpointRouteBuilder MapOrchestratorApiReference(this IEndpointRouteBuilder routes)
    {
        routes.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        routes.MapScalarApiReference(ReferencePath, static options => options
            .WithTitle("Orchestrator API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json")
            .AddPreferredSecuritySchemes(BearerSecurityTransformer.SchemeName))
            .AllowAnonymous();
        return routes;
    }
}

/// <summary>Names the API and its version in the document.</summary>
internal sealed class DocumentInfoTransformer : IOpenApiDocumentTransformer
{
    public Task TransformAsync(Microsoft.OpenApi.OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "Orchestrator API";
        document.Info.Version = VersionEndpoints.ProductVersion;
        document.Info.Description =
            "Manages Fly.io machines (instances), runs commands and shells on them, and runs durable workflows. "
            + "Every /api operation needs 'Authorization: Bearer <API key>': a tenant's key, or the admin key for /api/tenants. "
            + "Bodies are JSON with snake_case names; errors are RFC 9457 problem details (application/problem+json) whose "
            + "'type' is a stable URI under https://orchestrator.dev/problems/. Streamed answers (application/x-ndjson, "
            + "text/event-stream) are described as text, their items' schema under the media type's '"
            + OpenApiConventions.ItemSchemaExtension + "' extension (OpenAPI 3.2's itemSchema): each NDJSON line, or each "
            + "server-sent event's data, is one such item.";
        // No license is granted with the API: say so, rather than leave the field empty (a reader cannot tell that from an omission).
        document.Info.License = new Microsoft.OpenApi.OpenApiLicense { Name = "Proprietary: all rights reserved", Identifier = "LicenseRef-Proprietary" };
        foreach (var tag in document.Tags ?? Enumerable.Empty<Microsoft.OpenApi.OpenApiTag>())
        {
            tag.Description ??= tag.Name switch
            {
                "Instances" => "Fly machines: create, read, start, stop, restart and destroy them; run commands and shells on them.",
                "Workflows" => "Workflow definitions, registered as immutable numbered versions.",
                "Runs" => "Runs of workflows: start, follow, cancel, retry and signal them.",
                "Tenants" => "Tenants, their quotas and their API keys. Admin key only.",
                "System" => "The gateway and the cluster it serves.",
                _ => null,
            };
        }

        return Task.CompletedTask;
    }
}
