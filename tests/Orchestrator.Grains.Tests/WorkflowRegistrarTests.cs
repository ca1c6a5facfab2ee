using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Workflows;
using Orchestrator.Testing;

namespace Orchestrator.Grains.Tests;

/// <summary>
/// An Orleans client registering through the registrar gets the checks the HTTP API makes: definitions are read and
/// validated behind the grain boundary, every error located, and the API's workflow names enforced.
/// </summary>
[Collection(InMemoryCluster.Name)]
public sealed class WorkflowRegistrarTests(InMemoryClusterFixture fixture)
{
    private const string Valid = "name: greet\nsteps:\n  - id: nap\n    uses: sleep\n    with: { duration: 1s }\n";

    private static string NewTenantId() => $"t-{Guid.NewGuid():N}"[..30];

    [Fact]
    public async Task AnInvalidDefinitionIsRefusedWithEveryErrorLocated()
    {
        var tenant = NewTenantId();
        var registrar = fixture.Client.GetGrain<IWorkflowRegistrarGrain>(tenant);

        var error = await Assert.ThrowsAsync<WorkflowInvalidException>(() => registrar.RegisterAsync(
            "name: hello\nsteps:\n  - id: nap\n    uses: slep\n  - id: nap\n    uses: sleep\n    with: { duration: soon }\n",
            WorkflowSourceFormat.Yaml));

        Assert.True(error.Problems.Count >= 2, string.Join("; ", error.Problems));
        Assert.All(error.Problems, p => Assert.True(p.Line > 0 && p.Column > 0, p.ToString()));
        Assert.Contains(error.Problems, p => p.Code == "unknown_step_type" && p.Line == 4);
        Assert.Null(await fixture.Client.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(tenant, "hello")).GetAsync());
    }

    [Fact]
    public async Task ANameTheApiCannotAddressIsRefusedWhereItIsWritten()
    {
        var registrar = fixture.Client.GetGrain<IWorkflowRegistrarGrain>(NewTenantId());

        var error = await Assert.ThrowsAsync<WorkflowInvalidException>(() => registrar.RegisterAsync(
            Valid.Replace("name: greet", "name: Greet_Me", StringComparison.Ordinal)));

        var problem = Assert.Single(error.Problems);
        Assert.Equal(("invalid_name", "name", 1), (problem.Code, problem.Path, problem.Line));
        Assert.Equal("The API's workflow names must be 1 to 63 lowercase letters, digits and '-'; 'Greet_Me' is not one.", problem.Message);
    }

    [Fact]
    public async Task TheFormatGivenIsTheOneRead()
    {
        var registrar = fixture.Client.GetGrain<IWorkflowRegistrarGrain>(NewTenantId());

        // YAML text said to be JSON is a JSON syntax error, as the API answers for that Content-Type.
        var error = await Assert.ThrowsAsync<WorkflowInvalidException>(() => registrar.RegisterAsync(Valid, WorkflowSourceFormat.Json));

        Assert.NotEmpty(error.Problems);
        Assert.DoesNotContain(error.Problems, p => p.Code == "unknown_step_type");
    }

    [Fact]
    public async Task RegisteringStoresTheNextVersionAndRepeatingItCreatesNone()
    {
        var tenant = NewTenantId();
        var registrar = fixture.Client.GetGrain<IWorkflowRegistrarGrain>(tenant);

        var first = await registrar.RegisterAsync(Valid);
        var again = await registrar.RegisterAsync(Valid);
        var second = await registrar.RegisterAsync(Valid.Replace("1s", "2s", StringComparison.Ordinal));

        Assert.Equal(("greet", 1, true), (first.Version.Name, first.Version.Version, first.Created));
        Assert.Equal((1, false), (again.Version.Version, again.Created));
        Assert.Equal((2, true), (second.Version.Version, second.Created));
        var stored = await fixture.Client.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(tenant, "greet")).ListVersionsAsync();
        Assert.Equal([1, 2], stored.Select(v => v.Version));
    }
}
