using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;
using Orchestrator.Grains.Tenants;
using Orchestrator.Grains.Workflows;

namespace Orchestrator.Grains.Tests;

/// <summary>Registers workflows and starts runs in a tenant of its own, and waits for what the runs do.</summary>
internal sealed class RunDriver(FakeTimeClusterFixture fixture, string? tenant = null)
{
    public string Tenant { get; } = tenant ?? $"t-{Guid.NewGuid():N}"[..30];

    public IClusterClient Client => fixture.Client;

    public async Task RegisterAsync(string yaml)
    {
        var name = yaml.Split('\n')[0].Replace("name:", "", StringComparison.Ordinal).Trim();
        await Client.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(Tenant, name)).RegisterAsync(yaml);
    }

    /// <summary>Registers <paramref name="yaml"/> (its first line names it) and starts a run of it.</summary>
    public async Task<IWorkflowRunGrain> StartAsync(string yaml, string inputsJson = "{}")
    {
        await RegisterAsync(yaml);
        var name = yaml.Split('\n')[0].Replace("name:", "", StringComparison.Ordinal).Trim();
        var run = Run(RunIds.New());
        await run.StartAsync(new RunStartRequest(name, null, inputsJson));
        return run;
    }

    public IWorkflowRunGrain Run(string runId) => Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(Tenant, runId));

    public static Task<RunView> UntilStepAsync(IWorkflowRunGrain run, string stepId, string status) =>
        Eventually.UntilAsync(
            async () => (await run.GetAsync())!,
            v => v.Steps.Single(s => s.Id == stepId).Status == status,
            $"step '{stepId}' to be {status}");

    public static Task<RunView> UntilAsync(IWorkflowRunGrain run, Func<RunView, bool> condition, string what) =>
        Eventually.UntilAsync(async () => (await run.GetAsync())!, condition, what);

    public static Task<RunView> UntilEndedAsync(IWorkflowRunGrain run) =>
        Eventually.UntilAsync(async () => (await run.GetAsync())!, v => RunStatuses.IsTerminal(v.Status), "the run to end");

    /// <summary>
    /// Waits for the run to end while nudging the clock a second at a time: a timer or reminder armed just after the
    /// test's last jump counts its due time from the clock as it found it, so it needs the clock to move once more.
    /// </summary>
    public Task<RunView> DriveUntilEndedAsync(IWorkflowRunGrain run) =>
        Eventually.DriveAsync(fixture.Clock, TimeSpan.FromSeconds(1), async () => (await run.GetAsync())!, v => RunStatuses.IsTerminal(v.Status), "the run to end");

    /// <summary>As <see cref="DriveUntilEndedAsync"/>, until step <paramref name="stepId"/> is <paramref name="status"/>.</summary>
    public Task<RunView> DriveUntilStepAsync(IWorkflowRunGrain run, string stepId, string status) =>
        Eventually.DriveAsync(fixture.Clock, TimeSpan.FromSeconds(1), async () => (await run.GetAsync())!, v => v.Steps.Single(s => s.Id == stepId).Status == status, $"step '{stepId}' to be {status}");

    /// <summary>The run's "wake" reminder as the reminder table holds it, or null.</summary>
    public async Task<ReminderEntry?> WakeReminderAsync(IWorkflowRunGrain run)
    {
        var table = fixture.SiloServices.GetRequiredService<IReminderTable>();
        var rows = await table.ReadRows(run.GetGrainId());
        return rows.Reminders.SingleOrDefault(r => r.ReminderName == "wake");
    }

    public Task<TenantInfo> CreateTenantAsync(TenantQuotas quotas) =>
        Client.GetGrain<ITenantGrain>(Tenant).CreateAsync("Grain tests", quotas);
}
