using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Fly.Emulator.Api;

/// <summary>Fly's timestamp formats: machines use whole seconds, volumes milliseconds, snapshots an explicit offset.</summary>
internal static class FlyTime
{
    public static string Seconds(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Milliseconds(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string WithOffset(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture);

    public static string Nanoseconds(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}

/// <summary>Go's <c>time.ParseDuration</c> for the forms clients send (<c>30s</c>, <c>1m30s</c>, <c>500ms</c>) and bare seconds.</summary>
internal static partial class GoDuration
{
    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", RegexOptions.CultureInvariant)]
    private static partial Regex Part();

    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            duration = TimeSpan.FromSeconds(seconds);
            return true;
        }

        var rest = text;
        if (rest.Length == 0)
        {
            return false;
        }

        while (rest.Length > 0)
        {
            var match = Part().Match(rest);
            if (!match.Success)
            {
                return false;
            }

            var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            duration += match.Groups[2].Value switch
            {
                "ns" => TimeSpan.FromTicks((long)(value / 100)),
                "us" or "µs" => TimeSpan.FromMicroseconds(value),
                "ms" => TimeSpan.FromMilliseconds(value),
                "s" => TimeSpan.FromSeconds(value),
                "m" => TimeSpan.FromMinutes(value),
                _ => TimeSpan.FromHours(value),
            };
            rest = rest[match.Length..];
        }

        return true;
    }
}

/// <summary>
/// Splits an image reference the way Fly reports it in <c>image_ref</c>. Images are not pulled (every
/// machine is the host's Ubuntu userland), so the digest is a stable hash of the reference.
/// </summary>
internal static class ImageRefs
{
    private const string DockerHub = "registry-1.docker.io";

    public static ImageRefView Parse(string image)
    {
        var reference = image;
        string? digest = null;
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = reference[(at + 1)..];
            reference = reference[..at];
        }

        var registry = DockerHub;
        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && (reference[..slash].Contains('.', StringComparison.Ordinal) || reference[..slash].Contains(':', StringComparison.Ordinal) || reference[..slash] == "localhost"))
        {
            registry = reference[..slash];
            reference = reference[(slash + 1)..];
        }

        var tag = "latest";
        var colon = reference.LastIndexOf(':');
        if (colon > 0)
        {
            tag = reference[(colon + 1)..];
            reference = reference[..colon];
        }

        if (registry == DockerHub && !reference.Contains('/', StringComparison.Ordinal))
        {
            reference = "library/" + reference;
        }

        digest ??= "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(image)));
        return new ImageRefView(registry, reference, tag, digest, new Dictionary<string, string>());
    }
}
