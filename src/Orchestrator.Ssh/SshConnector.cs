using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Orchestrator.Ssh;

/// <summary>
/// Opens the pool's SSH connections: public-key authentication within <see cref="SshPoolOptions.ConnectTimeout"/>,
/// and the server's host key checked against the target's pin during key exchange, before anything is sent.
/// </summary>
internal sealed class SshConnector(SshPoolOptions options, TimeProvider time)
{
    public async Task<SshConnection> ConnectAsync(SshTarget target, string identity, CancellationToken cancellationToken)
    {
        (string Type, byte[] Blob)? pinned = target.PinnedHostKey is { } pin ? SshKeys.ParsePublicKey(pin, nameof(target.PinnedHostKey)) : null;
        var keyFile = new PrivateKeyFile(new MemoryStream(Encoding.UTF8.GetBytes(target.PrivateKeyOpenSsh), writable: false));
        SshClient? client = null;
        try
        {
            var info = new ConnectionInfo(target.Host, target.Port, target.UserName, new PrivateKeyAuthenticationMethod(target.UserName, keyFile))
            {
                Timeout = options.ConnectTimeout,
            };
            if (pinned is { } pinnedKey)
            {
                // Offer only the pinned key's algorithms so a server with several host keys shows us the pinned one.
                var matching = info.HostKeyAlgorithms.Keys.Where(name => MatchesKeyType(name, pinnedKey.Type)).ToHashSet(StringComparer.Ordinal);
                if (matching.Count > 0)
                {
                    foreach (var name in info.HostKeyAlgorithms.Keys.Where(name => !matching.Contains(name)).ToList())
                    {
                        info.HostKeyAlgorithms.Remove(name);
                    }
                }
            }

            client = new SshClient(info) { KeepAliveInterval = options.KeepAliveInterval };
            byte[]? seen = null;
            var mismatch = false;
            client.HostKeyReceived += (_, e) =>
            {
                seen = e.HostKey;
                if (pinned is { } expected && !expected.Blob.AsSpan().SequenceEqual(e.HostKey))
                {
                    mismatch = true;
                    e.CanTrust = false;
                }
            };

            using var connectTimeout = new CancellationTokenSource(options.ConnectTimeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connectTimeout.Token);
            try
            {
                await client.ConnectAsync(linked.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (mismatch && seen is not null && pinned is { } expected)
            {
                throw new SshHostKeyMismatchException(
                    target.Host, target.Port, SshKeys.FingerprintOfBlob(expected.Blob), SshKeys.FingerprintOfBlob(seen), FormatKey(seen), exception);
            }
            catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"SSH connect to {target.Host}:{target.Port} did not complete within {options.ConnectTimeout.TotalSeconds:0.#} s.", exception);
            }

            var hostKey = seen ?? throw new SshConnectionException("The server's host key was not reported during key exchange.");
            var connection = new SshConnection(client, keyFile, hostKey, FormatKey(hostKey), identity);
            client = null;
            return connection;
        }
        catch
        {
            client?.Dispose();
            keyFile.Dispose();
            throw;
        }
    }

    // A changed address, user or key means a different machine or identity: never reuse the old connection for it.
    internal static string Identity(SshTarget target) =>
        $"{target.UserName}@{target.Host}:{target.Port}#{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(target.PrivateKeyOpenSsh)))}";

    internal static string FormatKey(byte[] blob) => $"{SshKeys.BlobType(blob) ?? "unknown"} {Convert.ToBase64String(blob)}";

    private static bool MatchesKeyType(string algorithm, string keyType) =>
        algorithm == keyType || (keyType == "ssh-rsa" && algorithm.StartsWith("rsa-sha2-", StringComparison.Ordinal));
}

/// <summary>One open connection of the pool, with the host key it presented and the identity it was opened for.</summary>
internal sealed class SshConnection(SshClient client, PrivateKeyFile keyFile, byte[] hostKeyBlob, string hostKey, string identity) : IDisposable
{
    public SshClient Client { get; } = client;

    public byte[] HostKeyBlob { get; } = hostKeyBlob;

    public string HostKey { get; } = hostKey;

    public string Identity { get; } = identity;

    public void Dispose()
    {
        Client.Dispose();
        keyFile.Dispose();
    }
}
