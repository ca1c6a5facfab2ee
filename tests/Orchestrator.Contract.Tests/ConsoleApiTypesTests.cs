using System.Text.Json.Nodes;

namespace Orchestrator.Contract.Tests;

/// <summary>
/// The web console builds its API types (openapi-typescript) from src/Orchestrator.Web/openapi.json and type-checks
/// against them in its build. That copy must be the live document: an API change then either reaches the console's
/// types (and fails its build where the console no longer fits) or fails here.
/// </summary>
[Collection(ContractCluster.Name)]
public sealed class ConsoleApiTypesTests(ContractFixture fixture)
{
    public const string Refresh = "dotnet run --project tests/Orchestrator.Contract.Export -c Release -- \"$PWD/src/Orchestrator.Web/openapi.json\"";

    [Fact]
    public void TheConsolesCopyOfTheDocumentIsTheLiveDocument()
    {
        var copy = Path.Combine(Repository.Root, "src", "Orchestrator.Web", "openapi.json");
        var live = JsonNode.Parse(fixture.Document);
        var kept = JsonNode.Parse(File.ReadAllText(copy));
        Assert.True(JsonNode.DeepEquals(live, kept), $"src/Orchestrator.Web/openapi.json differs from the live /openapi/v1.json: refresh it with `{Refresh}` and rebuild the console.");
    }
}
