using System.Diagnostics;
using System.Text;

namespace Orchestrator.Workflows.Tests;

/// <summary>Definitions written to hurt the reader: each is a located error, found quickly, never an exception.</summary>
public sealed class HostileDefinitionTests
{
    [Fact]
    public void BillionLaughsIsRefusedWithoutExpandingTheAliases()
    {
        var yaml = new StringBuilder("name: lol\nsteps:\n  - id: a\n    uses: sleep\n    with:\n      duration: 1s\n      l0: &l0 \"lol\"\n");
        for (var level = 1; level <= 9; level++)
        {
            yaml.Append("      l").Append(level).Append(": &l").Append(level).Append(" [").AppendJoin(", ", Enumerable.Repeat($"*l{level - 1}", 9)).Append("]\n");
        }

        var clock = Stopwatch.StartNew();
        var result = WorkflowDefinitionReader.Read(yaml.ToString(), WorkflowFormat.Yaml);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"reading took {clock.Elapsed}");
        var error = Assert.Single(result.Errors);
        Assert.Equal(WorkflowErrorCodes.YamlSyntax, error.Code);
        Assert.Contains("aliases", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("name: [unclosed\nsteps:\n")]
    [InlineData("name: {unclosed\n")]
    public void UnfinishedFlowCollectionsAreSyntaxErrors(string yaml)
    {
        var result = WorkflowDefinitionReader.Read(yaml, WorkflowFormat.Yaml);

        Assert.Equal(WorkflowErrorCodes.YamlSyntax, Assert.Single(result.Errors).Code);
    }

    [Theory]
    [InlineData("""{"name":"\uD800","steps":[]}""")]
    [InlineData("""{"\uDC00":1}""")]
    public void LoneSurrogateEscapesAreSyntaxErrors(string json)
    {
        var result = WorkflowDefinitionReader.Read(json, WorkflowFormat.Json);

        var error = Assert.Single(result.Errors);
        Assert.Equal(WorkflowErrorCodes.JsonSyntax, error.Code);
        Assert.Equal(1, error.Line);
    }
}
