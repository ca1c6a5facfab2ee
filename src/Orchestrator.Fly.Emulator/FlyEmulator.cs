using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Orchestrator.Fly.Emulator;

/// <summary>
/// The Fly Machines API in-process, on real Kestrel: point a Fly client at <see cref="BaseAddress"/>
/// (it plays <c>https://api.machines.dev</c>; paths start with <c>/v1</c>) with <see cref="ApiToken"/>.
/// Disposing it stops every machine it started.
/// </summary>
public sealed class FlyEmulator : IAsyncDisposable
{
    /// <summary>The token <see cref="ApiToken"/> reports when any token is accepted.</summary>
    public const string DefaultToken = "fly-emulator";

    /// <summary>How long <see cref="KillMachineProcessAsync"/> waits for the killed process's exit to be recorded.</summary>
    internal static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;
    private int _disposed;

    private FlyEmulator(WebApplication app, Uri baseAddress, string apiToken)
    {
        _app = app;
        BaseAddress = baseAddress;
        ApiToken = apiToken;
        FaultInjection = app.Services.GetRequiredService<FaultInjection>();
        Requests = app.Services.GetRequiredService<FlyRequestCounter>();
        DataDirectory = app.Services.GetRequiredService<Backend.EmulatorPaths>().Root;
    }

    public Uri BaseAddress { get; }

    /// <summary>A token the emulator accepts: <see cref="FlyEmulatorOptions.RequiredToken"/> when set.</summary>
    public string ApiToken { get; }

    /// <summary>
    /// Faults to inject: API-level ones (<see cref="FaultInjection.Add"/>: errors, latency, ambiguous
    /// successes) and failing machine starts (<see cref="FaultInjection.AddStartFault"/>).
    /// </summary>
    public FaultInjection FaultInjection { get; }

    /// <summary>How many Fly API requests the emulator received, per operation id (e.g. <c>Requests.Count("Machines_show")</c>).</summary>
    public FlyRequestCounter Requests { get; }

    /// <summary>Where machine roots and volumes live (<c>volumes/{id}</c>, <c>machines/{id}/root</c>).</summary>
    public string DataDirectory { get; }

    /// <summary>
    /// Ends a started machine's main process (its sshd) with <paramref name="signal"/>, as a crash would, and
    /// returns once the emulator has recorded the exit: an <c>exit</c> event (<c>requested_stop</c> false) is the
    /// machine's newest, and its restart policy has decided. <c>restart.policy</c> "always" restarts it;
    /// "on-failure" (Fly's default) restarts it when the exit code is non-zero, up to <c>restart.max_retries</c>
    /// (default 10) within 5 minutes, then lets it stop; "no" stops it. The machine's sshd exits with
    /// 128 + <paramref name="signal"/> on SIGKILL (9), and with 0 on SIGTERM (15): a clean exit.
    /// Wait for the resulting state with the Fly API's <c>/wait</c>.
    /// </summary>
    /// <param name="machineId">The Fly machine id.</param>
    /// <param name="signal">The signal number, 1 to 64; 9 (SIGKILL) by default.</param>
    /// <param name="cancellationToken">Ends the wait for the exit to be recorded.</param>
    /// <exception cref="InvalidOperationException">The machine does not exist or is not started, or its process did not exit within 30 s.</exception>
    public async Task KillMachineProcessAsync(string machineId, int signal = 9, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineId);
        ArgumentOutOfRangeException.ThrowIfLessThan(signal, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(signal, 64);
        var backend = _app.Services.GetRequiredService<Backend.FlyBackend>();
        if (await backend.KillMainProcessAsync(machineId, signal, KillTimeout, cancellationToken) is { } failure)
        {
            throw new InvalidOperationException(failure.Message);
        }
    }

    /// <summary>Starts the emulator on <see cref="FlyEmulatorOptions.Url"/>, or a free loopback port.</summary>
    /// <exception cref="OptionsValidationException">A setting is invalid; the message names each one.</exception>
    public static Task<FlyEmulator> StartAsync(FlyEmulatorOptions options, CancellationToken cancellationToken = default) =>
        StartAsync(options, loggerFactory: null, configureServices: null, cancellationToken);

    /// <summary>As <see cref="StartAsync(FlyEmulatorOptions, CancellationToken)"/>, logging to <paramref name="loggerFactory"/> (e.g. the host's).</summary>
    public static Task<FlyEmulator> StartAsync(FlyEmulatorOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default) =>
        StartAsync(options, loggerFactory, configureServices: null, cancellationToken);

    internal static async Task<FlyEmulator> StartAsync(
        FlyEmulatorOptions options, ILoggerFactory? loggerFactory, Action<IServiceCollection>? configureServices, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var validation = new FlyEmulatorOptionsValidator().Validate(Options.DefaultName, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(FlyEmulatorOptions), validation.Failures);
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(FlyEmulator).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls(options.Url ?? "http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (loggerFactory is not null)
        {
            builder.Services.AddSingleton(loggerFactory);
        }

        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddFlyEmulatorServices();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapFlyEmulator();
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new FlyEmulator(app, new Uri(address.TrimEnd('/') + "/"), options.RequiredToken ?? DefaultToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _app.StopAsync(CancellationToken.None);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }
}
