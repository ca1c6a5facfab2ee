using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains;
using Orleans.TestingHost;

namespace Orchestrator.Testing;

/// <summary>
/// xUnit fixture: an in-process Orleans cluster of two silos with in-memory storage and reminders,
/// registered the way the dev profile registers them. Share it through a collection defined in the
/// test assembly (xUnit looks for definitions there only); grain keys must then be unique per test.
/// </summary>
public sealed class InMemoryClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 2);
        builder.ConfigureHost(host => host.Services.AddSingleton(TimeProvider.System));
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(StorageNames.Orchestrator);
            silo.AddMemoryGrainStorage(Orchestrator.Grains.Runs.RunStateGrainStorage.Name);
            silo.UseInMemoryReminderService();
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }
}
