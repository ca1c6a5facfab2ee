using System.Text;
using Orchestrator.Testing;
using static Orchestrator.Ssh.Tests.SshTestSupport;

namespace Orchestrator.Ssh.Tests;

public sealed class ExecTests(SshServerFixture fixture) : IClassFixture<SshServerFixture>, IAsyncLifetime
{
    private readonly SshConnectionPool _pool = CreatePool();

    private SshServer Server => fixture.Server;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _pool.DisposeAsync();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(42)]
    [InlineData(255)]
    public async Task Exit_codes_are_exact(int code)
    {
        var run = await RunAsync(_pool, Server, new SshExecRequest($"exit {code}"));

        Assert.Equal(code, run.Result.ExitCode);
        Assert.Null(run.Result.Signal);
        Assert.False(run.Result.TimedOut);
        Assert.False(run.Result.Cancelled);
    }

    [Fact]
    public async Task Stdout_and_stderr_arrive_separately()
    {
        var run = await RunAsync(_pool, Server, new SshExecRequest("echo out; echo err >&2; echo out2"));

        Assert.Equal("out\nout2\n", run.StdoutText);
        Assert.Equal("err\n", run.StderrText);
    }

    [Fact]
    public async Task Non_utf8_bytes_are_exact_on_both_streams()
    {
        var run = await RunAsync(_pool, Server, new SshExecRequest(@"printf '\377\376\000\200abc'; printf '\300\001' >&2"));

        Assert.Equal(new byte[] { 0xFF, 0xFE, 0x00, 0x80, (byte)'a', (byte)'b', (byte)'c' }, run.Stdout);
        Assert.Equal(new byte[] { 0xC0, 0x01 }, run.Stderr);
    }

    [Fact]
    public async Task Stdin_is_fed_then_closed()
    {
        var input = new byte[300_000];
        Random.Shared.NextBytes(input);

        var run = await RunAsync(_pool, Server, new SshExecRequest("cat", StandardInput: new MemoryStream(input)));

        Assert.Equal(0, run.Result.ExitCode);
        Assert.Equal(input, run.Stdout);
    }

    [Fact]
    public async Task An_empty_stdin_ends_at_once()
    {
        // SSH.NET sends no EOF for an input stream nothing was written to; cat would wait for the timeout.
        var run = await RunAsync(_pool, Server, new SshExecRequest("cat; echo done", Timeout: TimeSpan.FromMinutes(1), StandardInput: new MemoryStream([])));

        Assert.False(run.Result.TimedOut);
        Assert.Equal("done\n", run.StdoutText);
    }

    [Fact]
    public async Task A_stdin_that_never_ends_is_let_go_when_the_command_exits()
    {
        // A streamed stdin whose sender has more to send: the exec ends with the command, not with the input.
        var endless = new System.IO.Pipelines.Pipe().Reader.AsStream();
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var run = await RunAsync(_pool, Server, new SshExecRequest("echo done", StandardInput: endless), cancellationToken: bound.Token);

        Assert.False(bound.IsCancellationRequested, "the exec waited for stdin to end after the command exited");
        Assert.Equal(0, run.Result.ExitCode);
        Assert.Equal("done\n", run.StdoutText);
    }

    [Fact]
    public async Task Without_stdin_the_command_sees_eof()
    {
        var run = await RunAsync(_pool, Server, new SshExecRequest("cat; echo done"));

        Assert.Equal("done\n", run.StdoutText);
    }

    [Fact]
    public async Task Environment_and_working_directory_survive_nasty_values()
    {
        var root = Directory.CreateTempSubdirectory("orchestrator-ssh-cwd-");
        try
        {
            var directory = Path.Combine(root.FullName, "it's a \"dir\" $HOME `id` \\ ünï\nline");
            Directory.CreateDirectory(directory);
            var nasty = "it's \"quoted\" $HOME `id` $(id) \\ \n second line ☃ 🚀 '\\''";
            var environment = new Dictionary<string, string> { ["NASTY"] = nasty, ["_under_score1"] = "", ["PLAIN"] = "x y" };

            var run = await RunAsync(_pool, Server, new SshExecRequest(
                "pwd; printf '%s|%s|%s' \"$NASTY\" \"$_under_score1\" \"$PLAIN\" >&2",
                environment,
                directory));

            Assert.Equal(0, run.Result.ExitCode);
            Assert.Equal(directory + "\n", run.StdoutText);
            Assert.Equal(nasty + "||x y", run.StderrText);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Missing_working_directory_fails_the_command()
    {
        var run = await RunAsync(_pool, Server, new SshExecRequest("echo should-not-run", WorkingDirectory: "/nonexistent/" + UniqueDigits()));

        Assert.NotEqual(0, run.Result.ExitCode);
        Assert.Empty(run.Stdout);
    }

    [Theory]
    [InlineData("1ABC")]
    [InlineData("A-B")]
    [InlineData("A=B")]
    [InlineData("")]
    [InlineData("A B")]
    public async Task Invalid_environment_names_are_refused(string name)
    {
        var exception = await Assert.ThrowsAsync<ArgumentException>(() => RunAsync(_pool, Server,
            new SshExecRequest("true", new Dictionary<string, string> { [name] = "v" })));

        Assert.Equal("Environment", exception.ParamName);
    }

    [Fact]
    public async Task Nul_in_values_is_refused_naming_the_field()
    {
        var environment = await Assert.ThrowsAsync<ArgumentException>(() => RunAsync(_pool, Server,
            new SshExecRequest("true", new Dictionary<string, string> { ["A"] = "x\0y" })));
        var directory = await Assert.ThrowsAsync<ArgumentException>(() => RunAsync(_pool, Server,
            new SshExecRequest("true", WorkingDirectory: "/tmp\0x")));
        var command = await Assert.ThrowsAsync<ArgumentException>(() => RunAsync(_pool, Server,
            new SshExecRequest("true\0")));

        Assert.Equal("Environment", environment.ParamName);
        Assert.Equal("WorkingDirectory", directory.ParamName);
        Assert.Equal("Command", command.ParamName);
    }

    [Fact]
    public async Task Timeout_kills_the_remote_process_group()
    {
        var marker = UniqueDigits();
        var pattern = $"sleep 29[89]\\.{marker}";

        var run = await RunAsync(_pool, Server, new SshExecRequest(
            $"echo started; sleep 299.{marker} & sleep 298.{marker}; wait",
            Timeout: TimeSpan.FromSeconds(1)));

        Assert.True(run.Result.TimedOut);
        Assert.False(run.Result.Cancelled);
        Assert.Equal("TERM", run.Result.Signal);
        Assert.Null(run.Result.ExitCode);
        Assert.Equal("started\n", run.StdoutText);
        Assert.InRange(run.Result.Duration, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        Assert.False(await RemoteProcessExistsAsync(_pool, Server, pattern), "a sleep survived the timeout");
    }

    [Fact]
    public async Task Cancellation_kills_the_remote_process_group()
    {
        var marker = UniqueDigits();
        var pattern = $"sleep 29[89]\\.{marker}";
        using var cancellation = new CancellationTokenSource();
        var startedSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var exec = _pool.ExecAsync("instance-1", Target(Server), new SshExecRequest($"sleep 299.{marker} & sleep 298.{marker} & echo started; wait"), (chunk, _) =>
        {
            if (Encoding.UTF8.GetString(chunk.Data.Span).Contains("started", StringComparison.Ordinal))
            {
                startedSeen.TrySetResult();
            }

            return ValueTask.CompletedTask;
        }, cancellation.Token);
        await startedSeen.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // Proves the probe can see the processes, so the check after cancel is meaningful.
        Assert.True(await RemoteProcessExistsAsync(_pool, Server, pattern), "the sleeps never started");

        await cancellation.CancelAsync();
        var result = await exec;

        Assert.True(result.Cancelled);
        Assert.False(result.TimedOut);
        Assert.Equal("TERM", result.Signal);
        Assert.False(await RemoteProcessExistsAsync(_pool, Server, pattern), "a sleep survived the cancellation");
    }

    [Fact]
    public async Task A_failing_output_callback_kills_the_command_and_rethrows()
    {
        var marker = UniqueDigits();

        var exception = await Assert.ThrowsAsync<IOException>(() => _pool.ExecAsync(
            "instance-1",
            Target(Server),
            new SshExecRequest($"echo started; exec sleep 297.{marker}"),
            (_, _) => throw new IOException("client went away"),
            CancellationToken.None));

        Assert.Equal("client went away", exception.Message);
        Assert.False(await RemoteProcessExistsAsync(_pool, Server, $"sleep 29[7]\\.{marker}"));
    }

    [Fact]
    public async Task First_connect_reports_the_servers_host_key()
    {
        var run = await RunAsync(_pool, Server, new SshExecRequest("true"));

        Assert.Equal(HostKeyWithoutComment(Server), run.Result.HostKey);
    }

    [Fact]
    public async Task Pinned_host_key_that_matches_is_accepted()
    {
        await using var pool = CreatePool();

        var result = await pool.ExecAsync("pinned", Target(Server, Server.HostPublicKey), new SshExecRequest("true"), (_, _) => ValueTask.CompletedTask, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task Pinned_host_key_mismatch_refuses_the_connection()
    {
        await using var pool = CreatePool();
        var other = SshKeys.GenerateEd25519("not-the-host").PublicKey;
        var ran = false;

        var exception = await Assert.ThrowsAsync<SshHostKeyMismatchException>(() => pool.ExecAsync(
            "pinned", Target(Server, other), new SshExecRequest("true"), (_, _) =>
            {
                ran = true;
                return ValueTask.CompletedTask;
            }, CancellationToken.None));

        Assert.False(ran);
        Assert.Contains(SshKeys.Fingerprint(other), exception.Message, StringComparison.Ordinal);
        Assert.Contains(SshKeys.Fingerprint(Server.HostPublicKey), exception.Message, StringComparison.Ordinal);
        Assert.Equal(HostKeyWithoutComment(Server), exception.ActualHostKey);
        Assert.Equal(0, pool.ConnectionsOpened);
    }

    [Fact]
    public async Task Pin_added_to_an_open_unpinned_connection_is_still_checked()
    {
        await using var pool = CreatePool();
        await pool.ExecAsync("late-pin", Target(Server), new SshExecRequest("true"), (_, _) => ValueTask.CompletedTask, CancellationToken.None);

        await Assert.ThrowsAsync<SshHostKeyMismatchException>(() => pool.ExecAsync(
            "late-pin", Target(Server, SshKeys.GenerateEd25519("x").PublicKey), new SshExecRequest("true"), (_, _) => ValueTask.CompletedTask, CancellationToken.None));
    }
}
