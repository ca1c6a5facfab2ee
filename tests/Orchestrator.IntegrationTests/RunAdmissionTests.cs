using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;
using Orchestrator.Grains.Tenants;
using Orchestrator.Grains.Workflows;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Run admission lives in the run grains: every start counts against its tenant, whoever calls (here an Orleans
/// client, not the HTTP gateway), child runs included, and nesting is bounded by the tenant's max_run_depth.
/// </summary>
public sealed class RunAdmissionTests(ExecFixture fixture) : IClassFixture<ExecFixture>
{
    private IClusterClient Client => fixture.Silo.Client;

    [Fact]
    public async Task AWorkflowThatStartsItselfEndsAtTheDepthLimit()
    {
        const string Tenant = "depth-default";
        await Client.GetGrain<ITenantGrain>(Tenant).CreateAsync("Depth", quotas: null);
        await RegisterAsync(Tenant, """
            name: forever
            steps:
              - id: again
                uses: workflow
                with: { workflow: forever }
            """);

        var root = await RunAsync(Tenant, "forever");

        Assert.Equal(RunStatuses.Failed, root.Status);
        // Depth 0 (this run) to 5 (the default max_run_depth): six runs, and the sixth could not start a seventh.
        var runs = await Client.GetGrain<IRunQueryGrain>(0).ListAsync(Tenant, 100, null, null, "forever");
        Assert.Equal(6, runs.Items.Count);
        Assert.All(runs.Items, r => Assert.Equal(RunStatuses.Failed, r.Status));
        Assert.Contains("max_run_depth", root.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATenantsDepthQuotaIsItsOwn()
    {
        const string Tenant = "depth-one";
        await Client.GetGrain<ITenantGrain>(Tenant).CreateAsync("Depth one", new TenantQuotas(MaxRunDepth: 1));
        await RegisterAsync(Tenant, """
            name: leaf
            steps:
              - id: nap
                uses: sleep
                with: { duration: 1ms }
            """);
        await RegisterAsync(Tenant, """
            name: middle
            steps:
              - id: child
                uses: workflow
                with: { workflow: leaf }
            """);
        await RegisterAsync(Tenant, """
            name: top
            steps:
              - id: child
                uses: workflow
                with: { workflow: middle }
            """);

        Assert.Equal(RunStatuses.Succeeded, (await RunAsync(Tenant, "middle")).Status);
        var top = await RunAsync(Tenant, "top");
        Assert.Equal(RunStatuses.Failed, top.Status);
        Assert.Contains("allows runs to nest 1 deep", top.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChildRunsCountAgainstTheTenantsLiveRunsAndAnOrleansClientIsRefusedToo()
    {
        const string Tenant = "one-live-run";
        await Client.GetGrain<ITenantGrain>(Tenant).CreateAsync("One", new TenantQuotas(MaxConcurrentRuns: 1));
        await RegisterAsync(Tenant, """
            name: waits
            steps:
              - id: hold
                uses: wait_for_signal
                with: { name: go, timeout: 10m }
            """);
        await RegisterAsync(Tenant, """
            name: parent
            steps:
              - id: child
                uses: workflow
                with: { workflow: waits }
            """);

        // The parent takes the only place: its child is refused, so the parent fails instead of waiting forever.
        var parent = await RunAsync(Tenant, "parent");
        Assert.Equal(RunStatuses.Failed, parent.Status);
        Assert.Contains("max_concurrent_runs", parent.Error, StringComparison.Ordinal);

        var holder = Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(Tenant, RunIds.New()));
        await holder.StartAsync(new RunStartRequest("waits", null, "{}"));
        var refused = Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(Tenant, RunIds.New()));
        var exception = await Assert.ThrowsAsync<QuotaExceededException>(() => refused.StartAsync(new RunStartRequest("waits", null, "{}")));
        Assert.Equal(QuotaExceededException.MaxConcurrentRuns, exception.Quota);
        Assert.Null(await refused.GetAsync());

        // Repeating the start that happened is answered with its run, quota or not.
        Assert.Equal(RunStatuses.Waiting, (await holder.StartAsync(new RunStartRequest("waits", null, "{}"))).Status);
        await holder.CancelAsync();
    }

    private async Task RegisterAsync(string tenant, string yaml)
    {
        var name = yaml.Split('\n')[0]["name: ".Length..].Trim();
        await Client.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(tenant, name)).RegisterAsync(yaml);
    }

    private async Task<RunView> RunAsync(string tenant, string workflow)
    {
        var grain = Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(tenant, RunIds.New()));
        await grain.StartAsync(new RunStartRequest(workflow, null, "{}"));
        RunView? view = null;
        await Wait.UntilAsync(async () => (view = await grain.GetAsync()) is { } v && RunStatuses.IsTerminal(v.Status), $"the {workflow} run to end");
        return view!;
    }
}
