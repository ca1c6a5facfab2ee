using Microsoft.Extensions.Options;

namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>
/// The emulator's data directory: the configured one, kept at shutdown, or a fresh one that is
/// removed at shutdown. A fresh one goes under the user's local data folder rather than /tmp,
/// because sshd (without bubblewrap) refuses roots below a world-writable directory.
/// </summary>
internal sealed class EmulatorPaths
{
    public EmulatorPaths(IOptions<FlyEmulatorOptions> options)
    {
        if (options.Value.DataDirectory is { } configured)
        {
            Root = configured;
            IsTemporary = false;
        }
        else
        {
            var parent = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create);
            if (string.IsNullOrEmpty(parent))
            {
                parent = Path.GetTempPath();
            }

            Root = Path.Combine(parent, "orchestrator-fly-emulator", $"run-{Environment.ProcessId}-{Guid.NewGuid():N}"[..32]);
            IsTemporary = true;
        }

        CreatePrivate(Root);
        Directory.CreateDirectory(Volumes);
        Directory.CreateDirectory(Snapshots);
    }

    public string Root { get; }

    public bool IsTemporary { get; }

    public string Sandboxes => Root;

    public string Volumes => Path.Combine(Root, "volumes");

    public string Snapshots => Path.Combine(Root, "snapshots");

    public string Volume(string volumeId) => Path.Combine(Volumes, volumeId);

    public string Snapshot(string snapshotId) => Path.Combine(Snapshots, snapshotId);

    private static void CreatePrivate(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        // Group/world-writable parents would make sshd's StrictModes reject the machines' keys.
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }
}
