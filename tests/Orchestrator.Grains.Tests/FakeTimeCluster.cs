using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Fly;
using Orchestrator.Fly.Emulator;
using Orchestrator.Grains.Runs;
using Orchestrator.Testing;
using Orleans.Reminders;
using Orleans.TestingHost;

namespace Orchestrator.Grains.Tests;

/// <summary>
/// An in-process silo whose grains live on a <see cref="FakeTimeProvider"/>: the grains' <see cref="TimeProvider"/>
/// (their clock, <c>Task.Delay</c>, grain timers) and the reminder service's clock are the same fake clock, which
/// only the tests move. Orleans' own background loops (membership, messaging, activation collection) stay on real
/// time, so advancing the clock never resumes them inline. Instances are real sandbox machines of the Fly emulator,
/// reached through the production Fly client, which keeps real time: its timeouts and rate limits are about real
/// I/O, and a jump of the fake clock must not time a call out.
/// </summary>
public sealed class FakeTimeClusterFixture : IAsyncLifetime
{
    /// <summary>Where the fake clock starts.</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public FakeTimeProvider Clock { get; } = new(Epoch);

    /// <summary>The tmux side of terminal sessions, faked: the session grain's logic is what these tests drive.</summary>
    public FakeTerminalMachine Terminals { get; } = new();

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public FlyEmulator Emulator { get; private set; } = null!;

    /// <summary>The production Fly client, on real time, pointed at <see cref="Emulator"/>; the silo uses it too.</summary>
    public FlyClientHost Fly { get; private set; } = null!;

    /// <summary>The silo's services (the reminder table, ...).</summary>
    public IServiceProvider SiloServices => Cluster.Silos[0].ServiceProvider;

    public async Task InitializeAsync()
    {
        Emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions
        {
            RateLimitScale = 50,
            TransitionDelay = TimeSpan.FromMilliseconds(50),
            DestroyedRetention = TimeSpan.FromSeconds(1),
        });
        Fly = FlyClientHost.Create(Emulator.BaseAddress, s => s["Fly:RateLimitScale"] = "50");
        await Fly.Provider.CreateAppAsync(FlyClientHost.AppName);

        var settings = new Dictionary<string, string?>
        {
            ["Fly:BaseAddress"] = Emulator.BaseAddress.ToString(),
            ["Fly:ApiToken"] = FlyClientHost.Token,
            ["Fly:AppName"] = FlyClientHost.AppName,
            ["Fly:RateLimitScale"] = "50",
            // The checks' endpoints are local servers on loopback, which http.check refuses by default.
            ["Orchestrator:Workflows:HttpCheck:AllowedNetworks:0"] = "127.0.0.0/8",
        };
        var encryptionKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

        var builder = new InProcessTestClusterBuilder(initialSilosCount: 1);
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Configuration.AddInMemoryCollection(settings);
            // Before the grains' registrations, which only add the system clock when none is registered.
            host.Services.AddSingleton<TimeProvider>(Clock);
            host.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
            host.Services.AddKeyedSingleton<TimeProvider>(ReminderTimeProviderNames.Reminders, Clock);
            host.Services.AddSingleton<Sessions.ITerminalMachine>(Terminals);
            host.Services.AddOrchestratorGrains(host.Configuration, encryptionKey);
            host.Services.AddSingleton<IMachineProvider>(_ => Fly.Provider);
        });
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(StorageNames.Orchestrator);
            silo.AddMemoryGrainStorage(RunStateGrainStorage.Name);
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

        if (Fly is not null)
        {
            await Fly.DisposeAsync();
        }

        if (Emulator is not null)
        {
            await Emulator.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class FakeTimeCluster : ICollectionFixture<FakeTimeClusterFixture>
{
    public const string Name = "fake-time cluster";
}
