using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.Grains.Runs;
using Orchestrator.Testing;

namespace Orchestrator.Runs.Tests;

public sealed class RunStoreRegistrationTests(PostgresDatabaseFixture fixture) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task NoConnectionStringMeansTheInMemoryStores()
    {
        await using var services = new ServiceCollection().AddLogging().AddRunStores(null).BuildServiceProvider();
        Assert.IsType<InMemoryRunEventStore>(services.GetRequiredService<IRunEventStore>());
        Assert.IsType<InMemoryRunIndex>(services.GetRequiredService<IRunIndex>());
        Assert.Same(services.GetRequiredService<IRunEventStore>(), services.GetRequiredService<IRunEventStore>());
    }

    [Fact]
    public async Task AConnectionStringMeansPostgresAndStoppingTheHostFlushesTheQueue()
    {
        await (await RunDatabase.MigrateAsync(fixture.ConnectionString)).DisposeAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddRunStores(fixture.ConnectionString, o => o.FlushDelay = TimeSpan.FromHours(1));
        var host = builder.Build();
        await using var disposeHost = (IAsyncDisposable)host;
        await host.StartAsync();

        var store = host.Services.GetRequiredService<IRunEventStore>();
        Assert.IsType<PostgresRunEventStore>(store);
        Assert.IsType<PostgresRunIndex>(host.Services.GetRequiredService<IRunIndex>());
        var run = $"tenant/{Guid.NewGuid():N}";
        await store.AppendAsync(new RunEvent(run, 1, DateTimeOffset.UtcNow, RunEventKinds.RunStarted, null, 0, "{}"));
        Assert.Equal(0, await store.GetLastSequenceAsync(run)); // queued, waiting for a delay that never ends

        await host.StopAsync();
        Assert.Equal(1, await store.GetLastSequenceAsync(run));
    }
}
