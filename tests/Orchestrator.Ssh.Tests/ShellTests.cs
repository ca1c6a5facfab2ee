using System.Text;
using Orchestrator.Testing;
using static Orchestrator.Ssh.Tests.SshTestSupport;

namespace Orchestrator.Ssh.Tests;

public sealed class ShellTests(SshServerFixture fixture) : IClassFixture<SshServerFixture>
{
    private SshServer Server => fixture.Server;

    [Fact]
    public async Task Shell_echoes_arithmetic_resizes_and_reports_exit()
    {
        await using var pool = CreatePool();
        await using var shell = await pool.OpenShellAsync("instance-1", Target(Server), 80, 24, CancellationToken.None);
        var output = new StringBuilder();
        var reader = ReadAllAsync(shell.Stream, output);

        await WriteAsync(shell, "stty size; echo $((6*7))\n");
        await WaitForAsync(output, "\n42");
        Assert.Contains("24 80", output.ToString(), StringComparison.Ordinal);

        await shell.ResizeAsync(132, 50);
        await WriteAsync(shell, "stty size\n");
        await WaitForAsync(output, "50 132");

        await WriteAsync(shell, "echo $TERM; exit 3\n");
        var status = await shell.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        await reader.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Contains("xterm-256color", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(3, status);
    }

    [Fact]
    public async Task Shell_holds_a_channel_slot_until_disposed()
    {
        await using var pool = CreatePool(new SshPoolOptions { MaxChannelsPerConnection = 1 });
        var shell = await pool.OpenShellAsync("instance-1", Target(Server), 80, 24, CancellationToken.None);

        var exec = RunAsync(pool, Server, new SshExecRequest("echo after"));
        await Task.Delay(300);
        Assert.False(exec.IsCompleted);

        await shell.DisposeAsync();
        Assert.Equal("after\n", (await exec.WaitAsync(TimeSpan.FromSeconds(10))).StdoutText);
    }

    private static async Task WriteAsync(ISshShell shell, string text) => await shell.Stream.WriteAsync(Encoding.UTF8.GetBytes(text));

    private static async Task ReadAllAsync(Stream stream, StringBuilder output)
    {
        var buffer = new byte[4096];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            lock (output)
            {
                output.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }
        }
    }

    private static async Task WaitForAsync(StringBuilder output, string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            lock (output)
            {
                if (output.ToString().Replace("\r", "", StringComparison.Ordinal).Contains(text, StringComparison.Ordinal))
                {
                    return;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"'{text}' never appeared in shell output: {output}");
            await Task.Delay(20);
        }
    }
}
