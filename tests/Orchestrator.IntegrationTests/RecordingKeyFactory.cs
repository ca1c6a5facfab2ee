using System.Collections.Concurrent;
using System.Text;
using Orchestrator.Grains.Instances;

namespace Orchestrator.IntegrationTests;

/// <summary>The real key factory, keeping each private key so that a test can look for it where it must not be.</summary>
internal sealed class RecordingKeyFactory : IInstanceKeyFactory
{
    private readonly Ed25519InstanceKeyFactory _inner = new();

    public ConcurrentBag<string> PrivateKeys { get; } = [];

    public async Task<InstanceKeyPair> CreateAsync(string comment, CancellationToken cancellationToken)
    {
        var pair = await _inner.CreateAsync(comment, cancellationToken);
        PrivateKeys.Add(Encoding.UTF8.GetString(pair.PrivateKey));
        return pair with { PrivateKey = pair.PrivateKey.ToArray() };
    }

    /// <summary>Strings that would betray a private key: the PEM marker, and slices of its base64 body.</summary>
    public IEnumerable<string> Fingerprints() => PrivateKeys.SelectMany(pem =>
    {
        var body = string.Concat(pem.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)));
        return new[] { "PRIVATE KEY", body[..40], body[^60..^20] };
    });
}
