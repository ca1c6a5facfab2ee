using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Orchestrator.Ssh;

/// <summary>An SSH key pair in the formats OpenSSH writes to disk.</summary>
/// <param name="PrivateKeyOpenSsh">Unencrypted private key, <c>-----BEGIN OPENSSH PRIVATE KEY-----</c> text.</param>
/// <param name="PublicKey">The public key as one authorized_keys line: <c>ssh-ed25519 AAAA... comment</c>.</param>
public sealed record SshKeyPair(string PrivateKeyOpenSsh, string PublicKey)
{
    // The private key must never end up in a log line through the record's generated ToString.
    public override string ToString() => $"SshKeyPair {{ PublicKey = {PublicKey} }}";
}

/// <summary>Ed25519 key generation and OpenSSH fingerprints, in process (no ssh-keygen).</summary>
public static class SshKeys
{
    private const string Ed25519 = "ssh-ed25519";

    /// <summary>Makes a new Ed25519 key pair in OpenSSH formats.</summary>
    /// <param name="comment">Comment stored in the private key and appended to the public key line; no line breaks.</param>
    public static SshKeyPair GenerateEd25519(string comment)
    {
        ArgumentNullException.ThrowIfNull(comment);
        if (comment.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
        {
            throw new ArgumentException("The key comment must be a single line without NUL.", nameof(comment));
        }

        var privateKey = new Ed25519PrivateKeyParameters(new SecureRandom());
        var seed = privateKey.GetEncoded();
        var publicKey = privateKey.GeneratePublicKey().GetEncoded();
        try
        {
            var publicBlob = PublicBlob(publicKey);
            var publicLine = comment.Length == 0
                ? $"{Ed25519} {Convert.ToBase64String(publicBlob)}"
                : $"{Ed25519} {Convert.ToBase64String(publicBlob)} {comment}";
            return new SshKeyPair(PrivateKeyFile(seed, publicKey, publicBlob, comment), publicLine);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <summary>The OpenSSH SHA256 fingerprint (<c>SHA256:</c> + unpadded base64) of a public key line or <c>type base64</c> pair.</summary>
    public static string Fingerprint(string publicKeyLine) => FingerprintOfBlob(ParsePublicKey(publicKeyLine, nameof(publicKeyLine)).Blob);

    internal static string FingerprintOfBlob(ReadOnlySpan<byte> blob) =>
        "SHA256:" + Convert.ToBase64String(SHA256.HashData(blob)).TrimEnd('=');

    /// <summary>Splits <c>type base64 [comment]</c> and checks that the blob names the same type.</summary>
    internal static (string Type, byte[] Blob) ParsePublicKey(string publicKeyLine, string paramName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKeyLine, paramName);
        var parts = publicKeyLine.Trim().Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            throw new ArgumentException("Expected a public key as 'type base64 [comment]'.", paramName);
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(parts[1]);
        }
        catch (FormatException exception)
        {
            throw new ArgumentException("The public key's base64 part is not valid base64.", paramName, exception);
        }

        if (BlobType(blob) != parts[0])
        {
            throw new ArgumentException($"The public key says '{parts[0]}' but its blob holds another key type.", paramName);
        }

        return (parts[0], blob);
    }

    /// <summary>The key type named at the start of an SSH public key blob, or null when it is malformed.</summary>
    internal static string? BlobType(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 4)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(blob);
        return length > (uint)(blob.Length - 4) ? null : Encoding.ASCII.GetString(blob.Slice(4, (int)length));
    }

    private static byte[] PublicBlob(byte[] publicKey)
    {
        using var writer = new SshWireWriter();
        writer.WriteString(Encoding.ASCII.GetBytes(Ed25519));
        writer.WriteString(publicKey);
        return writer.ToArray();
    }

    // Layout from OpenSSH PROTOCOL.key: magic, cipher/kdf "none", one public key, then the
    // private section padded to the cipher block size (8 for "none").
    private static string PrivateKeyFile(byte[] seed, byte[] publicKey, byte[] publicBlob, string comment)
    {
        var check = RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue);
        var secret = new byte[64];
        using var privateSection = new SshWireWriter();
        using var file = new SshWireWriter();
        try
        {
            seed.CopyTo(secret, 0);
            publicKey.CopyTo(secret, 32);
            privateSection.WriteUInt32((uint)check);
            privateSection.WriteUInt32((uint)check);
            privateSection.WriteString(Encoding.ASCII.GetBytes(Ed25519));
            privateSection.WriteString(publicKey);
            privateSection.WriteString(secret);
            privateSection.WriteString(Encoding.UTF8.GetBytes(comment));
            for (byte pad = 1; privateSection.Length % 8 != 0; pad++)
            {
                privateSection.WriteByte(pad);
            }

            file.WriteRaw("openssh-key-v1\0"u8);
            file.WriteString("none"u8);
            file.WriteString("none"u8);
            file.WriteString([]);
            file.WriteUInt32(1);
            file.WriteString(publicBlob);
            file.WriteString(privateSection.ToArray());

            var body = Convert.ToBase64String(file.ToArray());
            var text = new StringBuilder("-----BEGIN OPENSSH PRIVATE KEY-----\n");
            for (var offset = 0; offset < body.Length; offset += 70)
            {
                text.Append(body.AsSpan(offset, Math.Min(70, body.Length - offset))).Append('\n');
            }

            return text.Append("-----END OPENSSH PRIVATE KEY-----\n").ToString();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            privateSection.Clear();
            file.Clear();
        }
    }

    private sealed class SshWireWriter : IDisposable
    {
        private readonly MemoryStream _buffer = new();

        public long Length => _buffer.Length;

        public void WriteByte(byte value) => _buffer.WriteByte(value);

        public void WriteRaw(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

        public void WriteUInt32(uint value)
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
            _buffer.Write(bytes);
        }

        public void WriteString(ReadOnlySpan<byte> bytes)
        {
            WriteUInt32((uint)bytes.Length);
            _buffer.Write(bytes);
        }

        public byte[] ToArray() => _buffer.ToArray();

        public void Clear()
        {
            CryptographicOperations.ZeroMemory(_buffer.GetBuffer());
            _buffer.SetLength(0);
        }

        public void Dispose() => _buffer.Dispose();
    }
}
