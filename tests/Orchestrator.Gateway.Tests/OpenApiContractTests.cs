using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Orchestrator.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.Gateway.Tests;

/// <summary>
/// What validators and generated clients found wrong with the document and the answers: the document's servers,
/// bodies, streams, problems, rules and headers, and the problems of unknown routes.
/// </summary>
[Collection(InMemoryCluster.Name)]
public sealed class OpenApiContractTests(InMemoryClusterFixture cluster)
{
    [Fact]
    public async Task ServersNeverComeFromTheHostHeader()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);
        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        request.Headers.Host = "evil.example";

        using var response = await anonymous.SendAsync(request);
        var document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/", (string)Assert.Single(document["servers"]!.AsArray())!["url"]!);
        Assert.DoesNotContain("evil.example", document.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServersAreThePublicUrlWhenOneIsConfigured()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster, settings: new Dictionary<string, string?> { ["Orchestrator:PublicUrl"] = "https://api.example.com/" });

        var document = await FetchAsync(gateway);

        Assert.Equal("https://api.example.com", (string)Assert.Single(document["servers"]!.AsArray())!["url"]!);
    }

    [Fact]
    public async Task OpenOperationsSayTheyNeedNoKeyAndTheDocumentHasALicense()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        var document = await FetchAsync(gateway);

        foreach (var path in new[] { "/health/live", "/health/ready" })
        {
            Assert.Equal("[]", document["paths"]![path]!["get"]!["security"]?.ToJsonString());
        }

        Assert.NotNull(document["info"]!["license"]!["name"]);
        Assert.NotNull(document["info"]!["license"]!["identifier"]);
    }

    [Fact]
    public async Task AJsonWorkflowBodyIsTheDefinitionObject()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        var document = await FetchAsync(gateway);
        var content = document["paths"]!["/api/workflows"]!["post"]!["requestBody"]!["content"]!;
        var definition = document["components"]!["schemas"]!["WorkflowDefinition"]!;

        Assert.Equal("#/components/schemas/WorkflowDefinition", (string)content["application/json"]!["schema"]!["$ref"]!);
        Assert.Equal("string", (string)content["application/yaml"]!["schema"]!["type"]!);
        Assert.Equal("object", (string)definition["type"]!);
        Assert.Equal(["name", "steps"], definition["required"]!.AsArray().Select(static r => (string)r!));
        Assert.Equal("#/components/schemas/WorkflowStep", (string)definition["properties"]!["steps"]!["items"]!["$ref"]!);
        Assert.NotNull(document["components"]!["schemas"]!["WorkflowWithSshExec"]);
        // Every reference of the definition language points into the document.
        Assert.DoesNotContain("#/$defs/", document.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamsAreTextWhoseItemsHaveASchema()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        var document = await FetchAsync(gateway);
        var streams = Operations(document)
            .SelectMany(static o => o.Operation["responses"]!.AsObject().SelectMany(r => r.Value!["content"]?.AsObject() ?? []))
            .Where(static c => c.Key is "application/x-ndjson" or "text/event-stream")
            .ToList();

        Assert.Equal(4, streams.Count);
        Assert.All(streams, static c =>
        {
            Assert.Equal("string", (string)c.Value!["schema"]!["type"]!);
            Assert.NotEmpty(c.Value["x-itemSchema"]!["oneOf"]!.AsArray());
        });
    }

    [Fact]
    public async Task TheStepOutputHasOneSchemaForGenerators()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        var document = await FetchAsync(gateway);
        var content = document["paths"]!["/api/runs/{id}/steps/{step}/output"]!["get"]!["responses"]!["200"]!["content"]!;

        Assert.Null(content["text/plain"]!["schema"]);
        Assert.Equal("#/components/schemas/StepOutputResponse", (string)content["application/json"]!["schema"]!["$ref"]!);
    }

    [Fact]
    public async Task TheProblemSchemaHasEveryMemberAnswersCarry()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        var document = await FetchAsync(gateway);
        var problem = document["components"]!["schemas"]!["ProblemDetails"]!;
        var names = problem["properties"]!.AsObject().Select(static p => p.Key).ToList();

        Assert.Contains("request_id", names);
        Assert.Contains("trace_id", names);
        Assert.Contains("field", names);
        Assert.Contains("errors", names);
        Assert.Contains("limit_bytes", names);
        Assert.DoesNotContain("traceId", names);
        Assert.Contains("request_id", problem["required"]!.AsArray().Select(static r => (string)r!));
    }

    [Fact]
    public async Task RulesTheApiEnforcesAreSchemaKeywords()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        var document = await FetchAsync(gateway);
        var schemas = document["components"]!["schemas"]!;
        JsonNode Parameter(string path, string method, string name) =>
            document["paths"]![path]![method]!["parameters"]!.AsArray().Single(p => (string)p!["name"]! == name)!["schema"]!;

        foreach (var body in new[] { "CreateInstanceRequest", "ExecRequest", "StartRunRequest", "CreateTenantRequest", "TenantQuotasRequest", "CreateApiKeyRequest" })
        {
            Assert.False((bool)schemas[body]!["additionalProperties"]!, $"{body} allows unknown members");
        }

        Assert.Equal((1, 100), ((int)Parameter("/api/runs", "get", "limit")["minimum"]!, (int)Parameter("/api/runs", "get", "limit")["maximum"]!));
        Assert.Equal((1, 100), ((int)Parameter("/api/instances", "get", "limit")["minimum"]!, (int)Parameter("/api/instances", "get", "limit")["maximum"]!));
        Assert.Equal(1000, (int)Parameter("/api/instances/{id}/shell", "get", "rows")["maximum"]!);
        Assert.NotNull(Parameter("/api/instances/{id}/exec", "post", "id")["pattern"]);
        Assert.NotNull(Parameter("/api/workflows/{name}/versions/{version}", "get", "name")["pattern"]);
        Assert.Equal(63, (int)schemas["CreateInstanceRequest"]!["properties"]!["name"]!["maxLength"]!);
        Assert.NotNull(schemas["CreateInstanceRequest"]!["properties"]!["name"]!["pattern"]);
        Assert.Equal(3650, (int)schemas["CreateApiKeyRequest"]!["properties"]!["expires_in_days"]!["maximum"]!);
    }

    [Fact]
    public async Task HeadersTheAnswersCarryAreDeclared()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        var document = await FetchAsync(gateway);
        var responses = Operations(document).SelectMany(static o => o.Operation["responses"]!.AsObject().Select(r => (o.Name, Status: r.Key, Response: r.Value!))).ToList();

        Assert.All(responses.Where(static r => r.Status == "401"), static r => Assert.True((bool)r.Response["headers"]!["WWW-Authenticate"]!["required"]!, r.Name));
        Assert.All(responses.Where(static r => r.Status == "429"), static r => Assert.NotNull(r.Response["headers"]!["Retry-After"]));
        Assert.All(
            responses.Where(static r => r.Status == "202" || (r.Status == "201" && r.Name != "POST /api/instances")),
            static r => Assert.True((bool)r.Response["headers"]!["Location"]!["required"]!, r.Name));
    }

    [Fact]
    public async Task AnUnknownRouteIsTheNotFoundProblemWithOrWithoutAKey()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);
        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };

        foreach (var (client, path) in new[] { (gateway.Http, "/api/nope"), (anonymous, "/api/nope"), (anonymous, "/nope.json"), (gateway.Http, "/api/instances/x/nope") })
        {
            using var response = await client.GetAsync(path);
            var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("https://orchestrator.dev/problems/not-found", (string)problem["type"]!);
            Assert.Equal(Assert.Single(response.Headers.GetValues(RequestIds.HeaderName)), (string)problem[RequestIds.Key]!);
        }
    }

    [Fact]
    public async Task AMethodAPathDoesNotTakeIsTheMethodNotAllowedProblem()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);
        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };

        using var response = await anonymous.DeleteAsync("/api/workflows");
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("https://orchestrator.dev/problems/method-not-allowed", (string)problem["type"]!);
        Assert.NotNull(problem[RequestIds.Key]);
        Assert.Contains("POST", response.Content.Headers.Allow);
    }

    [Fact]
    public async Task ProblemsNameTheTraceInSnakeCaseWhateverTheClientAccepts()
    {
        // The host traces requests when something listens, as the telemetry of a real host does.
        using var listener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name == "Microsoft.AspNetCore",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
        };
        ActivitySource.AddActivityListener(listener);
        await using var gateway = await GatewayHost.StartAsync(cluster);

        foreach (var accept in new[] { "application/json", "text/event-stream", "application/x-ndjson" })
        {
            // A problem the endpoint answers (TypedResults.Problem), before it calls the cluster.
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/runs?limit=0");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
            using var response = await gateway.Http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var problem = JsonNode.Parse(body)!.AsObject();

            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{accept}: {body}");
            Assert.Equal("limit", (string)problem["field"]!);
            Assert.Equal(Assert.Single(response.Headers.GetValues(RequestIds.HeaderName)), (string)problem[RequestIds.Key]!);
            Assert.Matches("^[0-9a-f]{32}$", (string)problem["trace_id"]!);
            Assert.False(problem.ContainsKey("traceId"), accept);
        }
    }

    private static async Task<JsonNode> FetchAsync(GatewayHost gateway)
    {
        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };
        return JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!;
    }

    private static IEnumerable<(string Name, JsonNode Operation)> Operations(JsonNode document) =>
        document["paths"]!.AsObject().SelectMany(static path => path.Value!.AsObject()
            .Select(operation => ($"{operation.Key.ToUpperInvariant()} {path.Key}", operation.Value!)));
}
