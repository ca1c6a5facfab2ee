using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.Versioning;

namespace Orchestrator.Sandbox;

/// <summary>
/// Starts machine processes from one thread that lives as long as the manager. Linux sends
/// bwrap's <c>--die-with-parent</c> signal when the <em>thread</em> that forked it ends, not the
/// process, and .NET forks on the calling thread: a machine started from a thread-pool thread
/// would die whenever the pool retires that thread.
/// </summary>
internal sealed class ProcessSpawner : IDisposable
{
    private readonly BlockingCollection<(Process Process, TaskCompletionSource Started)> _requests = [];
    private readonly Thread _thread;

    public ProcessSpawner()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "Orchestrator.Sandbox spawner" };
        _thread.Start();
    }

    /// <summary>Calls <see cref="Process.Start()"/> on the spawner thread.</summary>
    public Task StartAsync(Process process)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests.Add((process, started));
        return started.Task;
    }

    /// <summary>Ends the thread; whatever it started with <c>--die-with-parent</c> dies with it.</summary>
    public void Dispose()
    {
        _requests.CompleteAdding();
        _thread.Join();
        _requests.Dispose();
    }

    private void Run()
    {
        foreach (var (process, started) in _requests.GetConsumingEnumerable())
        {
            try
            {
                process.Start();
                started.SetResult();
            }
            catch (System.ComponentModel.Win32Exception exception)
            {
                started.SetException(exception);
            }
            catch (InvalidOperationException exception)
            {
                started.SetException(exception);
            }
        }
    }
}

/// <summary>Keeps the newest lines of a process's output, so a chatty long-lived sshd cannot grow without bound.</summary>
internal sealed class OutputLog(int capacity)
{
    private readonly Queue<string> _lines = new();
    private readonly Lock _gate = new();

    public void Add(string line)
    {
        lock (_gate)
        {
            if (_lines.Count == capacity)
            {
                _lines.Dequeue();
            }

            _lines.Enqueue(line);
        }
    }

    public string[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _lines];
        }
    }
}

/// <summary>Runs short-lived host tools (ssh-keygen, sshd -V, a bwrap trial) to completion.</summary>
internal static class HostTool
{
    /// <summary>Runs a tool; through <paramref name="spawner"/> when it uses bwrap's <c>--die-with-parent</c>.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string fileName, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken, ProcessSpawner? spawner = null)
    {
        var start = StartInfo(fileName, arguments);
        start.WorkingDirectory = "/";
        var (exitCode, standardOutput, standardError) = await RunAsync(start, timeout, cancellationToken, spawner).ConfigureAwait(false);
        return (exitCode, standardOutput + standardError);
    }

    /// <summary>A start for <see cref="RunAsync(ProcessStartInfo, TimeSpan, CancellationToken, ProcessSpawner?)"/>: no shell, stdin, stdout and stderr redirected.</summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>
    /// Runs <paramref name="start"/> (made by <see cref="StartInfo"/>) to completion with stdin closed;
    /// a run longer than <paramref name="timeout"/> is killed with its children and throws <see cref="TimeoutException"/>.
    /// </summary>
    public static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunAsync(
        ProcessStartInfo start, TimeSpan timeout, CancellationToken cancellationToken, ProcessSpawner? spawner = null)
    {
        using var process = new Process { StartInfo = start };
        if (spawner is null)
        {
            process.Start();
        }
        else
        {
            await spawner.StartAsync(process).ConfigureAwait(false);
        }

        // Closed stdin makes a tool that unexpectedly prompts (e.g. "overwrite?") fail instead of hang.
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not finish within {timeout}.");
        }

        return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>The first existing executable among <paramref name="preferredPaths"/>, else the first on PATH; always absolute.</summary>
    [SupportedOSPlatform("linux")]
    public static string? Find(string name, params IEnumerable<string> preferredPaths)
    {
        var pathDirectories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var candidate in preferredPaths.Concat(pathDirectories.Select(directory => Path.Combine(directory, name))))
        {
            if (Path.IsPathFullyQualified(candidate) && File.Exists(candidate)
                && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }
}
