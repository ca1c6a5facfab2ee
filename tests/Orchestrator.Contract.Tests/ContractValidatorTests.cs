using System.Text;

namespace Orchestrator.Contract.Tests;

/// <summary>The validator finds what the live document does not allow (so that its silence means something).</summary>
[Collection(ContractCluster.Name)]
public sealed class ContractValidatorTests(ContractFixture fixture)
{
    [Theory]
    [InlineData("GET", "/api/runs/run-1", 404, "application/problem+json", """{"type":"t","title":"t","status":404,"traceId":"x"}""", "request_id")]
    [InlineData("GET", "/api/runs/run-1", 418, "application/problem+json", """{"type":"t","title":"t","status":418,"request_id":"r"}""", "status not documented")]
    [InlineData("GET", "/api/runs/run-1", 200, "text/html", "<p>run</p>", "media type")]
    [InlineData("GET", "/api/runs/run-1/events", 200, "application/x-ndjson", "{\"sequence\":\"one\"}\n", "item 0")]
    [InlineData("GET", "/api/runs/run-1/events", 200, "text/event-stream", "id: 1\nevent: run.started\ndata: {\"kind\":1}\n\n", "item 0")]
    [InlineData("POST", "/api/tenants", 201, "application/json", """{"id":"acme"}""", "Location")]
    [InlineData("GET", "/api/nowhere", 404, "application/problem+json", "{}", "no such operation")]
    public void AnAnswerTheDocumentDoesNotAllowIsAViolation(string method, string path, int status, string mediaType, string body, string expected)
    {
        var validator = new ContractValidator(fixture.Document);
        using var response = new HttpResponseMessage((System.Net.HttpStatusCode)status) { Content = new StringContent(body, Encoding.UTF8, mediaType) };

        validator.Check(new HttpMethod(method), path, status, response.Headers, response.Content.Headers, Encoding.UTF8.GetBytes(body));

        Assert.Contains(validator.Violations, v => v.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void AnAnswerAsDocumentedIsNone()
    {
        var validator = new ContractValidator(fixture.Document);
        const string body = """{"type":"https://orchestrator.dev/problems/not-found","title":"No such run","status":404,"detail":"Run 'x' does not exist.","request_id":"r-1","trace_id":"0123456789abcdef0123456789abcdef"}""";
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.NotFound) { Content = new StringContent(body, Encoding.UTF8, "application/problem+json") };

        validator.Check(HttpMethod.Get, "/api/runs/run-1", 404, response.Headers, response.Content.Headers, Encoding.UTF8.GetBytes(body));

        Assert.Empty(validator.Violations);
    }
}
