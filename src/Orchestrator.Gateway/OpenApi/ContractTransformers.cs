using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Microsoft.OpenApi.MicrosoftExtensions;
using Microsoft.OpenApi.Reader;
using Orchestrator.Gateway.Status;
using Orchestrator.Gateway.Workflows;
using Orchestrator.Hosting;
using Orchestrator.Workflows;

namespace Orchestrator.Gateway.OpenApi;

/// <summary>
/// Where the API is: <c>Orchestrator:PublicUrl</c> (<c>Orchestrator__PublicUrl</c>) when it is set, else the document's
/// own origin (<c>/</c>). Never the request's Host header, which any client chooses: a document cached or shown to
/// another client would send that client's requests (and keys) wherever the first one said.
/// </summary>
internal sealed class ServersTransformer(IConfiguration configuration) : IOpenApiDocumentTransformer
{
    public const string PublicUrlKey = "Orchestrator:PublicUrl";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Servers = [new OpenApiServer { Url = PublicUrl(configuration[PublicUrlKey]) ?? "/", Description = "The Orchestrator gateway." }];
        return Task.CompletedTask;
    }

    /// <summary>An absolute http(s) URL without its trailing slash; null for anything else.</summary>
    internal static string? PublicUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)
            ? uri.GetLeftPart(UriPartial.Path).TrimEnd('/')
            : null;
}

/// <summary>
/// The rules the handlers enforce on path and query parameters, by name, for every operation that has them: a new
/// endpoint under <c>/api/instances/{id}</c> gets the instance name's pattern without saying so.
/// </summary>
internal sealed class ParameterRulesTransformer : IOpenApiDocumentTransformer
{
    private static readonly (string PathPrefix, string Name, SchemaRules Rules)[] PathRules =
    [
        ("/api/instances/{id}", "id", SchemaRules.InstanceName),
        ("/api/tenants/{id}", "id", SchemaRules.TenantId),
        ("/api/workflows/{name}", "name", SchemaRules.WorkflowName),
        ("/api/runs/{id}", "id", SchemaRules.RunId),
        ("/api/runs/{id}/steps/{step}", "step", SchemaRules.StepId),
        ("/api/runs/{id}/signals/{name}", "name", SchemaRules.SignalName),
    ];

    private static readonly Dictionary<string, SchemaRules> QueryRules = new(StringComparer.Ordinal)
    {
        ["limit"] = SchemaRules.PageSize,
        ["cols"] = SchemaRules.TerminalSize,
        ["rows"] = SchemaRules.TerminalSize,
        ["after"] = new(Minimum: 0),
    };

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var (path, item) in document.Paths)
        {
            foreach (var parameter in (item.Operations?.Values.AsEnumerable() ?? []).SelectMany(static o => o.Parameters ?? []).OfType<OpenApiParameter>())
            {
                var rules = parameter.In switch
                {
                    ParameterLocation.Path => PathRules.FirstOrDefault(r => r.Name == parameter.Name && (path == r.PathPrefix || path.StartsWith(r.PathPrefix + "/", StringComparison.Ordinal))).Rules,
                    ParameterLocation.Query => QueryRules.GetValueOrDefault(parameter.Name ?? ""),
                    _ => null,
                };
                if (rules is not null && parameter.Schema is OpenApiSchema schema)
                {
                    rules.ApplyTo(schema);
                }
            }
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// The problem details every error answer carries (<see cref="ProblemWriter"/>): RFC 9457's members and the API's
/// own, each named as it is on the wire.
/// </summary>
internal sealed class ProblemSchemaTransformer : IOpenApiSchemaTransformer
{
    public async Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Type != typeof(ProblemDetails))
        {
            return;
        }

        static OpenApiSchema Text(string description, JsonSchemaType type = JsonSchemaType.String) => new() { Type = type, Description = description };
        var error = await context.GetOrCreateSchemaAsync(typeof(WorkflowErrorResponse), null, cancellationToken);
        var detail = Text("What happened this time, for people.");
        detail.Extensions = new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal) { [OpenApiPrimaryErrorMessageExtension.Name] = new OpenApiPrimaryErrorMessageExtension { IsPrimaryErrorMessage = true } };
        schema.Description = "An RFC 9457 problem: every error answer of the API, whose 'type' is a stable URI under https://orchestrator.dev/problems/.";
        schema.Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
        {
            ["type"] = Text("A stable URI naming the kind of problem."),
            ["title"] = Text("A short summary of the kind of problem."),
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "400", Maximum = "599", Description = "The answer's HTTP status." },
            ["detail"] = detail,
            ["instance"] = Text("The occurrence of the problem, when the API names one."),
            [RequestIds.Key] = Text("The request's id, as in the X-Request-Id header: quote it when reporting a problem."),
            [ProblemWriter.TraceIdKey] = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^[0-9a-f]{32}$", Description = "The W3C trace id of the request, when it was traced." },
            ["field"] = Text("validation: the part of the request that is invalid (a body member such as 'size.cpus', a parameter or a header)."),
            ["errors"] = new OpenApiSchema { Type = JsonSchemaType.Array, Items = error, Description = "workflow-invalid: every error of the definition, located." },
            ["limit_bytes"] = Text("payload-too-large: the most bytes the operation takes.", JsonSchemaType.Integer),
            ["quota"] = Text("quota-exceeded: the quota that would be exceeded (max_instances or max_concurrent_runs)."),
            ["limit"] = Text("quota-exceeded: the quota's value.", JsonSchemaType.Integer),
            ["fly_status"] = Text("Fly problems: the HTTP status Fly answered with, if it answered.", JsonSchemaType.Integer | JsonSchemaType.Null),
            ["fly_message"] = Text("Fly problems: Fly's own message, if it gave one.", JsonSchemaType.String | JsonSchemaType.Null),
            ["reason"] = Text("ssh-* problems: why the machine could not be reached."),
        };
        schema.Required = new HashSet<string>(["type", "title", "status", RequestIds.Key], StringComparer.Ordinal);
        schema.Type = JsonSchemaType.Object;
    }
}

