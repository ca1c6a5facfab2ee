using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;

namespace Orchestrator.Fly.Http;

/// <summary>
/// The Polly pipeline of the Fly HttpClient, outermost first:
/// total timeout → retry (safe calls only) → circuit breaker → Fly rate limiter → per-attempt timeout.
/// </summary>
/// <remarks>
/// The limiter sits inside the retry so that every attempt, retries included, spends a token; and outside the
/// per-attempt timeout so that time spent queueing for a token is not mistaken for a slow answer (which, for a
/// create, would look like an ambiguous failure).
/// </remarks>
internal static partial class FlyResiliencePipeline
{
    internal const string Name = "fly-machines";

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<FlyOptions>>().Value;
        var limiter = services.GetRequiredService<IFlyRateLimiter>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(FlyResiliencePipeline).FullName!);

        pipeline.AddTimeout(new HttpTimeoutStrategyOptions
        {
            Name = "fly-total-timeout",
            TimeoutGenerator = args => ValueTask.FromResult(WaitSeconds(args.Context) is { } wait
                ? options.TotalTimeout + wait
                : options.TotalTimeout),
        });

        if (options.MaxRetryAttempts > 0)
        {
            var retry = new HttpRetryStrategyOptions
            {
                Name = "fly-retry",
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Context, args.Outcome)),
                OnRetry = args =>
                {
                    var request = args.Context.GetRequestMessage();
                    LogRetry(
                        logger,
                        request?.Method.Method ?? "?",
                        request?.RequestUri?.AbsolutePath ?? "?",
                        args.AttemptNumber + 1,
                        args.RetryDelay,
                        args.Outcome.Result is { } response ? ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture) : args.Outcome.Exception?.GetType().Name ?? "?");
                    return ValueTask.CompletedTask;
                },
            };
            // ShouldRetry already refuses unsafe methods, for exceptions too (this extension only looks at
            // responses); kept so the intent reads the same as everywhere else.
            retry.DisableForUnsafeHttpMethods();
            pipeline.AddRetry(retry);
        }

        pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
        {
            Name = "fly-circuit-breaker",
            FailureRatio = options.CircuitBreakerFailureRatio,
            MinimumThroughput = options.CircuitBreakerMinimumThroughput,
            SamplingDuration = options.CircuitBreakerSamplingDuration,
            BreakDuration = options.CircuitBreakerBreakDuration,
            ShouldHandle = args => ValueTask.FromResult(IsServerFailure(args.Context, args.Outcome)),
        });

        pipeline.AddRateLimiter(new RateLimiterStrategyOptions
        {
            Name = "fly-rate-limiter",
            RateLimiter = args =>
            {
                var request = args.Context.GetRequestMessage()
                    ?? throw new InvalidOperationException("The Fly resilience pipeline runs without a request message.");
                return limiter.AcquireAsync(FlyRateLimitKey.ForRequest(request.Method, request.RequestUri!), args.Context.CancellationToken);
            },
        });

        pipeline.AddTimeout(new HttpTimeoutStrategyOptions
        {
            Name = "fly-attempt-timeout",
            TimeoutGenerator = args => ValueTask.FromResult(WaitSeconds(args.Context) is { } wait
                ? options.AttemptTimeout + wait
                : options.AttemptTimeout),
        });
    }

    /// <summary>Only safe calls are replayed: GET (the wait endpoint included) and HEAD.</summary>
    internal static bool ShouldRetry(ResilienceContext context, Outcome<HttpResponseMessage> outcome)
    {
        var request = context.GetRequestMessage();
        if (request is null || (request.Method != HttpMethod.Get && request.Method != HttpMethod.Head))
        {
            return false;
        }

        if (outcome.Exception is RateLimiterRejectedException or BrokenCircuitException)
        {
            return false;
        }

        // A 408 from wait is Fly's "not yet": the provider's wait loop decides whether to ask again.
        if (IsWait(request) && outcome.Result?.StatusCode == HttpStatusCode.RequestTimeout)
        {
            return false;
        }

        return HttpClientResiliencePredicates.IsTransient(outcome);
    }

    private static bool IsServerFailure(ResilienceContext context, Outcome<HttpResponseMessage> outcome)
    {
        if (outcome.Exception is RateLimiterRejectedException || outcome.Result?.StatusCode == HttpStatusCode.TooManyRequests)
        {
            // Being throttled says nothing about Fly's health.
            return false;
        }

        var request = context.GetRequestMessage();
        if (request is not null && IsWait(request) && outcome.Result?.StatusCode == HttpStatusCode.RequestTimeout)
        {
            return false;
        }

        return HttpClientResiliencePredicates.IsTransient(outcome);
    }

    private static bool IsWait(HttpRequestMessage request) =>
        request.Method == HttpMethod.Get && request.RequestUri?.AbsolutePath.EndsWith("/wait", StringComparison.Ordinal) == true;

    /// <summary>The server-side hold of a wait call: its timeouts must outlast it.</summary>
    private static TimeSpan? WaitSeconds(ResilienceContext context)
    {
        var request = context.GetRequestMessage();
        if (request is null || !IsWait(request))
        {
            return null;
        }

        foreach (var pair in request.RequestUri!.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (pair.StartsWith("timeout=", StringComparison.Ordinal)
                && int.TryParse(pair.AsSpan("timeout=".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                return TimeSpan.FromSeconds(seconds);
            }
        }

        // Fly's default hold when no timeout is given.
        return TimeSpan.FromSeconds(60);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retrying Fly API {Method} {Path} (attempt {Attempt}) in {Delay} after {Outcome}")]
    private static partial void LogRetry(ILogger logger, string method, string path, int attempt, TimeSpan delay, string outcome);
}
