using System.Globalization;

namespace Orchestrator.Sandbox;

/// <summary>
/// Where one machine lives under <see cref="MachineSandboxOptions.DataDirectory"/>:
/// <c>machines/{id}/root</c> is its <c>/</c>; <c>machines/{id}/ssh</c> holds its sshd config and
/// host key outside the root, where the machine cannot rewrite them (with bubblewrap it is
/// bound read-only over <c>/etc/ssh</c>); <c>machines/{id}/sandbox.identity</c> records who
/// runs it, for the clean-up after a crashed emulator.
/// </summary>
internal sealed class MachineLayout
{
    public const string MachinesDirectoryName = "machines";
    public const string RecordFileName = "sandbox.identity";

    public MachineLayout(string dataDirectory, string machineId)
    {
        MachineId = machineId;
        Directory = Path.Combine(dataDirectory, MachinesDirectoryName, machineId);
        Root = Path.Combine(Directory, "root");
        Ssh = Path.Combine(Directory, "ssh");
        HostKey = Path.Combine(Ssh, "ssh_host_ed25519_key");
        Config = Path.Combine(Ssh, "sshd_config");
        SessionScript = Path.Combine(Ssh, "session.sh");
        Record = Path.Combine(Directory, RecordFileName);
    }

    public string MachineId { get; }

    public string Directory { get; }

    public string Root { get; }

    public string Ssh { get; }

    public string HostKey { get; }

    public string HostPublicKey => HostKey + ".pub";

    public string Config { get; }

    public string SessionScript { get; }

    public string Record { get; }
}

/// <summary>
/// Who runs a machine's processes: the emulator process (owner), the process it started
/// (bwrap, or sshd without bubblewrap) and, without bubblewrap, the environment marker its
/// sessions carry. Written before and after launch so that a later manager can end what a
/// crashed one left behind, and nothing else.
/// </summary>
internal sealed record SandboxRecord(ProcessIdentity Owner, ProcessIdentity? Process, string? Marker)
{
    public static SandboxRecord? TryRead(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        ProcessIdentity? owner = null;
        ProcessIdentity? process = null;
        string? marker = null;
        foreach (var line in lines)
        {
            var separator = line.IndexOf(' ', StringComparison.Ordinal);
            if (separator < 0)
            {
                continue;
            }

            var value = line[(separator + 1)..];
            switch (line[..separator])
            {
                case "owner":
                    owner = ProcessIdentity.TryParse(value);
                    break;
                case "process":
                    process = ProcessIdentity.TryParse(value);
                    break;
                case "marker":
                    marker = value.Trim();
                    break;
                default:
                    break;
            }
        }

        return owner is { } ownerIdentity ? new SandboxRecord(ownerIdentity, process, marker) : null;
    }

    public void Write(string path)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"owner {Owner}\n")
            + (Process is { } process ? string.Create(CultureInfo.InvariantCulture, $"process {process}\n") : "")
            + (Marker is { } marker ? $"marker {marker}\n" : "");
        // Rename is atomic: a reaper never reads half a record.
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
