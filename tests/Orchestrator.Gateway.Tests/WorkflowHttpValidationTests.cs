using System.Net;
using System.Text;
using System.Text.Json;
using Orchestrator.Gateway.Workflows;
using Orchestrator.Testing;

namespace Orchestrator.Gateway.Tests;

/// <summary>
/// The workflow and run endpoints over real HTTP for requests that are refused, by the endpoint or by the grain it
/// calls (definitions are read by the registrar grain): each is a problem naming what is wrong, never a 500.
/// </summary>
[Collection(InMemoryCluster.Name)]
public sealed class WorkflowHttpValidationTests(InMemoryClusterFixture cluster)
{
    [Fact]
    public async Task TheSchemaIsServedAsJsonSchemaAndIsNotTakenForAWorkflowName()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        using var response = await gateway.Http.GetAsync("/api/workflows/schema");
        var schema = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(WorkflowEndpoints.SchemaContentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Orchestrator.Workflows.WorkflowSchema.Id, schema.GetProperty("$id").GetString());
    }

    [Fact]
    public async Task AnInvalidDefinitionIs400WithEveryErrorLocated()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        using var content = new StringContent("name: hello\nsteps:\n  - id: nap\n    uses: slep\n  - id: nap\n    uses: sleep\n    with: { duration: soon }\n", Encoding.UTF8, "application/yaml");
        using var response = await gateway.Http.PostAsync("/api/workflows", content);
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest, WorkflowProblems.WorkflowInvalid);

        var errors = problem.GetProperty("errors").EnumerateArray().ToList();
        Assert.True(errors.Count >= 2, problem.ToString());
        Assert.All(errors, e =>
        {
            Assert.False(string.IsNullOrEmpty(e.GetProperty("code").GetString()));
            Assert.False(string.IsNullOrEmpty(e.GetProperty("path").GetString()));
            Assert.True(e.GetProperty("line").GetInt32() > 0, e.ToString());
            Assert.True(e.GetProperty("column").GetInt32() > 0, e.ToString());
            Assert.False(string.IsNullOrEmpty(e.GetProperty("message").GetString()));
        });
        Assert.Contains(errors, e => e.GetProperty("code").GetString() == "unknown_step_type" && e.GetProperty("line").GetInt32() == 4);
    }

    [Fact]
    public async Task AJsonSyntaxErrorIsLocated()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        using var content = new StringContent("{\"name\": \"hello\",\n \"steps\": [}", Encoding.UTF8, "application/json");
        using var response = await gateway.Http.PostAsync("/api/workflows", content);
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest, WorkflowProblems.WorkflowInvalid);

        var error = problem.GetProperty("errors")[0];
        Assert.Equal("json_syntax", error.GetProperty("code").GetString());
        Assert.Equal(2, error.GetProperty("line").GetInt32());
    }

    [Fact]
    public async Task AValidDefinitionWhoseNameTheApiCannotAddressIsRefusedWithItsLocation()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        using var content = new StringContent("steps:\n  - id: nap\n    uses: sleep\n    with: { duration: 1s }\nname: Hello.World\n", Encoding.UTF8, "text/plain");
        using var response = await gateway.Http.PostAsync("/api/workflows", content);
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest, WorkflowProblems.WorkflowInvalid);

        var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
        Assert.Equal(("invalid_name", "name", 5), (error.GetProperty("code").GetString(), error.GetProperty("path").GetString(), error.GetProperty("line").GetInt32()));
    }

    [Fact]
    public async Task ADefinitionOver256KiBIs413()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        using var content = new StringContent("name: big\n#" + new string('x', WorkflowRequest.MaxDefinitionBytes), Encoding.UTF8, "application/yaml");
        using var response = await gateway.Http.PostAsync("/api/workflows", content);

        var problem = await ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, WorkflowProblems.PayloadTooLarge);
        Assert.Equal(WorkflowRequest.MaxDefinitionBytes, problem.GetProperty("limit_bytes").GetInt32());
    }

    [Fact]
    public async Task AFormPostIsNotADefinition()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        using var content = new StringContent("name=hello", Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await gateway.Http.PostAsync("/api/workflows", content);

        await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType, WorkflowProblems.UnsupportedMediaType);
    }

    [Theory]
    [InlineData("GET", "/api/workflows/Hello", null, "name")]
    [InlineData("GET", "/api/workflows/hello/versions/0", null, "version")]
    [InlineData("GET", "/api/workflows/hello/versions/latest", null, "version")]
    [InlineData("GET", "/api/runs/Run-1", null, "id")]
    [InlineData("GET", "/api/runs/run_1/events", null, "id")]
    [InlineData("GET", "/api/runs/run-1/events?after=-2", null, "after")]
    [InlineData("GET", "/api/runs/run-1/steps/1st/output", null, "step")]
    [InlineData("GET", "/api/runs/run-1/steps/say/output?stream=both", null, "stream")]
    [InlineData("GET", "/api/runs?limit=0", null, "limit")]
    [InlineData("GET", "/api/runs?limit=101", null, "limit")]
    [InlineData("GET", "/api/runs?status=done", null, "status")]
    [InlineData("GET", "/api/runs?workflow=Hello", null, "workflow")]
    [InlineData("POST", "/api/runs", "", "body")]
    [InlineData("POST", "/api/runs", "{", "body")]
    [InlineData("POST", "/api/runs", "{}", "workflow")]
    [InlineData("POST", "/api/runs", """{"workflow":"hello","inputs":[1]}""", "inputs")]
    [InlineData("POST", "/api/runs", """{"workflow":"hello","secrets":{"A":true}}""", "secrets.A")]
    [InlineData("POST", "/api/runs", """{"workflow":"hello","versoin":1}""", "versoin")]
    [InlineData("POST", "/api/runs/RUN/cancel", null, "id")]
    [InlineData("POST", "/api/runs/RUN-1/retry", null, "id")]
    [InlineData("POST", "/api/runs/run-1/signals/not%20a%20name", null, "name")]
    [InlineData("POST", "/api/runs/run-1/signals/go", "{oops", "body")]
    public async Task BadRequestsAre400NamingTheField(string method, string path, string? body, string field)
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await gateway.Http.SendAsync(request);
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest, "https://orchestrator.dev/problems/validation");

        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task AnIdempotencyKeyHeaderThatContradictsTheBodysKeyIsRefused()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/runs") { Content = new StringContent("""{"workflow":"hello","idempotency_key":"a"}""", Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", "b");
        using var response = await gateway.Http.SendAsync(request);
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest, "https://orchestrator.dev/problems/validation");

        Assert.Equal("idempotency_key", problem.GetProperty("field").GetString());
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonSerializer.Deserialize<JsonElement>(text);
        Assert.Equal(type, problem.GetProperty("type").GetString());
        return problem;
    }
}
