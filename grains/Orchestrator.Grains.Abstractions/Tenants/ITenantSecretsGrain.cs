using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Grains.Tenants;

/// <summary>
/// A tenant's named secrets, keyed by the tenant id: values go in and are never given back out through this
/// interface (listing shows names and dates). Workflows read them as <c>${{ secrets.NAME }}</c>; values are kept
/// encrypted at rest.
/// </summary>
[Alias("orchestrator.ITenantSecretsGrain")]
public interface ITenantSecretsGrain : IGrainWithStringKey
{
    /// <summary>Sets a secret's value, creating the secret when it is new.</summary>
    /// <exception cref="ArgumentException">The name or the value breaks <see cref="TenantSecretRules"/>.</exception>
    /// <exception cref="TenantConflictException">The tenant already holds <see cref="TenantSecretRules.MaxSecrets"/> secrets and this one is new.</exception>
    [Alias("Put")]
    Task<TenantSecretWrite> PutAsync(string name, string value, CancellationToken cancellationToken = default);

    /// <summary>The tenant's secrets by name, never their values.</summary>
    [Alias("List"), Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<TenantSecretInfo>> ListAsync();

    /// <summary>Deletes a secret; false when there was none of that name.</summary>
    [Alias("Delete")]
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>One secret as listings show it.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.TenantSecretInfo")]
public sealed record TenantSecretInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] DateTimeOffset UpdatedAt);

/// <summary>What <see cref="ITenantSecretsGrain.PutAsync"/> did: the secret, and whether the call created it.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.TenantSecretWrite")]
public sealed record TenantSecretWrite(
    [property: Id(0)] TenantSecretInfo Secret,
    [property: Id(1)] bool Created);

/// <summary>What a secret's name and value may be: the same names workflows reference as <c>secrets.NAME</c>.</summary>
public static partial class TenantSecretRules
{
    /// <summary>Most secrets one tenant may hold.</summary>
    public const int MaxSecrets = 100;

    /// <summary>Longest name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>Largest value, in UTF-8 bytes.</summary>
    public const int MaxValueBytes = 64 * 1024;

    /// <summary>Null when <paramref name="name"/> can name a secret, else what is wrong.</summary>
    public static string? ValidateName(string? name) =>
        name is not null && name.Length <= MaxNameLength && Name().IsMatch(name)
            ? null
            : $"must be 1 to {MaxNameLength} characters: uppercase letters, digits and '_', not starting with a digit (as in secrets.NAME)";

    /// <summary>Null when <paramref name="value"/> can be a secret's value, else what is wrong.</summary>
    public static string? ValidateValue(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "must be a non-empty string";
        }

        if (value.Contains('\0', StringComparison.Ordinal))
        {
            return "must not contain U+0000";
        }

        int bytes;
        try
        {
            bytes = new UTF8Encoding(false, throwOnInvalidBytes: true).GetByteCount(value);
        }
        catch (EncoderFallbackException)
        {
            return "must be valid Unicode text (it holds a lone surrogate)";
        }

        return bytes > MaxValueBytes ? $"must be at most {MaxValueBytes} bytes of UTF-8 (it is {bytes})" : null;
    }

    [GeneratedRegex("^[A-Z_][A-Z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Name();
}
