using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Orchestrator.Sandbox;

/// <summary>
/// A PID plus its start time from /proc: PIDs are reused, the pair is not, so a recorded
/// identity never makes us kill an unrelated process that inherited the number.
/// </summary>
internal readonly record struct ProcessIdentity(int ProcessId, long StartTime)
{
    public static ProcessIdentity Current() =>
        TryGet(Environment.ProcessId) ?? throw new InvalidOperationException("Cannot read /proc/self/stat.");

    public static ProcessIdentity? TryGet(int processId) =>
        ProcessTable.TryReadStat(processId) is { } stat ? new ProcessIdentity(processId, stat.StartTime) : null;

    /// <summary>Reads an identity that <see cref="ToString"/> wrote to <paramref name="path"/>; null when the file is missing, unreadable or malformed.</summary>
    public static ProcessIdentity? TryRead(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        return TryParse(text);
    }

    public static ProcessIdentity? TryParse(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var processId)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime)
            ? new ProcessIdentity(processId, startTime)
            : null;
    }

    /// <summary>True while this very process exists and is not a zombie (a killed orphan may stay one for good in a container).</summary>
    public bool IsRunning() => ProcessTable.TryReadStat(ProcessId) is { } stat && stat.StartTime == StartTime && stat.IsAlive;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{ProcessId} {StartTime}");
}

/// <summary>Reads and signals processes through /proc (Linux only).</summary>
internal static class ProcessTable
{
    /// <summary>
    /// Every live process that belongs to a machine: the <paramref name="roots"/> that still run
    /// and their descendants, plus (when <paramref name="marker"/> is set) any process whose
    /// initial environment holds that exact <c>NAME=value</c> entry, which finds orphans that
    /// were re-parented away from the tree.
    /// </summary>
    public static IReadOnlyList<ProcessIdentity> FindMachineProcesses(IEnumerable<ProcessIdentity> roots, string? marker)
    {
        var table = Snapshot();
        var found = new Dictionary<int, ProcessIdentity>();
        var children = table.GroupBy(entry => entry.Value.ParentId).ToDictionary(group => group.Key, group => group.Select(entry => entry.Key).ToList());
        // Zombies are walked through (their children are still ours) but never reported.
        var pending = new Queue<int>(roots.Where(root => table.TryGetValue(root.ProcessId, out var stat) && stat.StartTime == root.StartTime).Select(root => root.ProcessId));
        var visited = new HashSet<int>();
        while (pending.TryDequeue(out var processId))
        {
            if (!visited.Add(processId))
            {
                continue;
            }

            if (table[processId].IsAlive)
            {
                found[processId] = new ProcessIdentity(processId, table[processId].StartTime);
            }

            foreach (var child in children.GetValueOrDefault(processId) ?? [])
            {
                pending.Enqueue(child);
            }
        }

        if (marker is not null)
        {
            var needle = Encoding.UTF8.GetBytes(marker);
            foreach (var (processId, stat) in table)
            {
                if (stat.IsAlive && !found.ContainsKey(processId) && EnvironmentContains(processId, needle))
                {
                    found[processId] = new ProcessIdentity(processId, stat.StartTime);
                }
            }
        }

        return [.. found.Values];
    }

    /// <summary>The live children of <paramref name="parent"/> (if that very process still runs), oldest first.</summary>
    public static IReadOnlyList<ProcessIdentity> ChildrenOf(ProcessIdentity parent)
    {
        if (!parent.IsRunning())
        {
            return [];
        }

        return [.. Snapshot()
            .Where(entry => entry.Value.ParentId == parent.ProcessId && entry.Value.IsAlive && entry.Value.StartTime >= parent.StartTime)
            .OrderBy(entry => entry.Value.StartTime)
            .ThenBy(entry => entry.Key)
            .Select(entry => new ProcessIdentity(entry.Key, entry.Value.StartTime))];
    }

    /// <summary>Every process below <paramref name="processId"/> (zombies included), children first.</summary>
    public static IReadOnlyList<ProcessIdentity> DescendantsOf(int processId)
    {
        var children = Snapshot()
            .GroupBy(entry => entry.Value.ParentId)
            .ToDictionary(group => group.Key, group => group.Select(entry => new ProcessIdentity(entry.Key, entry.Value.StartTime)).ToList());
        var descendants = new List<ProcessIdentity>();
        var pending = new Queue<int>([processId]);
        while (pending.TryDequeue(out var parent))
        {
            foreach (var child in children.GetValueOrDefault(parent) ?? [])
            {
                descendants.Add(child);
                pending.Enqueue(child.ProcessId);
            }
        }

        return descendants;
    }

    /// <summary>
    /// Sends SIGKILL to <paramref name="identity"/> if that very process still runs; with
    /// <paramref name="entireProcessTree"/>, to its descendants too.
    /// </summary>
    public static void Kill(ProcessIdentity identity, bool entireProcessTree = false)
    {
        if (!identity.IsRunning())
        {
            return;
        }

        try
        {
            using var process = Process.GetProcessById(identity.ProcessId);
            process.Kill(entireProcessTree);
        }
        catch (ArgumentException)
        {
            // Exited between the check and the kill.
        }
        catch (InvalidOperationException)
        {
            // Same.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Not ours to kill (another user's): leave it.
        }
    }

    public static ProcessStat? TryReadStat(int processId)
    {
        string stat;
        try
        {
            stat = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{processId}/stat"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) may contain spaces and ')', so count from its last ')':
        // state (field 3) comes first, then ppid (4), and starttime (22) is the 20th.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 19
            && fields[0].Length == 1
            && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parentId)
            && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime)
            ? new ProcessStat(fields[0][0], parentId, startTime)
            : null;
    }

    private static Dictionary<int, ProcessStat> Snapshot()
    {
        var table = new Dictionary<int, ProcessStat>();
        foreach (var path in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(path), NumberStyles.None, CultureInfo.InvariantCulture, out var processId) && TryReadStat(processId) is { } stat)
            {
                table[processId] = stat;
            }
        }

        return table;
    }

    private static bool EnvironmentContains(int processId, byte[] entry)
    {
        byte[] environment;
        try
        {
            environment = File.ReadAllBytes(string.Create(CultureInfo.InvariantCulture, $"/proc/{processId}/environ"));
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        foreach (var range in ((ReadOnlySpan<byte>)environment).Split((byte)0))
        {
            if (environment.AsSpan(range).SequenceEqual(entry))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The fields of /proc/PID/stat that we use.</summary>
internal readonly record struct ProcessStat(char State, int ParentId, long StartTime)
{
    public bool IsAlive => State is not ('Z' or 'X' or 'x');
}
