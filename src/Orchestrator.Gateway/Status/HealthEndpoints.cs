using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orchestrator.Gateway.Instances;

namespace Orchestrator.Gateway.Status;

public static class HealthEndpoints
{
    /// <summary>Checks with this tag gate <c>/health/ready</c>; <c>/health/live</c> runs none.</summary>
    public const string ReadyTag = "ready";

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/health/live", new HealthCheckOptions
        {
            Predicate = static _ => false,
            ResponseWriter = HealthResponseWriter.WriteAsync,
        }).WithTags("Health").AllowAnonymous();
        routes.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = static check => check.Tags.Contains(ReadyTag),
            ResponseWriter = HealthResponseWriter.WriteAsync,
        }).WithTags("Health").AllowAnonymous();
        return routes;
    }
}

/// <summary>Writes a health report as JSON: the overall status and each check's status and reason.</summary>
internal static class HealthResponseWriter
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var body = new HealthResponse(
            report.Status.ToString(),
            report.Entries.ToDictionary(
                static e => e.Key,
                static e => new HealthCheckResponse(e.Value.Status.ToString(), e.Value.Description ?? e.Value.Exception?.Message, e.Value.Duration.TotalMilliseconds)));
        return context.Response.WriteAsJsonAsync(body, InstanceEndpoints.Json);
    }
}

public sealed record HealthResponse(string Status, IReadOnlyDictionary<string, HealthCheckResponse> Checks);

public sealed record HealthCheckResponse(string Status, string? Description, double DurationMs);
