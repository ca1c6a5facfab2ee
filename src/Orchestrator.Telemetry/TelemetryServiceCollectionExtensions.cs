using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Orchestrator.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>Registers <see cref="OrchestratorMetrics"/> (and the meter factory it needs). Safe to call more than once.</summary>
    public static IServiceCollection AddOrchestratorMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<OrchestratorMetrics>();
        return services;
    }
}
