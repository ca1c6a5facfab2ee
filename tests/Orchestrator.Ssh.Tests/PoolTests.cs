using System.Globalization;
using Orchestrator.Testing;
using static Orchestrator.Ssh.Tests.SshTestSupport;

namespace Orchestrator.Ssh.Tests;

// Its own sshd, so that counting logins in sshd's log sees only this class's connections.
public sealed class PoolTests(SshServerFixture fixture) : IClassFixture<SshServerFixture>
{
    private SshServer Server => fixture.Server;

    [Fact]
    public async Task Many_execs_reuse_one_connection()
    {
        await using var pool = CreatePool();
        var loginsBefore = CountLogins();

        for (var i = 0; i < 20; i++)
        {
            var run = await RunAsync(pool, Server, new SshExecRequest($"echo {i}"));
            Assert.Equal($"{i}\n", run.StdoutText);
        }

        Assert.Equal(1, pool.ConnectionsOpened);
        Assert.Equal(1, CountLogins() - loginsBefore);
    }

    [Fact]
    public async Task Fifty_concurrent_execs_on_one_key_queue_on_the_channel_limit_and_all_succeed()
    {
        await using var pool = CreatePool(new SshPoolOptions { MaxChannelsPerConnection = 8 });
        var runs = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
            (i, run: await RunAsync(pool, Server, new SshExecRequest($"echo begin; sleep 0.2; echo {i}")))));

        foreach (var (i, run) in runs)
        {
            Assert.Equal(0, run.Result.ExitCode);
            Assert.Equal($"begin\n{i}\n", run.StdoutText);
        }

        Assert.Equal(1, pool.ConnectionsOpened);
    }

    [Fact]
    public async Task Channel_limit_bounds_concurrent_commands()
    {
        await using var pool = CreatePool(new SshPoolOptions { MaxChannelsPerConnection = 3 });
        var directory = Directory.CreateTempSubdirectory("orchestrator-ssh-limit-");
        var release = Path.Combine(directory.FullName, "release");
        var running = Directory.CreateDirectory(Path.Combine(directory.FullName, "running"));
        try
        {
            // Each command records itself while it runs and holds its channel until released; it
            // removes its record before exiting, so the records never outnumber the open channels.
            var script = $"r={ShellQuote.Quote(running.FullName)}; touch \"$r/$$\"; ls \"$r\" | wc -l; " +
                $"while [ ! -e {ShellQuote.Quote(release)} ]; do sleep 0.05; done; rm \"$r/$$\"";
            var runs = Task.WhenAll(Enumerable.Range(0, 12).Select(_ => RunAsync(pool, Server, new SshExecRequest(script))));

            await WaitForAsync(() => running.GetFiles().Length == 3, TimeSpan.FromSeconds(30), "three commands running at once");
            await File.WriteAllTextAsync(release, "");
            var results = await runs.WaitAsync(TimeSpan.FromSeconds(60));

            Assert.All(results, run => Assert.Equal(0, run.Result.ExitCode));
            // Three at once was seen above. A command's own count can be lower than three even in the first wave: once
            // the release exists, the others may remove their records before its `ls` runs. It is never above three.
            var seen = results.Select(run => int.Parse(run.StdoutText.Trim(), CultureInfo.InvariantCulture)).ToList();
            Assert.InRange(seen.Max(), 1, 3);
            Assert.Equal(1, pool.ConnectionsOpened);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan bound, string what)
    {
        using var timeout = new CancellationTokenSource(bound);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"not reached within {bound}: {what}");
            }
        }
    }

    [Fact]
    public async Task Reconnects_transparently_after_the_connection_drops()
    {
        await using var pool = CreatePool();
        Assert.Equal("1\n", (await RunAsync(pool, Server, new SshExecRequest("echo 1"))).StdoutText);

        var killed = KillConnectionsOf(Server.ProcessId);
        Assert.True(killed > 0, "no per-connection sshd process found to kill");
        var after = await RunAsync(pool, Server, new SshExecRequest("echo 2"));

        Assert.Equal("2\n", after.StdoutText);
        Assert.Equal(2, pool.ConnectionsOpened);
    }

    [Fact]
    public async Task Invalidate_closes_the_connection_and_the_next_exec_opens_a_new_one()
    {
        await using var pool = CreatePool();
        await RunAsync(pool, Server, new SshExecRequest("true"));

        pool.Invalidate("instance-1");
        var run = await RunAsync(pool, Server, new SshExecRequest("echo again"));

        Assert.Equal("again\n", run.StdoutText);
        Assert.Equal(2, pool.ConnectionsOpened);
    }

    [Fact]
    public async Task Idle_connection_is_closed_and_reopened_on_next_use()
    {
        await using var pool = CreatePool(new SshPoolOptions { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        await RunAsync(pool, Server, new SshExecRequest("true"));
        var disconnectsBefore = CountLines("Disconnected from user") + CountLines("Connection closed by");

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var disconnectsAfter = CountLines("Disconnected from user") + CountLines("Connection closed by");
        await RunAsync(pool, Server, new SshExecRequest("true"));

        Assert.True(disconnectsAfter > disconnectsBefore, "sshd saw no disconnect while the pool was idle");
        Assert.Equal(2, pool.ConnectionsOpened);
    }

    [Fact]
    public async Task Different_keys_get_different_connections()
    {
        await using var pool = CreatePool();

        await Task.WhenAll(
            RunAsync(pool, Server, new SshExecRequest("true"), key: "a"),
            RunAsync(pool, Server, new SshExecRequest("true"), key: "b"));

        Assert.Equal(2, pool.ConnectionsOpened);
    }

    private int CountLogins() => CountLines("Accepted publickey");

    private int CountLines(string text) => Server.LogLines.Count(line => line.Contains(text, StringComparison.Ordinal));

    /// <summary>Kills the per-connection sshd processes forked by the fixture's listener (never the listener).</summary>
    private static int KillConnectionsOf(int listenerPid)
    {
        var killed = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue;
            }

            // Fields after the parenthesised name: state ppid ...
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (int.Parse(fields[1], CultureInfo.InvariantCulture) == listenerPid)
            {
                try
                {
                    using var process = System.Diagnostics.Process.GetProcessById(pid);
                    process.Kill(entireProcessTree: true);
                    killed++;
                }
                catch (ArgumentException)
                {
                    // Already gone.
                }
            }
        }

        return killed;
    }
}
