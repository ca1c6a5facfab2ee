using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Orchestrator.Gateway.Status;

/// <summary>
/// Ready when the cluster answers a management call through this process's cluster client: for a
/// standalone gateway that proves it found a gateway silo; co-hosted it proves the silo is serving.
/// </summary>
public sealed class ClusterHealthCheck(IClusterClient cluster) : IHealthCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var hosts = await cluster.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, cancellationToken).WaitAsync(Timeout, cancellationToken);
            return hosts.Count > 0
                ? HealthCheckResult.Healthy($"{hosts.Count} active silo(s)")
                : HealthCheckResult.Unhealthy("no active silo");
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException or SiloUnavailableException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy($"cluster not reachable: {ex.Message}");
        }
    }
}
