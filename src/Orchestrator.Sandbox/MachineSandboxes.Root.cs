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
                // The host key goes to the machine's ssh directory (SandboxHostKey), which is its /etc/ssh.
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
