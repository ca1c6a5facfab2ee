using Orchestrator.Fly.Emulator;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// Runs the Fly emulator inside the silo process (dev profile, or postgres without a Fly token). Registered
/// before the silo, so it starts first and stops after the silo has deactivated its grains. Before it starts,
/// the host is given what the emulator's machines need (see <see cref="MachinePrerequisites"/>).
/// </summary>
internal sealed class EmbeddedFlyEmulator(FlyEmulatorOptions options, MachinePrerequisites prerequisites, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private FlyEmulator? _emulator;

    /// <summary>The emulator's settings: the <c>FlyEmulator</c> section, at the URL the silo's Fly client was given.</summary>
    public static FlyEmulatorOptions ReadOptions(IConfiguration configuration, MachineSettings settings)
    {
        var options = new FlyEmulatorOptions();
        configuration.GetSection(FlyEmulatorOptions.SectionName).Bind(options);
        options.Url = settings.EmulatorUrl!.ToString().TrimEnd('/');
        return options;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await prerequisites.EnsureAsync(cancellationToken);
        _emulator = await FlyEmulator.StartAsync(options, loggers, cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _emulator, null) is { } emulator)
        {
            await emulator.DisposeAsync();
        }
    }
}
