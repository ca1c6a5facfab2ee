using System.Runtime.Versioning;

namespace Orchestrator.Sandbox;

/// <summary>The machine's directories, files and host key, made before its sshd starts.</summary>
public sealed partial class MachineSandboxes
{
    [SupportedOSPlatform("linux")]
    private void PrepareDirectories(MachineLayout layout, IReadOnlyList<ResolvedMount> mounts, bool isolated, bool keepRoot)
    {
        CreateDirectory(layout.Directory, Mode0755, enforce: true);
        if (!keepRoot)
        {
            ResetRoot(layout);
        }

        // StrictModes inspects every directory up to "/", which inside the sandbox is this one.
        CreateDirectory(layout.Root, Mode0755, enforce: true);
        CreateDirectory(layout.Ssh, Mode0755, enforce: true);
        CreateDirectory(Path.Combine(layout.Root, "root"), Mode0700, enforce: false);
        CreateDirectory(Path.Combine(layout.Root, "tmp"), Mode1777, enforce: false);
        CreateDirectory(Path.Combine(layout.Root, "run"), Mode0755, enforce: false);
        // sshd refuses a privilege-separation directory that others can write to.
        CreateDirectory(Path.Combine(layout.Root, "run", "sshd"), Mode0755, enforce: true);
        CreateDirectory(Path.Combine(layout.Root, "var"), Mode0755, enforce: false);
        CreateDirectory(Path.Combine(layout.Root, "var", "log"), Mode0755, enforce: false);
        var lastlog = Path.Combine(layout.Root, "var", "log", "lastlog");
        if (!Exists(lastlog))
        {
            // sshd records terminal logins there and prints a complaint into the terminal when it is missing.
            File.WriteAllBytes(lastlog, []);
        }

        foreach (var mount in mounts)
        {
            Directory.CreateDirectory(mount.HostDirectory);
        }

        if (isolated)
        {
            foreach (var alias in Bubblewrap.UsrAliases)
            {
                // Made here rather than with bwrap --symlink, which fails once the link exists.
                if (new DirectoryInfo("/" + alias).LinkTarget is { } target && !Exists(Path.Combine(layout.Root, alias)))
                {
                    File.CreateSymbolicLink(Path.Combine(layout.Root, alias), target);
                }
            }

            CopyIfMissing("/etc/ssh/moduli", Path.Combine(layout.Ssh, "moduli"));
            CopyIfMissing("/etc/ssh/ssh_config", Path.Combine(layout.Ssh, "ssh_config"));
        }
        else
        {
            foreach (var mount in mounts)
            {
                LinkVolume(layout, mount);
            }
        }
    }

    /// <summary>Without bubblewrap a volume can only be a symbolic link at its guest path inside the root.</summary>
    [SupportedOSPlatform("linux")]
    private void LinkVolume(MachineLayout layout, ResolvedMount mount)
    {
        var parent = EnsureGuestDirectory(layout.Root, GuestPaths.RelativeTo(mount.GuestPath, "/").Split('/')[..^1], mount.GuestPath);
        var link = Path.Combine(parent, Path.GetFileName(mount.GuestPath));
        var existing = new DirectoryInfo(link);
        if (existing.LinkTarget is not null)
        {
            File.Delete(link);
        }
        else if (existing.Exists)
        {
            if (existing.EnumerateFileSystemInfos().Any())
            {
                LogVolumeNotLinked(layout.MachineId, mount.HostDirectory, mount.GuestPath);
                return;
            }

            existing.Delete();
        }
        else if (File.Exists(link))
        {
            LogVolumeNotLinked(layout.MachineId, mount.HostDirectory, mount.GuestPath);
            return;
        }

        Directory.CreateSymbolicLink(link, mount.HostDirectory);
    }

