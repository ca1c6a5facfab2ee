using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Orchestrator.Testing;

namespace Orchestrator.Gateway.Tests;

/// <summary>The OpenAPI document and the reference built on it, fetched as an anonymous client would.</summary>
[Collection(InMemoryCluster.Name)]
public sealed partial class OpenApiDocumentTests(InMemoryClusterFixture cluster)
{
    // The document itself, its viewer, the Orleans dashboard, and the web console's files (with / sending there).
    private static readonly string[] NotDescribed = ["/openapi/", "/docs", "/dashboard", "/ui"];

    [Fact]
    public async Task TheDocumentIsServedWithoutAKeyAndIsValidOpenApi()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);
        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };

        using var response = await anonymous.GetAsync("/openapi/v1.json");
        await using var body = await response.Content.ReadAsStreamAsync();
        var (document, diagnostic) = await OpenApiDocument.LoadAsync(body, "json", new OpenApiReaderSettings());
        Assert.NotNull(document);
        var problems = document.Validate(ValidationRuleSet.GetDefaultRuleSet()).ToList();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, diagnostic!.SpecificationVersion);
        Assert.Empty(diagnostic.Errors);
        Assert.Empty(diagnostic.Warnings);
        Assert.Empty(problems);
        Assert.Equal("Orchestrator API", document.Info.Title);
    }

    [Fact]
    public async Task EveryMappedEndpointIsInTheDocument()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);
        var document = await FetchAsync(gateway);
        var paths = document["paths"]!.AsObject();

        var endpoints = gateway.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(static e => (Path: DocumentPath(e.RoutePattern), Methods: e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods))
            .Where(static e => e.Path != "/" && !NotDescribed.Any(e.Path.StartsWith))
            .ToList();
        var missing = endpoints
            .SelectMany(static e => (e.Methods ?? ["GET"]).Select(m => $"{m} {e.Path}"))
            .Where(operation =>
            {
                var (method, path) = (operation.Split(' ')[0], operation.Split(' ')[1]);
                return paths[path]?[method.ToLowerInvariant()] is null;
            })
            .ToList();

        Assert.True(endpoints.Count >= 30, $"only {endpoints.Count} endpoints were found");
        Assert.Empty(missing);
    }

    [Fact]
    public async Task ExecDescribesItsStreamsAndItsBufferedAnswer()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);
        var document = await FetchAsync(gateway);

        var exec = document["paths"]!["/api/instances/{id}/exec"]!["post"]!;
        var ok = exec["responses"]!["200"]!["content"]!.AsObject();
        var lines = ok["application/x-ndjson"]!["x-itemSchema"]!["oneOf"]!.AsArray().Select(static s => (string)s!["$ref"]!).ToList();

        Assert.Equal(["application/x-ndjson", "text/event-stream", "application/json"], ok.Select(static c => c.Key));
        Assert.Equal(["#/components/schemas/ExecOutputEvent", "#/components/schemas/ExecExitEvent", "#/components/schemas/StreamErrorEvent"], lines);
        Assert.Equal("#/components/schemas/ExecResultResponse", (string)ok["application/json"]!["schema"]!["$ref"]!);
        Assert.Equal("#/components/schemas/ExecRequest", (string)exec["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!);
        Assert.Contains(exec["parameters"]!.AsArray(), static p => (string)p!["name"]! == "Accept" && (string)p["in"]! == "header");

        var events = document["paths"]!["/api/runs/{id}/events"]!["get"]!;
        Assert.Equal(["text/event-stream", "application/x-ndjson"], events["responses"]!["200"]!["content"]!.AsObject().Select(static c => c.Key));
        Assert.Contains(events["parameters"]!.AsArray(), static p => (string)p!["name"]! == "Last-Event-ID" && (string)p["in"]! == "header");

        var shell = document["paths"]!["/api/instances/{id}/shell"]!["get"]!;
        Assert.NotNull(shell["responses"]!["101"]);
        Assert.Null(shell["responses"]!["200"]);
        Assert.Equal(["id", "cols", "rows"], shell["parameters"]!.AsArray().Select(static p => (string)p!["name"]!));
        Assert.Contains("resize", (string)shell["description"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ErrorsAreProblemDetailsAndApiOperationsNeedTheBearerScheme()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);
        var document = await FetchAsync(gateway);

        Assert.Equal("http", (string)document["components"]!["securitySchemes"]!["bearer"]!["type"]!);
        Assert.Equal("bearer", (string)document["components"]!["securitySchemes"]!["bearer"]!["scheme"]!);
        var operations = Operations(document).ToList();
        foreach (var (name, operation) in operations)
        {
            var security = operation["security"]?.AsArray();
            if (name.Contains(" /api/", StringComparison.Ordinal))
            {
                Assert.True(security is [{ } requirement] && requirement["bearer"] is not null, $"{name} does not require the bearer scheme");
                Assert.True(operation["responses"]!["401"] is not null, $"{name} does not say it answers 401");
            }
            else
            {
                Assert.True(security is null or [], $"{name} requires a key");
            }

            foreach (var (status, response) in operation["responses"]!.AsObject())
            {
                if (status[0] is '4' or '5' && !name.StartsWith("GET /health/", StringComparison.Ordinal))
                {
                    var content = response!["content"]?.AsObject().Select(static c => c.Key).ToList();
                    Assert.True(content is ["application/problem+json"], $"{name} answers {status} as {string.Join(", ", content ?? [])}");
                }
            }
        }

        Assert.Contains(operations, static o => o.Name == "GET /health/live");
        Assert.Contains(operations, static o => o.Name == "GET /health/ready");
        Assert.StartsWith("Admin only", (string)document["paths"]!["/api/tenants"]!["post"]!["description"]!, StringComparison.Ordinal);
        Assert.NotNull(document["paths"]!["/api/tenants"]!["post"]!["responses"]!["403"]);
    }

    [Fact]
    public async Task BodySchemasUseTheWireNames()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);
        var document = await FetchAsync(gateway);
        var schemas = document["components"]!["schemas"]!;

        var bodies = Operations(document)
            .Select(static o => o.Operation["requestBody"]?["content"]?["application/json"]?["schema"]?["$ref"])
            .OfType<JsonNode>()
            .Select(static r => ((string)r!).Split('/')[^1])
            .Distinct()
            .ToList();
        var names = bodies.SelectMany(b => PropertyNames(schemas[b]!)).ToList();

        Assert.Equal(["CreateTenantRequest", "TenantQuotasRequest", "CreateApiKeyRequest", "CreateInstanceRequest", "ResizeInstanceRequest", "ExtendInstanceVolumeRequest", "ExecRequest", "CreateSessionRequest", "RenameSessionRequest", "SessionInputRequest", "WorkflowDefinition", "StartRunRequest", "PutSecretRequest", "CreateEnvironmentRequest", "GitCommitBody", "GitPushBody", "GitCheckoutBody"], bodies);
        Assert.All(names, static n => Assert.Matches(SnakeCase(), n));
        Assert.Contains("timeout_seconds", names);
        Assert.Contains("memory_mb", names);
        Assert.Contains("size_gb", names);
        Assert.Contains("idempotency_key", names);
        Assert.Contains("session_idle_timeout", names);
        Assert.Contains("repo_url", names);
        Assert.Contains("git_credentials_secret", names);
        Assert.Contains("set_upstream", names);
        Assert.NotNull(schemas["InstanceResponse"]!["properties"]!["desired_state"]);
        Assert.NotNull(schemas["ExecExitEvent"]!["properties"]!["duration_ms"]);
        // Every answer has one convention, the health and version answers included.
        Assert.Equal(["version", "cluster_id", "service_id", "silo_count"], schemas["VersionResponse"]!["properties"]!.AsObject().Select(static p => p.Key));
        Assert.NotNull(schemas["HealthResponse"]!["properties"]!["checks"]!["additionalProperties"]!["properties"]!["duration_ms"]);
        // Numbers are JSON numbers only: the parsers refuse numeric strings.
        Assert.Equal(["null", "integer"], schemas["ExecRequest"]!["properties"]!["max_output_bytes"]!["type"]!.AsArray().Select(static t => (string)t!));
        Assert.DoesNotContain("^-?(?:0|[1-9]", document.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheReferenceIsServedWithoutAKey()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);
        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };

        using var response = await anonymous.GetAsync("/docs");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("openapi/v1.json", html, StringComparison.Ordinal);
        using var script = await anonymous.GetAsync("/docs/scalar.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    private static async Task<JsonNode> FetchAsync(GatewayHost gateway)
    {
        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };
        return JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!;
    }

    private static IEnumerable<(string Name, JsonNode Operation)> Operations(JsonNode document) =>
        document["paths"]!.AsObject().SelectMany(static path => path.Value!.AsObject()
            .Select(operation => ($"{operation.Key.ToUpperInvariant()} {path.Key}", operation.Value!)));

    private static IEnumerable<string> PropertyNames(JsonNode schema) =>
        (schema["properties"]?.AsObject().SelectMany(static p => PropertyNames(p.Value!).Prepend(p.Key)) ?? [])
            .Concat(schema["oneOf"]?.AsArray().SelectMany(static s => PropertyNames(s!)) ?? []);

    /// <summary>A route pattern as an OpenAPI path: no trailing slash, parameters without constraints.</summary>
    private static string DocumentPath(RoutePattern pattern)
    {
        var path = "/" + string.Join('/', pattern.PathSegments.Select(static segment => string.Concat(segment.Parts.Select(static part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
            RoutePatternSeparatorPart separator => separator.Content,
            _ => "",
        }))));
        return path;
    }

    [GeneratedRegex("^[a-z][a-z0-9_]*$")]
    private static partial Regex SnakeCase();
}