/// <summary>Marks a request body whose parser refuses members it does not know (400 naming the member).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RefusesUnknownMembersAttribute : Attribute;

/// <summary>Says <c>additionalProperties: false</c> for the bodies marked <see cref="RefusesUnknownMembersAttribute"/>.</summary>
internal sealed class ClosedBodySchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Type.GetCustomAttribute<RefusesUnknownMembersAttribute>() is not null)
        {
            schema.AdditionalPropertiesAllowed = false;
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// The headers that come with an answer whatever the operation: <c>WWW-Authenticate</c> with every 401 (RFC 9110), and
/// <c>Retry-After</c> with the 429s that know when to retry (the key's rate limit, the running-runs quota).
/// </summary>
internal sealed class ProblemHeadersTransformer : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var (status, response) in operation.Responses ?? [])
        {
            var header = status switch
            {
                "401" => ("WWW-Authenticate", new OpenApiHeader
                {
                    Required = true,
                    Description = "The bearer scheme's challenge: 'Bearer realm=\"orchestrator\"', with error=\"invalid_token\" when a key was sent.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                }),
                "429" => ("Retry-After", new OpenApiHeader
                {
                    Description = "Seconds to wait before retrying: sent with rate-limited and quota-exceeded answers.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^[0-9]+$" },
                }),
                _ => default((string, OpenApiHeader)?),
            };
            if (header is var (name, value) && response is OpenApiResponse concrete)
            {
                concrete.Headers ??= new Dictionary<string, IOpenApiHeader>(StringComparer.OrdinalIgnoreCase);
                concrete.Headers.TryAdd(name, value);
            }
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// The definition language's JSON Schema (<see cref="WorkflowSchema"/>, served at <c>/api/workflows/schema</c>) as
/// components, so a JSON definition body is typed as the object it is: <c>WorkflowDefinition</c> and one
/// <c>Workflow*</c> component per definition of the schema.
/// </summary>
internal static class WorkflowDefinitionSchema
{
    public const string Root = "WorkflowDefinition";

    /// <summary>A reference to <see cref="Root"/>, adding the components to <paramref name="document"/> the first time.</summary>
    public static IOpenApiSchema Reference(OpenApiDocument document)
    {
        if (document.Components?.Schemas?.ContainsKey(Root) is not true)
        {
            var schema = WorkflowSchema.Create();
            var defs = (JsonObject)schema["$defs"]!;
            // An $id would make '#/components/...' resolve against the schema's own URI; the document's are its $defs.
            schema.Remove("$defs");
            schema.Remove("$id");
            schema.Remove("$schema");
            // The language takes more names than the API registers under (WorkflowRequest.ValidateName).
            schema["properties"]!["name"] = new JsonObject
            {
                ["type"] = "string",
                ["pattern"] = SchemaRules.WorkflowName.Pattern,
                ["description"] = "The workflow's name, which the API registers it under: 1 to 63 lowercase letters, digits and '-'.",
            };
            Add(document, Root, schema);
            foreach (var (name, definition) in defs.ToList())
            {
                defs.Remove(name);
                Add(document, ComponentName(name), definition!);
            }
        }

        return new OpenApiSchemaReference(Root, document);
    }

    private static void Add(OpenApiDocument document, string id, JsonNode schema)
    {
        Rewrite(schema);
        var parsed = OpenApiModelFactory.Parse<OpenApiSchema>(schema.ToJsonString(), OpenApiSpecVersion.OpenApi3_1, document, out var diagnostic, OpenApiConstants.Json)
            ?? throw new InvalidOperationException($"The workflow schema's '{id}' is not an OpenAPI schema: {string.Join("; ", diagnostic.Errors.Select(static e => e.Message))}");
        document.AddComponent(id, parsed);
    }

    /// <summary>Points the schema's references at the components its definitions become.</summary>
    private static void Rewrite(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                if (obj["$ref"] is JsonValue reference && reference.GetValue<string>() is { } target && target.StartsWith("#/$defs/", StringComparison.Ordinal))
                {
                    obj["$ref"] = "#/components/schemas/" + ComponentName(target["#/$defs/".Length..]);
                }

                foreach (var (_, child) in obj.ToList())
                {
                    Rewrite(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Rewrite(child);
                }

                break;
        }
    }

    /// <summary><c>with_ssh_exec</c> becomes <c>WorkflowWithSshExec</c>.</summary>
    internal static string ComponentName(string definition) =>
        "Workflow" + string.Concat(definition.Split('_', StringSplitOptions.RemoveEmptyEntries)
            .Select(static part => char.ToUpperInvariant(part[0]) + part[1..]));
}