    /// <summary>
    /// Puts the machine's host key pair in its ssh directory and returns the public line. An injected key (a
    /// <c>files</c> entry at <see cref="HostKeyGuestPath"/>) is used as given; otherwise a kept root keeps its
    /// key, and a rebuilt one gets a new key, as the image's init generates one on a fresh root filesystem.
    /// </summary>
    [SupportedOSPlatform("linux")]
    private static async Task<string> EnsureHostKeyAsync(
        SandboxSpec spec, MachineLayout layout, HostSetup setup, CancellationToken cancellationToken)
    {
        var (privateKey, publicKey) = InjectedHostKey(spec);
        if (privateKey is not null)
        {
            return await InstallHostKeyAsync(layout, setup, privateKey, publicKey, cancellationToken).ConfigureAwait(false);
        }

        if (!spec.KeepRoot || !File.Exists(layout.HostKey) || !File.Exists(layout.HostPublicKey))
        {
            // Also replaces a half-made pair (crash during ssh-keygen); ssh-keygen would prompt otherwise.
            File.Delete(layout.HostKey);
            File.Delete(layout.HostPublicKey);
            var (exitCode, output) = await HostTool.RunAsync(
                setup.Keygen, ["-q", "-t", "ed25519", "-N", "", "-C", $"root@{layout.MachineId}", "-f", layout.HostKey], _toolTimeout, cancellationToken).ConfigureAwait(false);
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"Machine {layout.MachineId}: ssh-keygen failed with exit code {exitCode}: {output}");
            }
        }

        return (await File.ReadAllTextAsync(layout.HostPublicKey, cancellationToken).ConfigureAwait(false)).Trim();
    }

    [SupportedOSPlatform("linux")]
    private static async Task<string> InstallHostKeyAsync(
        MachineLayout layout, HostSetup setup, SandboxFile privateKey, SandboxFile? publicKey, CancellationToken cancellationToken)
    {
        File.Delete(layout.HostPublicKey);
        // sshd (and ssh-keygen -y) refuse a private key that others can read, whatever mode the file asked for.
        await WriteAtomicallyAsync(layout.HostKey, privateKey.Content, Mode0600, cancellationToken).ConfigureAwait(false);
        var (exitCode, standardOutput, standardError) = await HostTool.RunAsync(
            HostTool.StartInfo(setup.Keygen, ["-y", "-f", layout.HostKey]), _toolTimeout, cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(
                $"Machine {layout.MachineId}: the host key in files at {HostKeyGuestPath} is not an OpenSSH private key without a passphrase: {standardError.Trim()}");
        }

        var derived = standardOutput.Trim();
        var line = derived;
        if (publicKey is not null)
        {
            var given = System.Text.Encoding.UTF8.GetString(publicKey.Content.Span).Trim();
            if (!string.Equals(KeyBlob(given), KeyBlob(derived), StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"Machine {layout.MachineId}: the public key in files at {HostKeyGuestPath}.pub is not the public half of the private key at {HostKeyGuestPath}.");
            }

            line = given;
        }

        await WriteAtomicallyAsync(layout.HostPublicKey, System.Text.Encoding.UTF8.GetBytes(line + "\n"), Mode0644, cancellationToken).ConfigureAwait(false);
        return line;
    }

    /// <summary>The <c>files</c> entries that carry the machine's host key, if any.</summary>
    private static (SandboxFile? PrivateKey, SandboxFile? PublicKey) InjectedHostKey(SandboxSpec spec)
    {
        SandboxFile? privateKey = null;
        SandboxFile? publicKey = null;
        foreach (var file in spec.Files)
        {
            // Last one wins, as when the files are written one after the other.
            switch (GuestPaths.Normalize(file.GuestPath, nameof(spec)))
            {
                case HostKeyGuestPath:
                    privateKey = file;
                    break;
                case HostKeyGuestPath + ".pub":
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

    /// <summary>
    /// Deletes the machine's root so that it starts from nothing, as Fly rebuilds a machine's root filesystem
    /// from its image at every start. Only called while none of the machine's processes runs.
    /// </summary>
    private static void ResetRoot(MachineLayout layout)
    {
        if (!Directory.Exists(layout.Root))
        {
            return;
        }

        try
        {
            // Recursive delete removes symbolic links without following them: a link the machine planted
            // (or a volume's link without bubblewrap) never takes host files or volume data along.
            Directory.Delete(layout.Root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Machine {layout.MachineId}: could not clear its root {layout.Root} for a fresh start: {ex.Message}", ex);
        }
    }

    [SupportedOSPlatform("linux")]
    private async Task WriteFilesAsync(SandboxSpec spec, MachineLayout layout, IReadOnlyList<ResolvedMount> mounts, bool isolated, CancellationToken cancellationToken)
    {
        foreach (var file in spec.Files)
        {
            var guestPath = GuestPaths.Normalize(file.GuestPath, nameof(spec));
            if (guestPath is HostKeyGuestPath or HostKeyGuestPath + ".pub")
            {
                // The host key goes to the machine's ssh directory (EnsureHostKeyAsync), which is its /etc/ssh.
                continue;
            }

            // A file inside a volume goes to the volume: in the sandbox the volume hides the root's copy.
            var mount = mounts.Where(mount => GuestPaths.IsAtOrBelow(guestPath, mount.GuestPath)).MaxBy(mount => mount.GuestPath.Length);
            var (baseDirectory, relative) = mount is null
                ? (layout.Root, GuestPaths.RelativeTo(guestPath, "/"))
                : (mount.HostDirectory, GuestPaths.RelativeTo(guestPath, mount.GuestPath));
            if (relative.Length == 0)
            {
                throw new ArgumentException($"Machine {spec.MachineId}: file {guestPath} is a volume's mount point.", nameof(spec));
            }

            if (isolated && mount is null && Bubblewrap.ReservedGuestPaths.Append(Bubblewrap.GuestSshDirectory).FirstOrDefault(reserved => GuestPaths.IsAtOrBelow(guestPath, reserved)) is { } hidden)
            {
                LogFileHidden(spec.MachineId, guestPath, hidden);
            }

            var segments = relative.Split('/');
            var directory = EnsureGuestDirectory(baseDirectory, segments[..^1], guestPath);
            var target = Path.Combine(directory, segments[^1]);
            if (new FileInfo(target).LinkTarget is not null)
            {
                // Replace the link itself; writing through it could land anywhere on the host.
                File.Delete(target);
            }
            else if (Directory.Exists(target))
            {
                throw new InvalidOperationException($"Machine {spec.MachineId}: cannot write file {guestPath}: a directory is in the way.");
            }

            var mode = file.Mode is { } explicitMode
                ? (UnixFileMode)explicitMode
                : Path.GetFileName(directory) == ".ssh" ? Mode0600 : Mode0644;
            // Written beside the target and renamed over it: a machine reading the file never sees half of it.
            var temporary = Path.Combine(directory, $".{segments[^1]}.{Guid.NewGuid():N}.tmp");
            await File.WriteAllBytesAsync(temporary, file.Content, cancellationToken).ConfigureAwait(false);
            File.SetUnixFileMode(temporary, mode);
            File.Move(temporary, target, overwrite: true);
        }
    }

    /// <summary>
    /// Creates <paramref name="segments"/> below <paramref name="baseDirectory"/>, refusing to
    /// pass through a symbolic link: the machine may have planted one (e.g. <c>/root/.ssh -> /etc</c>
    /// inside; the host would resolve it to its own /etc).
    /// </summary>
    [SupportedOSPlatform("linux")]
    private static string EnsureGuestDirectory(string baseDirectory, IEnumerable<string> segments, string guestPath)
    {
        var current = baseDirectory;
        foreach (var segment in segments)
        {
            current = Path.Combine(current, segment);
            var info = new DirectoryInfo(current);
            if (info.LinkTarget is not null)
            {
                throw new InvalidOperationException($"Refusing to write {guestPath}: {current} is a symbolic link.");
            }

            if (info.Exists)
            {
                if (segment == ".ssh")
                {
                    // StrictModes rejects keys in a directory others can write to.
                    File.SetUnixFileMode(current, Mode0700);
                }

                continue;
            }

            if (File.Exists(current))
            {
                throw new InvalidOperationException($"Refusing to write {guestPath}: {current} is a file.");
            }

            CreateDirectory(current, segment == ".ssh" ? Mode0700 : Mode0755, enforce: true);
        }

        return current;
    }

    [SupportedOSPlatform("linux")]
    private static void CreateDirectory(string path, UnixFileMode mode, bool enforce)
    {
        var existed = Directory.Exists(path);
        Directory.CreateDirectory(path);
        if (!existed || enforce)
        {
            // CreateDirectory's mode is filtered by the umask; the explicit chmod is not.
            File.SetUnixFileMode(path, mode);
        }
    }

    private static void CopyIfMissing(string source, string destination)
    {
        if (File.Exists(source) && !File.Exists(destination))
        {
            File.Copy(source, destination);
        }
    }

    private static bool Exists(string path) => new FileInfo(path).LinkTarget is not null || Path.Exists(path);

    [SupportedOSPlatform("linux")]
    private static string? FindWritableByOthers(string path)
    {
        const UnixFileMode writableByOthers = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
        for (var directory = new DirectoryInfo(path); directory is not null; directory = directory.Parent)
        {
            if (directory.Exists && directory.LinkTarget is null && (directory.UnixFileMode & writableByOthers) != 0)
            {
                return directory.FullName;
            }
        }

        return null;
    }
}
