
namespace Orchestrator.Fly;

/// <summary>Which token bucket a call draws from: one per Fly action and the id the action is scoped to.</summary>
/// <param name="Action">The method and the route with ids elided, for example <c>POST apps/*/machines/*/start</c>.</param>
/// <param name="Scope">The machine, volume or app id the limit applies to; <c>*</c> for organisation-wide actions.</param>
public readonly record struct FlyRateLimitKey(string Action, string Scope)
{
    /// <summary>Classifies a request against the Machines API (paths under <c>/v1/</c>).</summary>
    public static FlyRateLimitKey ForRequest(HttpMethod method, Uri uri)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(uri);

        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        // The base address may carry a prefix (an emulator mounted under a path): start after "v1".
        var start = Array.IndexOf(segments, "v1") + 1;
        var parts = segments[start..];
        var template = new string[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            // apps/{app}/{collection}/{id}/{action}/{key}: odd positions are ids, except the sub-action at 4.
            template[i] = i is 1 or 3 or >= 5 ? "*" : parts[i];
        }

        // Fly scopes limits to "the machine ID or app ID involved": machine calls count per machine; volume and
        // IP calls are not documented, so they count per app, the stricter choice.
        var scope = parts.Length switch
        {
            >= 4 when parts[2] == "machines" => Uri.UnescapeDataString(parts[3]),
            >= 2 => Uri.UnescapeDataString(parts[1]),
            _ => "*",
        };

        return new FlyRateLimitKey($"{method.Method} {string.Join('/', template)}", scope);
    }
}

/// <summary>A token bucket: <see cref="Burst"/> calls at once, then one call per <see cref="Interval"/>.</summary>
public sealed record FlyRateLimitRule(int Burst, TimeSpan Interval)
{
    /// <summary>The same burst, refilled <paramref name="scale"/> times as fast.</summary>
    public FlyRateLimitRule Scaled(double scale) => scale == 1 ? this : this with { Interval = Interval / scale };
}

/// <summary>
/// Fly's published request limits, which the process keeps under so that Fly never has to answer 429.
/// </summary>
/// <remarks>
/// Source: Fly docs, "Working with the Machines API" → "Rate Limits" (superfly/docs
/// <c>machines/api/working-with-machines-api.html.markerb</c>, snapshot Aug 2026; announced at
/// community.fly.io/t/20636; docs PRs #1630 and #1966), as summarised in reference/fly-machines-api.md §10:
/// <list type="bullet">
/// <item>Limits apply per action (create machine, start machine, ...), scoped to the machine or app id involved.</item>
/// <item>Each action: 1 request/s sustained, bursts up to 3.</item>
/// <item>Get Machine: 5 requests/s sustained, bursts up to 10.</item>
/// <item>App deletions: 100 per minute.</item>
/// </list>
/// Fly does not say whether list, wait or volume calls have buckets of their own; they get the per-action
/// rule, which is the conservative reading.
/// </remarks>
public static class FlyRateLimits
{
    /// <summary>Every action not listed below: 1/s, burst 3.</summary>
    public static readonly FlyRateLimitRule PerAction = new(Burst: 3, Interval: TimeSpan.FromSeconds(1));

    /// <summary><c>GET /v1/apps/{app}/machines/{id}</c>: 5/s, burst 10.</summary>
    public static readonly FlyRateLimitRule GetMachine = new(Burst: 10, Interval: TimeSpan.FromMilliseconds(200));

    /// <summary>
    /// <c>DELETE /v1/apps/{app}</c>: 100/min across the organisation (one token per 600 ms). Fly names no burst for
    /// it, so it keeps the per-action burst of 3.
    /// </summary>
    public static readonly FlyRateLimitRule AppDeletion = new(Burst: 3, Interval: TimeSpan.FromMilliseconds(600));

    internal const string GetMachineAction = "GET apps/*/machines/*";
    internal const string DeleteAppAction = "DELETE apps/*";

    public static FlyRateLimitRule For(FlyRateLimitKey key) => key.Action switch
    {
        GetMachineAction => GetMachine,
        DeleteAppAction => AppDeletion,
        _ => PerAction,
    };

    /// <summary>App deletions share one organisation-wide bucket; everything else is per id.</summary>
    public static FlyRateLimitKey Partition(FlyRateLimitKey key) =>
        key.Action == DeleteAppAction ? key with { Scope = "*" } : key;
}
