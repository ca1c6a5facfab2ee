using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
using Orchestrator.Gateway.Auth;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.Status;
using Orchestrator.Telemetry;

namespace Orchestrator.Gateway.Limits;

/// <summary>Rate limits per API key and request timeouts, answered as problem details.</summary>
public static partial class ApiLimits
{
    public const string RateLimited = InstanceProblems.TypeBase + "rate-limited";
    public const string RequestTimedOut = InstanceProblems.TypeBase + "request-timeout";

    public static IServiceCollection AddOrchestratorLimits(this IServiceCollection services, HttpLimitSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton(settings);
        services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => Partition(context, settings));
            options.OnRejected = OnRejectedAsync;
        });
        services.AddRequestTimeouts(options =>
        {
            options.DefaultPolicy = new RequestTimeoutPolicy
            {
                Timeout = settings.RequestTimeout,
                TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
                WriteTimeoutResponse = context => MiddlewareProblems.WriteAsync(
                    context,
                    StatusCodes.Status504GatewayTimeout,
                    RequestTimedOut,
                    "The request timed out",
                    $"The request did not finish within {settings.RequestTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; what it started may still complete: read the object's state before retrying."),
            };
        });
        return services;
    }

    /// <summary>
    /// One bucket per key, so one busy client cannot starve another; requests without a valid key share
    /// a bucket per client address (which also slows down key guessing). Health probes and the API
    /// description are never limited.
    /// </summary>
    private static RateLimitPartition<string> Partition(HttpContext context, HttpLimitSettings settings)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/health") || path.StartsWithSegments("/openapi") || path.StartsWithSegments("/docs"))
        {
            return RateLimitPartition.GetNoLimiter("unlimited");
        }

        var key = context.User.KeyId() is { } keyId
            ? (context.User.FindFirst(Callers.TenantClaim)?.Value ?? "admin") + "/" + keyId
            : "address/" + (context.Connection.RemoteIpAddress ?? IPAddress.None);
        return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = settings.Burst,
            TokensPerPeriod = settings.PermitsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static async ValueTask OnRejectedAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var logger = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ApiLimits).FullName!);
        LogRejected(logger, context.HttpContext.User.KeyId() ?? "(no key)", context.HttpContext.Request.Path);
        context.HttpContext.RequestServices.GetService<OrchestratorMetrics>()?.RateLimitRejected(context.HttpContext.User.KeyId() is null ? "per-address" : "per-key");
        await MiddlewareProblems.WriteAsync(
            context.HttpContext,
            StatusCodes.Status429TooManyRequests,
            RateLimited,
            "Too many requests",
            $"This key's request rate is over its limit; retry after {seconds.ToString(CultureInfo.InvariantCulture)} s.",
            new Dictionary<string, object?> { ["retry_after_seconds"] = seconds });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rate limit reached for key {KeyId} on {Path}")]
    private static partial void LogRejected(ILogger logger, string keyId, string path);
}
