using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Grains.Instances;

/// <summary>An instance's SSH identity as generated: the OpenSSH public key line and the private key (OpenSSH PEM).</summary>
internal sealed record InstanceKeyPair(string PublicKey, byte[] PrivateKey);

/// <summary>Makes one Ed25519 key pair per instance. The SSH layer may replace the ssh-keygen implementation.</summary>
internal interface IInstanceKeyFactory
{
    Task<InstanceKeyPair> CreateAsync(string comment, CancellationToken cancellationToken);
}

/// <summary>Runs <c>ssh-keygen</c> into a private temporary directory that is deleted as soon as the files are read.</summary>
internal sealed class SshKeygenInstanceKeyFactory : IInstanceKeyFactory
{
    public async Task<InstanceKeyPair> CreateAsync(string comment, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-key-");
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(directory.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            var path = Path.Combine(directory.FullName, "id_ed25519");
            var start = new ProcessStartInfo("ssh-keygen")
            {
                ArgumentList = { "-t", "ed25519", "-N", "", "-q", "-C", comment, "-f", path },
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(start) ?? throw new InvalidOperationException("ssh-keygen could not be started.");
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"ssh-keygen exited {process.ExitCode}: {(await error.ConfigureAwait(false)).Trim()}");
            }

            var privateKey = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            var publicKey = (await File.ReadAllTextAsync(path + ".pub", cancellationToken).ConfigureAwait(false)).Trim();
            return new InstanceKeyPair(publicKey, privateKey);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}

/// <summary>
/// Encrypts instance private keys at rest with AES-GCM. The grain key is the associated data, so a ciphertext
/// copied into another instance's row does not decrypt there.
/// </summary>
internal sealed class InstanceSecretProtector
{
    public const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly byte[] _key;

    public InstanceSecretProtector(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"The encryption key must be {KeySize} bytes.", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>nonce | tag | ciphertext.</summary>
    public byte[] Protect(ReadOnlySpan<byte> plaintext, string context)
    {
        var output = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize), Encoding.UTF8.GetBytes(context));
        return output;
    }

    /// <exception cref="AuthenticationTagMismatchException">Wrong key, wrong context, or tampered data.</exception>
    public byte[] Unprotect(ReadOnlySpan<byte> protectedData, string context)
    {
        var plaintext = new byte[protectedData.Length - NonceSize - TagSize];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(protectedData[..NonceSize], protectedData[(NonceSize + TagSize)..], protectedData.Slice(NonceSize, TagSize), plaintext, Encoding.UTF8.GetBytes(context));
        return plaintext;
    }
}
