using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Orchestrator.Fly;

/// <summary>
/// Bound from the <c>Fly</c> section. The token comes from a secret: <c>Fly__ApiToken</c>, or <c>FLY_API_TOKEN</c>
/// (the variable flyctl and Fly machines use) when the section leaves it empty. It is never logged.
/// </summary>
public sealed class FlyOptions
{
    public const string SectionName = "Fly";

    /// <summary>Read from the root configuration (environment variables) when <see cref="ApiToken"/> is empty.</summary>
    public const string ApiTokenVariable = "FLY_API_TOKEN";

    /// <summary>Lowercase letters, digits and dashes, 2 to 63 characters, no dash at either end.</summary>
    public const string AppNamePattern = "^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$";

    public const string OrgSlugPattern = "^[a-z0-9][a-z0-9-]*$";

    /// <summary>The Machines API; paths under <c>/v1</c> are appended. Point it at the local emulator in development.</summary>
    [Required]
    public Uri BaseAddress { get; set; } = new("https://api.machines.dev");

    /// <summary>A deploy, org or user token: <c>FlyV1 fm2_...</c> is sent as it is, anything else as <c>Bearer</c>.</summary>
    [Required]
    public string ApiToken { get; set; } = "";

    /// <summary>The organisation new apps are created in and apps are listed from.</summary>
    [Required]
    [RegularExpression(OrgSlugPattern)]
    public string OrgSlug { get; set; } = "personal";

    /// <summary>The app the orchestrator's machines live in.</summary>
    [Required]
    [RegularExpression(AppNamePattern)]
    public string AppName { get; set; } = "";

    /// <summary>One HTTP attempt; a wait call gets its server-side hold on top.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:02:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>One call with all its retries; kept under Orleans' 30 s grain-call timeout. A wait call gets its hold on top.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>Retries of safe calls (GET, wait) on 408, 429, 5xx and transport errors. POST and DELETE are never replayed.</summary>
    [Range(0, 10)]
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>First backoff delay; doubled per attempt with jitter, unless Fly sends Retry-After.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:30")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    [Range(typeof(TimeSpan), "00:00:00.001", "00:05:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Create attempts (machines and apps) when earlier ones failed without a definite answer.</summary>
    [Range(1, 10)]
    public int MaxCreateAttempts { get; set; } = 3;

    /// <summary>The longest single wait call. Fly refuses more than 60 s; longer waits are loops of these.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan MaxWaitPerRequest { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long disposing a lease scope may spend releasing the lease.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan LeaseReleaseTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Multiplies Fly's published rates (see <see cref="FlyRateLimits"/>). Keep 1 against Fly; a local emulator
    /// started with a matching <c>FlyEmulator:RateLimitScale</c> may be driven faster in tests and demos.
    /// </summary>
    [Range(1.0, 1000.0)]
    public double RateLimitScale { get; set; } = 1;

    [Range(0.01, 1.0)]
    public double CircuitBreakerFailureRatio { get; set; } = 0.5;

    [Range(2, 10_000)]
    public int CircuitBreakerMinimumThroughput { get; set; } = 20;

    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan CircuitBreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan CircuitBreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Attribute validation, generated at compile time (no reflection).</summary>
[OptionsValidator]
public sealed partial class FlyOptionsValidator : IValidateOptions<FlyOptions>;

/// <summary>The rules that span settings, which attributes can not express.</summary>
internal sealed class FlyOptionsConsistencyValidator : IValidateOptions<FlyOptions>
{
    public ValidateOptionsResult Validate(string? name, FlyOptions options)
    {
        var failures = new List<string>();
        if (options.BaseAddress is { } address && (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp)))
        {
            failures.Add($"{nameof(FlyOptions.BaseAddress)} must be an absolute http or https URI (set {FlyOptions.SectionName}:{nameof(FlyOptions.BaseAddress)}).");
        }

        if (options.TotalTimeout < options.AttemptTimeout)
        {
            failures.Add($"{nameof(FlyOptions.TotalTimeout)} ({options.TotalTimeout}) must not be shorter than {nameof(FlyOptions.AttemptTimeout)} ({options.AttemptTimeout}).");
        }

        if (options.RetryMaxDelay < options.RetryBaseDelay)
        {
            failures.Add($"{nameof(FlyOptions.RetryMaxDelay)} ({options.RetryMaxDelay}) must not be shorter than {nameof(FlyOptions.RetryBaseDelay)} ({options.RetryBaseDelay}).");
        }

        if (options.ApiToken.Any(char.IsControl))
        {
            failures.Add($"{nameof(FlyOptions.ApiToken)} contains control characters (a pasted line break?).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
