using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Testing;

namespace Orchestrator.Ssh.Tests;

internal static class SshTestSupport
{
    public static SshConnectionPool CreatePool(SshPoolOptions? options = null) =>
        new(options ?? new SshPoolOptions(), NullLogger<SshConnectionPool>.Instance, TimeProvider.System);

    public static SshTarget Target(SshServer server, string? pinnedHostKey = null) =>
        new(server.Host, server.Port, server.UserName, server.ClientPrivateKeyPem, pinnedHostKey);

    /// <summary>The fixture's host key without its comment: what the pool reports.</summary>
    public static string HostKeyWithoutComment(SshServer server) =>
        string.Join(' ', server.HostPublicKey.Split(' ').Take(2));

    public static async Task<Captured> RunAsync(SshConnectionPool pool, SshServer server, SshExecRequest request, string key = "instance-1", CancellationToken cancellationToken = default)
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var result = await pool.ExecAsync(key, Target(server), request, (chunk, _) =>
        {
            (chunk.Stream == SshOutputStream.Stdout ? stdout : stderr).Write(chunk.Data.Span);
            return ValueTask.CompletedTask;
        }, cancellationToken);
        return new Captured(result, stdout.ToArray(), stderr.ToArray());
    }

    /// <summary>True while a process whose command line matches <paramref name="pattern"/> (an ERE that does not match itself) runs.</summary>
    public static async Task<bool> RemoteProcessExistsAsync(SshConnectionPool pool, SshServer server, string pattern)
    {
        var probe = await RunAsync(pool, server, new SshExecRequest($"pgrep -f {ShellQuote.Quote(pattern)}"), key: "probe");
        Assert.True(probe.Result.ExitCode is 0 or 1, $"pgrep failed: {probe.Result} {probe.StderrText}");
        return probe.Result.ExitCode == 0;
    }

    public static string UniqueDigits() => Random.Shared.NextInt64(100_000_000, 999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public sealed record Captured(SshExecResult Result, byte[] Stdout, byte[] Stderr)
    {
        public string StdoutText => Encoding.UTF8.GetString(Stdout);

        public string StderrText => Encoding.UTF8.GetString(Stderr);
    }
}
