using System.Collections.Frozen;

namespace Orchestrator.Fly.Emulator.Api;

/// <summary>One Fly region, as <c>GET /v1/platform/regions</c> lists it.</summary>
internal sealed record FlyRegion(string Code, string Name, bool GatewayAvailable);

/// <summary>
/// The region codes the emulator accepts: the docs' list (2026, reference §11) plus <c>yul</c> and
/// <c>mia</c>, which older examples and the fixtures use. Anything else is refused as Fly refuses
/// an unknown region, so a typo fails here and not first in production.
/// </summary>
internal static class FlyRegions
{
    public static readonly IReadOnlyList<FlyRegion> All =
    [
        new("ams", "Amsterdam, Netherlands", true),
        new("arn", "Stockholm, Sweden", true),
        new("bom", "Mumbai, India", true),
        new("cdg", "Paris, France", true),
        new("dfw", "Dallas, Texas (US)", true),
        new("ewr", "Secaucus, NJ (US)", true),
        new("fra", "Frankfurt, Germany", true),
        new("gru", "Sao Paulo, Brazil", false),
        new("iad", "Ashburn, Virginia (US)", true),
        new("jnb", "Johannesburg, South Africa", false),
        new("lax", "Los Angeles, California (US)", true),
        new("lhr", "London, United Kingdom", true),
        new("mia", "Miami, Florida (US)", false),
        new("nrt", "Tokyo, Japan", true),
        new("ord", "Chicago, Illinois (US)", true),
        new("sin", "Singapore, Singapore", true),
        new("sjc", "San Jose, California (US)", true),
        new("syd", "Sydney, Australia", true),
        new("yul", "Montreal, Canada", false),
        new("yyz", "Toronto, Canada", true),
    ];

    private static readonly FrozenSet<string> Codes = All.Select(static r => r.Code).ToFrozenSet(StringComparer.Ordinal);

    public static bool IsKnown(string code) => Codes.Contains(code);

    /// <summary>Null when <paramref name="region"/> is a Fly region; else the 422 Fly answers.</summary>
    public static FlyFailure? Check(string region) =>
        IsKnown(region)
            ? null
            : FlyErrors.Unprocessable($"invalid region \"{region}\": not a Fly region (see GET /v1/platform/regions)");
}
