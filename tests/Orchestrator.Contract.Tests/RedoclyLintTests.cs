using Orchestrator.Testing;

namespace Orchestrator.Contract.Tests;

/// <summary>The live document, linted by Redocly CLI with its recommended rules (installed by .ci/test from .ci/contract).</summary>
[Collection(ContractCluster.Name)]
public sealed class RedoclyLintTests(ContractFixture fixture)
{
    [Fact]
    public async Task TheDocumentHasNoLintErrors()
    {
        var redocly = Path.Combine(Repository.Root, ".ci", "contract", "node_modules", ".bin", "redocly");
        Assert.True(File.Exists(redocly), $"Redocly CLI is not installed: run 'npm ci --prefix .ci/contract' ({redocly} is missing).");
        var file = Path.Combine(Path.GetTempPath(), $"orchestrator-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, fixture.Document);
        try
        {
            var result = await ToolProcess.RunAsync(
                redocly,
                ["lint", file, "--extends=recommended", "--format=stylish"],
                TimeSpan.FromMinutes(2),
                environment: new Dictionary<string, string?> { ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true", ["NO_COLOR"] = "1" });

            Assert.True(result.ExitCode == 0, $"redocly lint failed ({result.ExitCode}):\n{result.Output}");
            Assert.Contains("Your API description is valid", result.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
