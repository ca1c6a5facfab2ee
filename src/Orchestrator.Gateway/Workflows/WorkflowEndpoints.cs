using System.Security.Claims;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Workflows;
using Orchestrator.Workflows;

namespace Orchestrator.Gateway.Workflows;

/// <summary>
/// <c>/api/workflows</c>: register definitions (YAML or JSON) as immutable numbered versions, list and read them,
/// and serve the definition language's JSON Schema. Validate the request, call one workflow grain, map.
/// </summary>
public static class WorkflowEndpoints
{
    public const string SchemaContentType = "application/schema+json";

    public static RouteGroupBuilder MapWorkflowEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/workflows").WithTags("Workflows");
        api.MapPost("/", RegisterAsync).WithName("RegisterWorkflow")
            .WithSummary("Register a workflow version")
            .WithDescription(
                "Registers a workflow definition (YAML or JSON, at most 256 KiB, UTF-8) under the name it declares, as the "
                + "next immutable version: 201 with the new version and its Location. Registering the latest version's source "
                + "again makes no version and answers 200 with that version. The format follows the Content-Type: JSON "
                + "(application/json, text/json, +json), YAML (application/yaml, application/x-yaml, text/yaml, text/x-yaml, "
                + "+yaml), or detected from the text for text/plain, application/octet-stream or no type. GET /api/workflows/schema "
                + "serves the definition language's JSON Schema.")
            .WithRequestBody(WorkflowDefinitionSchema.Reference, "The workflow definition: a JSON object, or its text in YAML (or detected from text/plain).", required: true, "application/yaml", "text/plain")
            .Produces<WorkflowVersionResponse>(StatusCodes.Status201Created)
            .WithResponseHeader(StatusCodes.Status201Created, "Location", "The new version's URL.")
            .Produces<WorkflowVersionResponse>()
            .ProducesProblems(400, 413, 415);
        api.MapGet("/", ListAsync).WithName("ListWorkflows")
            .WithSummary("List workflows")
            .WithDescription("The caller's workflows and the built-in ones, with each one's latest version.")
            .Produces<WorkflowListResponse>();
        // A literal segment outranks a parameter, so "schema" is never taken for a workflow's name.
        api.MapGet("/schema", GetSchema).WithName("GetWorkflowSchema")
            .WithSummary("Get the definition language's JSON Schema")
            .WithDescription("The JSON Schema that workflow definitions (YAML or JSON) follow, for editors and validators.")
            .WithResponse(StatusCodes.Status200OK, "The JSON Schema.", [typeof(System.Text.Json.JsonElement)], SchemaContentType);
        api.MapGet("/{name}", GetAsync).WithName("GetWorkflow")
            .WithSummary("Get a workflow")
            .WithDescription("A workflow with all of its versions, oldest first (without their sources).")
            .WithPathParameter("name", "The workflow's name: 1 to 63 lowercase letters, digits and '-'.")
            .Produces<WorkflowResponse>()
            .ProducesProblems(400, 404);
        api.MapGet("/{name}/versions/{version}", GetVersionAsync).WithName("GetWorkflowVersion")
            .WithSummary("Get a workflow version")
            .WithDescription("One version of a workflow, with its source as registered.")
            .WithPathParameter("name", "The workflow's name: 1 to 63 lowercase letters, digits and '-'.")
            .WithPathParameter("version", "The version number, from 1.")
            .Produces<WorkflowVersionResponse>()
            .ProducesProblems(400, 404);
        return api;
    }

    internal static async Task<IResult> RegisterAsync(HttpRequest request, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var (text, bodyProblem) = await RequestText.ReadAsync(request, WorkflowRequest.MaxDefinitionBytes, cancellationToken);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        if (WorkflowRequest.ChooseFormat(request.ContentType, text!) is not { } format)
        {
            return WorkflowProblems.Unsupported(request.ContentType);
        }

        // The registrar reads and validates the definition (its errors come back as WorkflowInvalidException, mapped
        // to the same 400), so an Orleans client registering through it gets the same checks as this API.
        var sourceFormat = format == WorkflowFormat.Json ? WorkflowSourceFormat.Json : WorkflowSourceFormat.Yaml;
        return await CallAsync(async () =>
        {
            var registration = await cluster.GetGrain<IWorkflowRegistrarGrain>(request.HttpContext.User.Tenant())
                .RegisterAsync(text!, sourceFormat, cancellationToken);
            var info = registration.Version;
            var body = WorkflowVersionResponse.From(info, withSource: false);
            if (!registration.Created)
            {
                return TypedResults.Json(body, InstanceEndpoints.Json);
            }

            var location = $"/api/workflows/{info.Name}/versions/{info.Version.ToString(CultureInfo.InvariantCulture)}";
            return TypedResults.Json(body, InstanceEndpoints.Json, statusCode: StatusCodes.Status201Created).WithLocation(location);
        });
    }

    internal static async Task<IResult> ListAsync(ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken) =>
        await CallAsync(async () =>
        {
            var items = await cluster.GetGrain<IWorkflowCatalogGrain>(user.Tenant()).ListAsync(cancellationToken);
            return TypedResults.Json(
                new WorkflowListResponse([.. items.Select(static i => new WorkflowListItemResponse(i.Name, i.LatestVersion, i.BuiltIn))]),
                InstanceEndpoints.Json);
        });

    internal static IResult GetSchema() => TypedResults.Text(WorkflowSchema.Json, SchemaContentType, Encoding.UTF8);

    internal static async Task<IResult> GetAsync(string name, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (WorkflowRequest.ValidateName(name) is { } problem)
        {
            return InstanceProblems.Invalid("name", problem);
        }

        return await CallAsync(async () =>
        {
            var versions = await Grain(cluster, user, name).ListVersionsAsync(cancellationToken);
            if (versions.Count == 0)
            {
                return NotFound($"Workflow '{name}' does not exist.");
            }

            var latest = versions[^1];
            return TypedResults.Json(
                new WorkflowResponse(name, latest.Version, latest.BuiltIn, latest.Description, [.. versions.Select(static v => WorkflowVersionResponse.From(v, withSource: false))]),
                InstanceEndpoints.Json);
        });
    }

    internal static async Task<IResult> GetVersionAsync(string name, string version, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        if (WorkflowRequest.ValidateName(name) is { } problem)
        {
            return InstanceProblems.Invalid("name", problem);
        }

        if (!int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1)
        {
            return InstanceProblems.Invalid("version", "must be a whole number from 1");
        }

        return await CallAsync(async () =>
        {
            var info = await Grain(cluster, user, name).GetAsync(number, cancellationToken);
            return info is null
                ? NotFound($"Workflow '{name}' has no version {number.ToString(CultureInfo.InvariantCulture)}.")
                : TypedResults.Json(WorkflowVersionResponse.From(info, withSource: true), InstanceEndpoints.Json);
        });
    }

    private static IWorkflowDefinitionGrain Grain(IClusterClient cluster, ClaimsPrincipal user, string name) =>
        cluster.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(user.Tenant(), name));

    private static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "No such workflow", type: InstanceProblems.NotFound);

    private static async Task<IResult> CallAsync(Func<Task<IResult>> call)
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

    private static LocatedResult WithLocation(this IResult result, string location) => new(result, location);

    /// <summary>Another result with a <c>Location</c> header.</summary>
    private sealed class LocatedResult(IResult inner, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>One version of a workflow; <c>Source</c> (the definition as registered) only when one version is asked for.</summary>
public sealed record WorkflowVersionResponse(
    string Name,
    int Version,
    string Sha256,
    DateTimeOffset CreatedAt,
    bool BuiltIn,
    string? Description,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Source)
{
    public static WorkflowVersionResponse From(WorkflowVersionInfo info, bool withSource)
    {
        ArgumentNullException.ThrowIfNull(info);
        return new WorkflowVersionResponse(info.Name, info.Version, info.Sha256, info.CreatedAt, info.BuiltIn, info.Description, withSource ? info.Source ?? "" : null);
    }
}

/// <summary>A workflow and all of its versions, oldest first.</summary>
public sealed record WorkflowResponse(string Name, int LatestVersion, bool BuiltIn, string? Description, IReadOnlyList<WorkflowVersionResponse> Versions);

public sealed record WorkflowListItemResponse(string Name, int LatestVersion, bool BuiltIn);

public sealed record WorkflowListResponse(IReadOnlyList<WorkflowListItemResponse> Items);
