using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orchestrator.Fly.Emulator.Api;
using Orchestrator.Fly.Emulator.Backend;
using Orchestrator.Fly.Emulator.Http;
using Orchestrator.Fly.Emulator.Runtime;
using Orchestrator.Sandbox;

namespace Orchestrator.Fly.Emulator;

/// <summary>The emulator's services and HTTP pipeline, shared by the standalone program and <see cref="FlyEmulator"/>.</summary>
internal static class EmulatorComposition
{
    /// <summary>Everything but the options themselves, which each host registers its own way.</summary>
    public static IServiceCollection AddFlyEmulatorServices(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(o => FlyJson.Configure(o.SerializerOptions));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IValidateOptions<FlyEmulatorOptions>, FlyEmulatorOptionsValidator>();
        services.AddSingleton<EmulatorPaths>();
        services.AddSingleton<FlyBackend>();
        services.AddSingleton<RateLimiter>();
        services.AddSingleton(sp => new FaultInjection(sp.GetRequiredService<IOptions<FlyEmulatorOptions>>().Value.Seed));
        services.AddSingleton<FlyRequestCounter>();
        services.AddSingleton<IMachineRuntime>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<FlyEmulatorOptions>>().Value;
            var time = sp.GetRequiredService<TimeProvider>();
            var sandboxes = new MachineSandboxes(
                FlyEmulatorSandboxOptions.For(options, sp.GetRequiredService<EmulatorPaths>().Sandboxes),
                sp.GetRequiredService<ILogger<MachineSandboxes>>(),
                time);
            return new SandboxMachineRuntime(sandboxes, time);
        });
        services.AddHostedService<EmulatorLifetime>();
        return services;
    }

    public static WebApplication MapFlyEmulator(this WebApplication app)
    {
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseRouting();
        app.UseMiddleware<RequestCountingMiddleware>();
        app.UseMiddleware<FlyAuthMiddleware>();
        app.UseMiddleware<FaultInjectionMiddleware>();
        app.UseMiddleware<RateLimitMiddleware>();

        var v1 = app.MapGroup("/v1");
        v1.MapAppsApi();
        v1.MapMachinesApi();
        v1.MapVolumesApi();
        v1.MapNetworkApi();
        app.MapAdminApi();
        app.MapFallback(() => FlyResults.Error(FlyErrors.RouteNotFound));
        return app;
    }
}

/// <summary>
/// Start: the data directory and the backend exist before the first request. Stop: every machine
/// is stopped and the sandboxes disposed (no process outlives the emulator), then a temporary
/// data directory is removed.
/// </summary>
internal sealed partial class EmulatorLifetime(
    FlyBackend backend, IMachineRuntime runtime, EmulatorPaths paths, ILogger<EmulatorLifetime> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogStarted(logger, paths.Root);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await backend.ShutdownAsync(cancellationToken);
        await runtime.DisposeAsync();
        if (paths.IsTemporary && Directory.Exists(paths.Root))
        {
            try
            {
                Directory.Delete(paths.Root, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogCleanupFailed(logger, paths.Root, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Fly emulator data directory: {Directory}")]
    private static partial void LogStarted(ILogger logger, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove the emulator's temporary data directory {Directory}")]
    private static partial void LogCleanupFailed(ILogger logger, string directory, Exception exception);
}
