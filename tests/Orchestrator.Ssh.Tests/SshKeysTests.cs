using System.Diagnostics;
using System.Text;
using Orchestrator.Testing;
using Renci.SshNet;

namespace Orchestrator.Ssh.Tests;

public sealed class SshKeysTests(SshServerFixture fixture) : IClassFixture<SshServerFixture>
{
    [Fact]
    public void Generated_key_is_openssh_format_that_ssh_net_loads()
    {
        var pair = SshKeys.GenerateEd25519("orchestrator@test");

        Assert.StartsWith("-----BEGIN OPENSSH PRIVATE KEY-----\n", pair.PrivateKeyOpenSsh, StringComparison.Ordinal);
        Assert.Matches("^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} orchestrator@test$", pair.PublicKey);
        using var keyFile = new PrivateKeyFile(new MemoryStream(Encoding.UTF8.GetBytes(pair.PrivateKeyOpenSsh)));
        Assert.Equal("ssh-ed25519", keyFile.Key.ToString());
        Assert.DoesNotContain("PRIVATE", pair.ToString(), StringComparison.Ordinal);
        Assert.NotEqual(pair.PublicKey, SshKeys.GenerateEd25519("orchestrator@test").PublicKey);
    }

    [Fact]
    public async Task Generated_private_key_matches_its_public_key_per_ssh_keygen()
    {
        var pair = SshKeys.GenerateEd25519("derive");
        var directory = Directory.CreateTempSubdirectory("orchestrator-sshkeys-");
        try
        {
            var path = Path.Combine(directory.FullName, "id");
            await File.WriteAllTextAsync(path, pair.PrivateKeyOpenSsh);
            if (!OperatingSystem.IsWindows())
            {
                // ssh-keygen refuses private keys that others can read.
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            var derived = await RunAsync("ssh-keygen", "-y", "-f", path);
            Assert.Equal(string.Join(' ', pair.PublicKey.Split(' ').Take(2)), string.Join(' ', derived.Trim().Split(' ').Take(2)));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Fingerprint_matches_ssh_keygen()
    {
        var server = fixture.Server;
        var listed = await RunAsync("ssh-keygen", "-l", "-E", "sha256", "-f", Path.Combine(server.DirectoryPath, "ssh_host_ed25519_key.pub"));

        Assert.Equal(listed.Split(' ')[1], SshKeys.Fingerprint(server.HostPublicKey));
    }

    [Fact]
    public async Task Generated_key_logs_in_after_it_is_authorized()
    {
        var server = fixture.Server;
        var pair = SshKeys.GenerateEd25519("generated");
        await server.AuthorizeKeyAsync(pair.PublicKey);
        await using var pool = SshTestSupport.CreatePool();

        var output = new MemoryStream();
        var result = await pool.ExecAsync(
            "generated",
            new SshTarget(server.Host, server.Port, server.UserName, pair.PrivateKeyOpenSsh, null),
            new SshExecRequest("echo in"),
            (chunk, _) =>
            {
                output.Write(chunk.Data.Span);
                return ValueTask.CompletedTask;
            },
            CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("in\n", Encoding.UTF8.GetString(output.ToArray()));
        Assert.Contains(server.LogLines, line => line.Contains("Accepted publickey", StringComparison.Ordinal) && line.Contains(SshKeys.Fingerprint(pair.PublicKey), StringComparison.Ordinal));
    }

    private static async Task<string> RunAsync(string fileName, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{fileName} failed: {error}");
        return output;
    }
}
