using System.Globalization;
using System.Text;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The processes of one emulator's machines (each bwrap naming the emulator's data directory, and everything under
/// it: the sandbox's sshd and its sessions), recorded while they run, to show after teardown that none is left.
/// Processes of other emulators (other test runs on the host) are never counted.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class SandboxProcesses(string dataDirectory)
{
    private readonly HashSet<(int Pid, long StartTime)> _recorded = [];

    public int Count => _recorded.Count;

    /// <summary>Records every process whose command line names the data directory, and all of their descendants.</summary>
    public void Record()
    {
        foreach (var process in Tree())
        {
            _recorded.Add((process.Pid, process.StartTime));
        }
    }

    /// <summary>
    /// CPU time of the machines' processes so far: their own, and that of the children they reaped (sshd sessions
    /// and the commands they ran). Processes that ended unreaped by a machine process are not counted.
    /// </summary>
    public TimeSpan CpuTime() => TimeSpan.FromSeconds(Tree().Sum(p => p.CpuTicks) / (double)ClockTicksPerSecond);

    /// <summary>USER_HZ: the unit of the times in /proc/{pid}/stat, 100 on every Linux ABI .NET runs on.</summary>
    private const int ClockTicksPerSecond = 100;

    private List<ProcessInfo> Tree()
    {
        var all = Snapshot();
        var children = all.ToLookup(p => p.ParentPid);
        var pending = new Queue<ProcessInfo>(all.Where(p => p.CommandLine.Contains(dataDirectory, StringComparison.Ordinal)));
        var tree = new Dictionary<int, ProcessInfo>();
        while (pending.TryDequeue(out var process))
        {
            if (tree.TryAdd(process.Pid, process))
            {
                foreach (var child in children[process.Pid])
                {
                    pending.Enqueue(child);
                }
            }
        }

        return [.. tree.Values];
    }

    /// <summary>The recorded processes still alive (same pid and start time), as "pid command line".</summary>
    public IReadOnlyList<string> Alive() =>
        [.. Snapshot().Where(p => _recorded.Contains((p.Pid, p.StartTime))).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Pid} {p.CommandLine}"))];

    private static List<ProcessInfo> Snapshot()
    {
        var processes = new List<ProcessInfo>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // "pid (comm) state ppid ..." where comm may hold spaces and parentheses: split after the last ')'.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
                var startTime = long.Parse(fields[19], CultureInfo.InvariantCulture);
                // utime, stime, cutime, cstime.
                var cpuTicks = fields[11..15].Sum(f => long.Parse(f, CultureInfo.InvariantCulture));
                var commandLine = Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(directory, "cmdline"))).Replace('\0', ' ').TrimEnd();
                processes.Add(new ProcessInfo(pid, parent, startTime, cpuTicks, commandLine));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process ended while being read.
            }
        }

        return processes;
    }

    private sealed record ProcessInfo(int Pid, int ParentPid, long StartTime, long CpuTicks, string CommandLine);
}
