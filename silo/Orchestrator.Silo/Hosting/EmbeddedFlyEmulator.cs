using Orchestrator.Fly.Emulator;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// Runs the Fly emulator inside the silo process (dev profile, or postgres without a Fly token). Registered
/// before the silo, so it starts first and stops after the silo has deactivated its grains.
/// </summary>
internal sealed class EmbeddedFlyEmulator(MachineSettings settings, IConfiguration configuration, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private FlyEmulator? _emulator;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new FlyEmulatorOptions();
        configuration.GetSection(FlyEmulatorOptions.SectionName).Bind(options);
        options.Url = settings.EmulatorUrl!.ToString().TrimEnd('/');
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
