using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Orchestrator.Fly.Emulator.Api;

namespace Orchestrator.Fly.Emulator.Http;

/// <summary>Marks the emulator's own endpoints, which Fly's auth, faults and rate limits leave alone.</summary>
internal sealed class EmulatorAdminEndpoint;

internal static class RequestItems
{
    private const string OwnerKey = "fly-emulator.owner";

    public static string Owner(HttpContext context) => context.Items[OwnerKey] as string ?? "anonymous@tokens.fly.io";

    public static void SetOwner(HttpContext context, string owner) => context.Items[OwnerKey] = owner;

    public static string? Operation(HttpContext context) =>
        context.GetEndpoint() is { } endpoint && endpoint.Metadata.GetMetadata<EmulatorAdminEndpoint>() is null
            ? endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName
            : null;

    public static async Task WriteAsync(HttpContext context, FlyFailure failure)
    {
        context.Response.StatusCode = failure.StatusCode;
        await context.Response.WriteAsJsonAsync(failure.Body, failure.Body.GetType(), FlyJson.Options, context.RequestAborted);
    }
}

/// <summary>
/// Outermost: every response, including errors and 404s, carries a <c>fly-request-id</c> (fly-go puts it
/// in its errors), and an unhandled exception becomes a 500 in Fly's shape instead of an empty body.
/// </summary>
internal sealed partial class RequestIdMiddleware(RequestDelegate next, TimeProvider time, IOptions<FlyEmulatorOptions> options, ILogger<RequestIdMiddleware> logger)
{
    public const string Header = "fly-request-id";

    public async Task InvokeAsync(HttpContext context)
    {
        var id = $"{FlyIds.Ulid(time.GetUtcNow())}-{options.Value.DefaultRegion}";
        context.Response.Headers[Header] = id;
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; there is no one to answer.
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            LogUnhandled(logger, context.Request.Method, context.Request.Path, ex);
            context.Response.Clear();
            context.Response.Headers[Header] = id;
            await RequestItems.WriteAsync(context, FlyFailure.Error(500, "internal: " + ex.Message));
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, string method, string path, Exception exception);
}

/// <summary>Counts every request routed to a Fly operation, before anything can refuse it (<see cref="FlyRequestCounter"/>).</summary>
internal sealed class RequestCountingMiddleware(RequestDelegate next, FlyRequestCounter counter)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (RequestItems.Operation(context) is { } operation)
        {
            counter.Record(operation);
        }

        return next(context);
    }
}

/// <summary>
/// <c>Authorization: Bearer x</c> or <c>FlyV1 x</c> (a doubled scheme, as in the docs' MCP guide, is
/// stripped too). Any non-empty token passes unless <see cref="FlyEmulatorOptions.RequiredToken"/> is set.
/// </summary>
internal sealed class FlyAuthMiddleware(RequestDelegate next, IOptions<FlyEmulatorOptions> options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<EmulatorAdminEndpoint>() is not null)
        {
            await next(context);
            return;
        }

        var token = Token(context.Request.Headers.Authorization.ToString());
        var required = options.Value.RequiredToken;
        var accepted = token.Length > 0
            && (required is null || token.Split(',', StringSplitOptions.TrimEntries).Contains(required, StringComparer.Ordinal));
        if (!accepted)
        {
            await RequestItems.WriteAsync(context, FlyErrors.Unauthenticated);
            return;
        }

        // Leases name their holder; Fly shows token holders as <id>@tokens.fly.io.
        var owner = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)).AsSpan(0, 6)) + "@tokens.fly.io";
        RequestItems.SetOwner(context, owner);
        await next(context);
    }

    internal static string Token(string header)
    {
        var value = header.Trim();
        var stripped = true;
        while (stripped)
        {
            stripped = false;
            foreach (var scheme in (string[])["Bearer ", "FlyV1 "])
            {
                if (value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
                {
                    value = value[scheme.Length..].TrimStart();
                    stripped = true;
                }
            }
        }

        return value;
    }
}

/// <summary>
/// Injected faults: latency first, then either a refusal before the call runs, or (after-success mode)
/// the call runs and its answer is swapped for the error, so the caller cannot tell it happened.
/// </summary>
internal sealed class FaultInjectionMiddleware(RequestDelegate next, FaultInjection faults, TimeProvider time)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (RequestItems.Operation(context) is not { } operation)
        {
            await next(context);
            return;
        }

        var decision = faults.Decide(operation);
        if (decision.Latency > TimeSpan.Zero)
        {
            await Task.Delay(decision.Latency, time, context.RequestAborted);
        }

        if (decision.Failure is not { } rule)
        {
            await next(context);
            return;
        }

        if (rule.Mode == FaultMode.AfterSuccess)
        {
            var original = context.Response.Body;
            using var discarded = new MemoryStream();
            context.Response.Body = discarded;
            try
            {
                await next(context);
            }
            finally
            {
                context.Response.Body = original;
            }

            var requestId = context.Response.Headers[RequestIdMiddleware.Header];
            context.Response.Clear();
            context.Response.Headers[RequestIdMiddleware.Header] = requestId;
        }

        await WriteFaultAsync(context, rule);
    }

    private static Task WriteFaultAsync(HttpContext context, FaultRule rule)
    {
        var status = rule.Status!.Value;
        if (status == 429)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        var message = rule.Message ?? status switch
        {
            408 => "deadline_exceeded: request timed out",
            429 => "rate limit exceeded",
            500 => "internal: injected fault",
            502 => "bad gateway",
            503 => "service unavailable",
            504 => "gateway timeout",
            _ => "injected fault",
        };
        return RequestItems.WriteAsync(context, FlyFailure.Error(status, message, rule.ErrorCode));
    }
}

/// <summary>429 with <c>Retry-After</c> (whole seconds, at least 1) once a call's bucket is empty.</summary>
internal sealed class RateLimitMiddleware(RequestDelegate next, RateLimiter limiter)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (RequestItems.Operation(context) is not { } operation)
        {
            await next(context);
            return;
        }

        var scope = context.Request.RouteValues.TryGetValue("machine_id", out var machine) && machine is string machineId
            ? machineId
            : context.Request.RouteValues.TryGetValue("app_name", out var app) && app is string appName ? appName : "org";
        if (limiter.TryAcquire(operation, scope, out var retryAfter))
        {
            await next(context);
            return;
        }

        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await RequestItems.WriteAsync(context, FlyErrors.RateLimited());
    }
}
