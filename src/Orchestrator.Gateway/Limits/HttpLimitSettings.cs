using System.Globalization;
using Orchestrator.Hosting;

namespace Orchestrator.Gateway.Limits;

/// <summary>
/// How much one API key may ask of the gateway: a token bucket per key (<see cref="PermitsPerSecond"/>
/// sustained, <see cref="Burst"/> at once) and how long an ordinary request may take. Streams (exec,
/// shells, run events) have their own lifetimes and no request timeout.
/// </summary>
public sealed record HttpLimitSettings(int PermitsPerSecond, int Burst, TimeSpan RequestTimeout)
{
    public const string Section = "Orchestrator:Http";
    public const string PermitsPerSecondKey = Section + ":RateLimit:PermitsPerSecond";
    public const string BurstKey = Section + ":RateLimit:Burst";
    public const string RequestTimeoutKey = Section + ":RequestTimeout";

    public static HttpLimitSettings Default { get; } = new(100, 500, TimeSpan.FromSeconds(60));

    /// <summary>Reads and validates; every problem found is added to <paramref name="problems"/>.</summary>
    public static HttpLimitSettings Read(IConfiguration configuration, ICollection<ConfigurationProblem> problems)
    {
        var permits = ReadCount(configuration, PermitsPerSecondKey, Default.PermitsPerSecond, problems);
        var burst = ReadCount(configuration, BurstKey, Math.Max(Default.Burst, permits), problems);
        if (burst < permits)
        {
            problems.Add(new(BurstKey, $"must be at least {PermitsPerSecondKey} ({permits}), or a second's permits could never be spent"));
        }

        var timeout = Default.RequestTimeout;
        if (configuration[RequestTimeoutKey] is { } raw
            && (!TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out timeout) || timeout < TimeSpan.FromMilliseconds(100) || timeout > TimeSpan.FromMinutes(10)))
        {
            problems.Add(new(RequestTimeoutKey, $"must be a duration from 00:00:00.100 to 00:10:00 (got '{raw}')"));
            timeout = Default.RequestTimeout;
        }

        return new HttpLimitSettings(permits, burst, timeout);
    }

    private static int ReadCount(IConfiguration configuration, string key, int fallback, ICollection<ConfigurationProblem> problems)
    {
        var raw = configuration[key];
        if (raw is null)
        {
            return fallback;
        }

        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value is < 1 or > 1_000_000)
        {
            problems.Add(new(key, $"must be a whole number from 1 to 1000000 (got '{raw}')"));
            return fallback;
        }

        return value;
    }
}
