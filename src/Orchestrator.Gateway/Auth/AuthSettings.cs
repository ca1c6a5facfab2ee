using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Gateway.Auth;

/// <summary>
/// Who may call the API: the admin key from configuration manages tenants; tenants' own keys call
/// everything else. The dev profile, and only it, also accepts <see cref="DevKey"/> for tenant
/// <see cref="DevTenant"/> from loopback clients, so a laptop works without setup.
/// </summary>
public sealed class AuthSettings
{
    public const string AdminKeyKey = "Orchestrator:Auth:AdminKey";
    public const string DevKey = "dev-key";
    public const string DevTenant = "dev";
    public const int MinAdminKeyLength = 32;

    private readonly byte[]? _adminKey;

    private AuthSettings(string? adminKey, bool devKeyEnabled)
    {
        _adminKey = adminKey is null ? null : Encoding.UTF8.GetBytes(adminKey);
        DevKeyEnabled = devKeyEnabled;
    }

    public bool HasAdminKey => _adminKey is not null;

    /// <summary>Whether <see cref="DevKey"/> works (the dev profile, for loopback clients only).</summary>
    public bool DevKeyEnabled { get; }

    /// <summary>Settings for tests and hosts that build them in code.</summary>
    public static AuthSettings Create(string? adminKey, bool devProfile) => new(adminKey, devProfile);

    /// <summary>
    /// Reads <see cref="AdminKeyKey"/>; outside the dev profile a missing or weak admin key is a
    /// start-up error, because the API would otherwise be unmanageable or guessable.
    /// </summary>
    public static AuthSettings Read(IConfiguration configuration, bool devProfile, ICollection<Hosting.ConfigurationProblem> problems)
    {
        var adminKey = configuration[AdminKeyKey];
        if (adminKey is null or "")
        {
            if (!devProfile)
            {
                problems.Add(new(AdminKeyKey, $"is required outside the dev profile: set Orchestrator__Auth__AdminKey to a random string of at least {MinAdminKeyLength} characters (e.g. `openssl rand -hex 32`)"));
            }

            return new(null, devProfile);
        }

        if (adminKey.Length < MinAdminKeyLength || adminKey.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            // The value is a secret: say what is wrong with it, never what it is.
            problems.Add(new(AdminKeyKey, $"must be at least {MinAdminKeyLength} characters without spaces or control characters"));
            return new(null, devProfile);
        }

        return new(adminKey, devProfile);
    }

    /// <summary>Constant-time comparison, so response times say nothing about how much of a guess was right.</summary>
    public bool IsAdminKey(string presented) =>
        _adminKey is { } expected && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), expected);
}
