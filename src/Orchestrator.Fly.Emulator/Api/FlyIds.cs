using System.Security.Cryptography;

namespace Orchestrator.Fly.Emulator.Api;

/// <summary>Identifiers in the formats Fly uses, so clients that check formats see real-looking values.</summary>
internal static class FlyIds
{
    private const string Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private const string LowerAlphanumeric = "0123456789abcdefghijklmnopqrstuvwxyz";
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    private static readonly string[] Adjectives =
    [
        "aged", "ancient", "autumn", "billowing", "bitter", "black", "blue", "bold", "broad", "broken",
        "calm", "cold", "cool", "crimson", "curly", "damp", "dark", "dawn", "delicate", "divine",
        "dry", "empty", "falling", "fancy", "flat", "floral", "fragrant", "frosty", "gentle", "green",
        "hidden", "holy", "icy", "jolly", "late", "lingering", "little", "lively", "long", "lucky",
        "misty", "morning", "muddy", "nameless", "noisy", "odd", "old", "orange", "patient", "plain",
        "polished", "proud", "purple", "quiet", "rapid", "raspy", "red", "restless", "rough", "round",
        "royal", "shiny", "shrill", "shy", "silent", "small", "snowy", "soft", "solitary", "sparkling",
        "spring", "square", "steep", "still", "summer", "super", "sweet", "throbbing", "tight", "tiny",
        "twilight", "wandering", "weathered", "white", "wild", "winter", "wispy", "withered", "yellow", "young",
    ];

    private static readonly string[] Nouns =
    [
        "art", "band", "bar", "base", "bird", "block", "boat", "bonus", "bread", "breeze",
        "brook", "bush", "butterfly", "cake", "cell", "cherry", "cloud", "credit", "darkness", "dawn",
        "dew", "disk", "dream", "dust", "feather", "field", "fire", "firefly", "flower", "fog",
        "forest", "frog", "frost", "glade", "glitter", "grass", "hall", "hat", "haze", "heart",
        "hill", "king", "lab", "lake", "leaf", "limit", "math", "meadow", "mode", "moon",
        "morning", "mountain", "mouse", "mud", "night", "paper", "pine", "poetry", "pond", "queen",
        "rain", "recipe", "resonance", "rice", "river", "salad", "scene", "sea", "shadow", "shape",
        "silence", "sky", "smoke", "snow", "snowflake", "sound", "star", "sun", "sunset", "surf",
        "term", "thunder", "tooth", "tree", "truth", "union", "unit", "violet", "voice", "water",
        "waterfall", "wave", "wildflower", "wind", "wood",
    ];

    /// <summary>14 lowercase hex characters, e.g. <c>1857156b526dd8</c>.</summary>
    public static string MachineId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(7));

    /// <summary>12 lowercase hex characters, e.g. <c>5c35f65c9f95</c>.</summary>
    public static string LeaseNonce() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    /// <summary>16 lowercase alphanumerics, e.g. <c>z4k69dxd8r31p5mx</c>.</summary>
    public static string AppId() => Random(LowerAlphanumeric, 16);

    /// <summary><c>vol_</c> and 16 lowercase alphanumerics.</summary>
    public static string VolumeId() => "vol_" + Random(LowerAlphanumeric, 16);

    /// <summary><c>vs_</c> and 25 base62 characters.</summary>
    public static string SnapshotId() => "vs_" + Random(Base62, 25);

    /// <summary>A 4-hex-character zone, e.g. <c>84d3</c>.</summary>
    public static string Zone() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2));

    /// <summary>A decimal id such as the numeric ids in the snapshot create envelope.</summary>
    public static string Numeric(int digits) =>
        RandomNumberGenerator.GetInt32(1, 10).ToString(System.Globalization.CultureInfo.InvariantCulture) + Random("0123456789", digits - 1);

    /// <summary>A 26-character ULID: 48 bits of milliseconds, then 80 random bits, in Crockford base32.</summary>
    public static string Ulid(DateTimeOffset now)
    {
        Span<char> text = stackalloc char[26];
        var milliseconds = (ulong)now.ToUnixTimeMilliseconds();
        for (var i = 9; i >= 0; i--)
        {
            text[i] = Crockford[(int)(milliseconds & 31)];
            milliseconds >>= 5;
        }

        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        for (var i = 10; i < 26; i++)
        {
            text[i] = Crockford[random[i - 10] & 31];
        }

        return new string(text);
    }

    /// <summary>Fly's generated machine names: <c>adjective-noun-NNNN</c>.</summary>
    public static string MachineName() =>
        $"{Adjectives[RandomNumberGenerator.GetInt32(Adjectives.Length)]}-{Nouns[RandomNumberGenerator.GetInt32(Nouns.Length)]}-{RandomNumberGenerator.GetInt32(1000, 10000)}";

    private static string Random(string alphabet, int length)
    {
        Span<char> text = stackalloc char[length];
        for (var i = 0; i < length; i++)
        {
            text[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        }

        return new string(text);
    }
}
