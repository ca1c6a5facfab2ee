using System.Diagnostics;

namespace Orchestrator.Testing;

/// <summary>
/// A throwaway directory of git repositories served by a real <c>git daemon</c> on a free loopback port, pushes
/// accepted, for environments and workflows to clone from. Disposing stops the daemon and deletes the directory.
/// </summary>
public sealed class GitDaemon : IAsyncDisposable
{
    private readonly Process _process;

    private GitDaemon(DirectoryInfo root, int port, Process process)
    {
        Root = root;
        Port = port;
        _process = process;
    }

    /// <summary>The served directory: a repository at <c>Root/name</c> is <see cref="UrlOf"/>(name).</summary>
    public DirectoryInfo Root { get; }

    public int Port { get; }

    public static async Task<GitDaemon> StartAsync(string prefix)
    {
        var root = Directory.CreateTempSubdirectory(prefix);
        var port = LoopbackPort.Free();
        var process = Process.Start(new ProcessStartInfo("git")
        {
            ArgumentList = { "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr", $"--base-path={root.FullName}", $"--port={port}", "--listen=127.0.0.1", root.FullName },
        }) ?? throw new InvalidOperationException("git daemon did not start");
        var daemon = new GitDaemon(root, port, process);
        try
        {
            await Wait.UntilAsync(() => Task.FromResult(LoopbackPort.Accepts(port)), $"git daemon to listen on 127.0.0.1:{port}");
        }
        catch
        {
            // Not swallowed: the daemon and its directory go, and the failure goes on to the test.
            await daemon.DisposeAsync();
            throw;
        }

        return daemon;
    }

    public string UrlOf(string repository) => $"git://127.0.0.1:{Port}/{repository}";

    /// <summary>A served bare repository <paramref name="name"/> (see <see cref="CreateRepositoryAsync(string, string)"/>); returns its path.</summary>
    public Task<string> CreateRepositoryAsync(string name) => CreateRepositoryAsync(Root.FullName, name);

    /// <summary>A bare repository <c>root/name</c> whose <c>main</c> holds one commit (README.md "hello"); returns its path.</summary>
    public static async Task<string> CreateRepositoryAsync(string root, string name)
    {
        var seed = Path.Combine(root, name + "-seed");
        var bare = Path.Combine(root, name);
        Directory.CreateDirectory(seed);
        await RunGitAsync(seed, "init", "-q", "-b", "main");
        await File.WriteAllTextAsync(Path.Combine(seed, "README.md"), "hello\n");
        await RunGitAsync(seed, "add", ".");
        await RunGitAsync(seed, "commit", "-qm", "initial");
        await RunGitAsync(root, "clone", "-q", "--bare", seed, bare);
        return bare;
    }

    /// <summary>Runs git on the test host in <paramref name="directory"/> (as a fixed test author); fails unless it exits 0, returns its stdout.</summary>
    public static async Task<string> RunGitAsync(string directory, params string[] arguments) =>
        (await ToolProcess.RunCheckedAsync("git", ["-C", directory, "-c", "user.name=Tests", "-c", "user.email=tests@example.com", .. arguments], TimeSpan.FromSeconds(30))).StandardOutput;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        Root.Delete(recursive: true);
    }
}
