using System.Reflection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Orchestrator.Gateway.Instances;
using Orleans.Configuration;

namespace Orchestrator.Gateway.Status;

public static class VersionEndpoints
{
    public static RouteGroupBuilder MapVersionEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api").WithTags("System");
        api.MapGet("/version", GetVersionAsync).WithName("GetVersion")
            .Produces<VersionResponse>()
            .WithSummary("Get the version")
            .WithDescription("The gateway's version, the cluster it serves and how many silos are active. Any key, tenant or admin.");
        return api;
    }

    internal static async Task<JsonHttpResult<VersionResponse>> GetVersionAsync(
        IClusterClient cluster, IOptions<ClusterOptions> clusterOptions, CancellationToken cancellationToken)
    {
        var management = cluster.GetGrain<IManagementGrain>(0);
        var hosts = await management.GetHosts(onlyActive: true, cancellationToken);
        return TypedResults.Json(new VersionResponse(ProductVersion, clusterOptions.Value.ClusterId, clusterOptions.Value.ServiceId, hosts.Count), InstanceEndpoints.Json);
    }

    /// <summary>The informational version without the source-revision suffix the SDK appends after '+'.</summary>
    public static string ProductVersion { get; } =
        typeof(VersionEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(VersionEndpoints).Assembly.GetName().Version?.ToString()
        ?? "0.0.0";
}

/// <summary>Body of <c>GET /api/version</c>.</summary>
public sealed record VersionResponse(string Version, string ClusterId, string ServiceId, int SiloCount);
