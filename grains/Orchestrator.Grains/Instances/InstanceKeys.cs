using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Grains.Instances;

/// <summary>An instance's SSH identity as generated: the OpenSSH public key line and the private key (OpenSSH PEM).</summary>
internal sealed record InstanceKeyPair(string PublicKey, byte[] PrivateKey);

/// <summary>Makes Ed25519 key pairs for instances (their own key and their machines' host keys); tests may record them.</summary>
internal interface IInstanceKeyFactory
{
    Task<InstanceKeyPair> CreateAsync(string comment, CancellationToken cancellationToken);
}

/// <summary>
/// Makes the pair in process: an instance needs two (its own and its machine's host key), and fifty creates at
/// once must not wait on a hundred ssh-keygen processes inside one grain call each.
/// </summary>
internal sealed class Ed25519InstanceKeyFactory : IInstanceKeyFactory
{
    public Task<InstanceKeyPair> CreateAsync(string comment, CancellationToken cancellationToken)
    {
        var pair = Ssh.SshKeys.GenerateEd25519(comment);
        return Task.FromResult(new InstanceKeyPair(pair.PublicKey, Encoding.UTF8.GetBytes(pair.PrivateKeyOpenSsh)));
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
