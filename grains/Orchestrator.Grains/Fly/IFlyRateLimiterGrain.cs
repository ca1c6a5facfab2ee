namespace Orchestrator.Grains.Fly;

/// <summary>
/// One Fly app's request budget for the whole cluster, keyed by the app name: every silo asks it before a
/// Machines API call, so all silos together stay under Fly's per-action limits. Silo-internal: an outside
/// client could spend the cluster's budget.
/// </summary>
[Alias("orchestrator.IFlyRateLimiterGrain")]
internal interface IFlyRateLimiterGrain : IGrainWithStringKey
{
    /// <summary>
    /// Takes one permit from the bucket <c>(action, scope)</c>, which holds <paramref name="burst"/> tokens and
    /// gains one per <paramref name="interval"/>. The answer says how long the caller must wait before its call
    /// goes, or that the wait would exceed <paramref name="maxDelay"/> and no permit was taken.
    /// </summary>
    [Alias("Acquire")]
    ValueTask<FlyPermit> AcquireAsync(string action, string scope, int burst, TimeSpan interval, TimeSpan maxDelay);
}

[GenerateSerializer, Immutable, Alias("orchestrator.FlyPermit")]
internal readonly record struct FlyPermit(
    [property: Id(0)] bool Granted,
    [property: Id(1)] TimeSpan Delay);
