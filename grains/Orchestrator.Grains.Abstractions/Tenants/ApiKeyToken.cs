using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Orchestrator.Grains.Tenants;

/// <summary>
/// The parts of a tenant API key, <c>orch_{tenant}_{keyId}_{secret}</c>. The tenant and key id in the
/// clear let the gateway reach the one tenant grain that can check the secret without an index; the
/// secret is 256 random bits, so a salted SHA-256 is enough to store it (it cannot be guessed from a list).
/// </summary>
public sealed record ApiKeyToken(string Tenant, string KeyId, string Secret)
{
    public const string Scheme = "orch";
    public const int KeyIdLength = 12;
    public const int SecretLength = 64;

    /// <summary>Unrevoked keys a tenant may hold at once.</summary>
    public const int MaxActiveKeys = 50;

    /// <summary>The longest a key may be issued for: an expiry further out is refused.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(3650);

    /// <summary>Longest key name.</summary>
    public const int MaxNameLength = 100;

    /// <summary>The longest string that can be a key; anything longer is refused before it is parsed.</summary>
    public const int MaxLength = 4 + 1 + TenantId.MaxLength + 1 + KeyIdLength + 1 + SecretLength;

    /// <summary>What listings show: everything but the secret.</summary>
    public string Prefix => PrefixOf(Tenant, KeyId);

    public override string ToString() => $"{Prefix}_{Secret}";

    /// <summary>The listed prefix of key <paramref name="keyId"/> of <paramref name="tenant"/>.</summary>
    public static string PrefixOf(string tenant, string keyId) => $"{Scheme}_{tenant}_{keyId}";

    /// <summary>A new key for <paramref name="tenant"/> with a random id and secret.</summary>
    public static ApiKeyToken New(string tenant) =>
        new(tenant, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(KeyIdLength / 2)), Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(SecretLength / 2)));

    /// <summary>Splits a presented key; <see langword="false"/> for anything that is not shaped like one.</summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out ApiKeyToken? token)
    {
        token = null;
        if (value is null || value.Length > MaxLength)
        {
            return false;
        }

        var parts = value.Split('_');
        if (parts is not [Scheme, var tenant, var keyId, var secret]
            || TenantId.Validate(tenant) is not null
            || !IsLowerHex(keyId, KeyIdLength)
            || !IsLowerHex(secret, SecretLength))
        {
            return false;
        }

        token = new ApiKeyToken(tenant, keyId, secret);
        return true;
    }

    /// <summary>Returns <see langword="null"/> when <paramref name="name"/> can name a key, else the reason it cannot.</summary>
    public static string? ValidateName(string? name) => name switch
    {
        null => "is required",
        _ when string.IsNullOrWhiteSpace(name) => "must not be blank",
        { Length: > MaxNameLength } => $"must be at most {MaxNameLength} characters",
        _ when name.Any(char.IsControl) => "must not contain control characters",
        _ when TenantId.HasBidiControl(name) => "must not contain bidirectional formatting characters",
        _ => null,
    };

    /// <summary>Whether <paramref name="keyId"/> is shaped like a key id (for paths such as <c>/keys/{keyId}</c>).</summary>
    public static bool IsKeyId(string? keyId) => keyId is not null && IsLowerHex(keyId, KeyIdLength);

    private static bool IsLowerHex(string value, int length) =>
        value.Length == length && value.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
