using System.Runtime.Versioning;

namespace Orchestrator.Sandbox;

/// <summary>
/// A machine's SSH host key: injected through its files, kept with a kept root, or generated with ssh-keygen for a
/// fresh one, as the image's init does; written where the machine's sshd reads it.
/// </summary>
internal static class SandboxHostKey
{
    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Puts the machine's host key pair in its ssh directory and returns the public line. An injected key (a
    /// <c>files</c> entry at <see cref="MachineSandboxes.HostKeyGuestPath"/>) is used as given; otherwise a kept root keeps its
    /// key, and a rebuilt one gets a new key, as the image's init generates one on a fresh root filesystem.
    /// </summary>
    [SupportedOSPlatform("linux")]
    public static async Task<string> EnsureAsync(
        SandboxSpec spec, MachineLayout layout, string keygen, TimeSpan toolTimeout, CancellationToken cancellationToken)
    {
        var (privateKey, publicKey) = Injected(spec);
        if (privateKey is not null)
        {
            return await InstallAsync(layout, keygen, toolTimeout, privateKey, publicKey, cancellationToken).ConfigureAwait(false);
        }

        if (!spec.KeepRoot || !File.Exists(layout.HostKey) || !File.Exists(layout.HostPublicKey))
        {
            // Also replaces a half-made pair (crash during ssh-keygen); ssh-keygen would prompt otherwise.
            File.Delete(layout.HostKey);
            File.Delete(layout.HostPublicKey);
            var (exitCode, output) = await HostTool.RunAsync(
                keygen, ["-q", "-t", "ed25519", "-N", "", "-C", $"root@{layout.MachineId}", "-f", layout.HostKey], toolTimeout, cancellationToken).ConfigureAwait(false);
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"Machine {layout.MachineId}: ssh-keygen failed with exit code {exitCode}: {output}");
            }
        }

        return (await File.ReadAllTextAsync(layout.HostPublicKey, cancellationToken).ConfigureAwait(false)).Trim();
    }

    [SupportedOSPlatform("linux")]
    private static async Task<string> InstallAsync(
        MachineLayout layout, string keygen, TimeSpan toolTimeout, SandboxFile privateKey, SandboxFile? publicKey, CancellationToken cancellationToken)
    {
        File.Delete(layout.HostPublicKey);
        // sshd (and ssh-keygen -y) refuse a private key that others can read, whatever mode the file asked for.
        await WriteAtomicallyAsync(layout.HostKey, privateKey.Content, Mode0600, cancellationToken).ConfigureAwait(false);
        var (exitCode, standardOutput, standardError) = await HostTool.RunAsync(
            HostTool.StartInfo(keygen, ["-y", "-f", layout.HostKey]), toolTimeout, cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(
                $"Machine {layout.MachineId}: the host key in files at {MachineSandboxes.HostKeyGuestPath} is not an OpenSSH private key without a passphrase: {standardError.Trim()}");
        }

        var derived = standardOutput.Trim();
        var line = derived;
        if (publicKey is not null)
        {
            var given = System.Text.Encoding.UTF8.GetString(publicKey.Content.Span).Trim();
            if (!string.Equals(KeyBlob(given), KeyBlob(derived), StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"Machine {layout.MachineId}: the public key in files at {MachineSandboxes.HostKeyGuestPath}.pub is not the public half of the private key at {MachineSandboxes.HostKeyGuestPath}.");
            }

            line = given;
        }

        await WriteAtomicallyAsync(layout.HostPublicKey, System.Text.Encoding.UTF8.GetBytes(line + "\n"), Mode0644, cancellationToken).ConfigureAwait(false);
        return line;
    }

    /// <summary>The <c>files</c> entries that carry the machine's host key, if any.</summary>
    private static (SandboxFile? PrivateKey, SandboxFile? PublicKey) Injected(SandboxSpec spec)
    {
        SandboxFile? privateKey = null;
        SandboxFile? publicKey = null;
        foreach (var file in spec.Files)
        {
            // Last one wins, as when the files are written one after the other.
            switch (GuestPaths.Normalize(file.GuestPath, nameof(spec)))
            {
                case MachineSandboxes.HostKeyGuestPath:
                    privateKey = file;
                    break;
                case MachineSandboxes.HostKeyGuestPath + ".pub":
                    publicKey = file;
                    break;
                default:
                    break;
            }
        }

        return (privateKey, publicKey);
    }

    private static string KeyBlob(string publicKeyLine) => string.Join(' ', publicKeyLine.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(2));

    [SupportedOSPlatform("linux")]
    private static async Task WriteAtomicallyAsync(string path, ReadOnlyMemory<byte> content, UnixFileMode mode, CancellationToken cancellationToken)
    {
        // Written beside the target with its mode set before it holds anything, then renamed over it.
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        await using (var stream = new FileStream(temporary, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode }))
        {
            await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
        }

        File.SetUnixFileMode(temporary, mode);
        File.Move(temporary, path, overwrite: true);
    }
}
