using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.Cli.Tests;

/// <summary>The real orch process against a real silo: commands, exit codes, JSON shapes.</summary>
[Collection(CliCluster.Name)]
public sealed class CommandTests(CliFixture fixture)
{
    [Fact]
    public async Task VersionHelpAndUsageErrors()
    {
        var version = await fixture.RunAsync(["--version"]);
        Assert.Equal(0, version.ExitCode);
        Assert.StartsWith("0.1.0", version.Text, StringComparison.Ordinal);

        var help = await fixture.RunAsync(["runs", "start", "--help"]);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Examples:", help.Text, StringComparison.Ordinal);

        var bogus = await fixture.RunAsync(["instances", "list", "--bogus"]);
        Assert.Equal(2, bogus.ExitCode);
        Assert.Contains("--bogus", bogus.Stderr, StringComparison.Ordinal);

        var completion = await fixture.RunAsync(["completion", "bash"]);
        Assert.Equal(0, completion.ExitCode);
        Assert.Contains("complete -o default -F _orch_complete orch", completion.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InstancesAnswerInJsonAndMapProblemsToExitCodes()
    {
        var list = await fixture.RunAsync(["instances", "list", "-o", "json"]);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(list.Json.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetString() == CliFixture.Box);

        var table = await fixture.RunAsync(["instances", "list"]);
        Assert.StartsWith("ID\tSTATE\t", table.Text, StringComparison.Ordinal);

        var get = await fixture.RunAsync(["instances", "get", CliFixture.Box, "-o", "json"]);
        Assert.Equal("started", get.Json.GetProperty("state").GetString());

        var missing = await fixture.RunAsync(["instances", "get", "no-such-box"]);
        Assert.Equal(3, missing.ExitCode);
        Assert.Contains("No such instance", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains("request ", missing.Stderr, StringComparison.Ordinal);

        var invalid = await fixture.RunAsync(["instances", "create", "Bad_Name", "--region", "ams", "--size", "shared-cpu-1x", "--no-wait"]);
        Assert.Equal(2, invalid.ExitCode);

        var badKey = await fixture.RunAsync(["instances", "list"], key: "not-a-key");
        Assert.Equal(4, badKey.ExitCode);

        var refused = await fixture.RunAsync(["instances", "destroy", CliFixture.Box]);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--yes", refused.Stderr, StringComparison.Ordinal);

        var events = await fixture.RunAsync(["instances", "events", CliFixture.Box]);
        Assert.Equal(0, events.ExitCode);
        Assert.NotEmpty(events.Text);
    }

    [Fact]
    public async Task ExecIsByteExactAndExitsWithTheRemoteStatus()
    {
        var all = Enumerable.Range(0, 256).Select(static b => (byte)b).ToArray();
        var binary = await fixture.RunAsync(["exec", CliFixture.Box, "--", "cat"], stdin: all);
        Assert.Equal(0, binary.ExitCode);
        Assert.Equal(all, binary.Stdout);

        var streams = await fixture.RunAsync(["exec", "-n", CliFixture.Box, "--", "printf out; printf err >&2; exit 3"]);
        Assert.Equal(3, streams.ExitCode);
        Assert.Equal("out", streams.Text);
        Assert.Equal("err", streams.Stderr);

        foreach (var code in new[] { 0, 1, 42, 128, 255 })
        {
            var exit = await fixture.RunAsync(["exec", "-n", CliFixture.Box, "--", $"exit {code}"]);
            Assert.Equal(code, exit.ExitCode);
        }

        var signal = await fixture.RunAsync(["exec", "-n", CliFixture.Box, "--", "kill -TERM $$"]);
        Assert.Equal(128 + 15, signal.ExitCode);

        var options = await fixture.RunAsync(["exec", "-n", CliFixture.Box, "--cwd", "/tmp", "--env", "GREETING=hi there", "--", "sh", "-c", "echo \"$GREETING\" from $(pwd)"]);
        Assert.Equal("hi there from /tmp\n", options.Text);

        var missing = await fixture.RunAsync(["exec", "-n", "no-such-box", "--", "true"]);
        Assert.Equal(3, missing.ExitCode);
    }

    [Fact]
    public async Task ExecStreamsFiftyMegabytesByteForByte()
    {
        var made = await fixture.RunAsync(["exec", "-n", CliFixture.Box, "--", "head -c 52428800 /dev/urandom > /tmp/fifty && sha256sum /tmp/fifty"]);
        Assert.Equal(0, made.ExitCode);
        var expected = made.Text.Split(' ')[0];

        var hashing = new HashingStream();
        var read = await fixture.RunAsync(["exec", "-n", CliFixture.Box, "--", "cat /tmp/fifty"], stdout: hashing);
        Assert.Equal(0, read.ExitCode);
        Assert.Equal(52428800, hashing.Length);
        Assert.Equal(expected, hashing.Hex());
    }

    [Fact]
    public async Task ExecStreamsFiftyMegabytesOfStdinByteForByte()
    {
        var directory = Directory.CreateTempSubdirectory("orch-exec-stdin").FullName;
        try
        {
            // 50 MB of random bytes in a file; its hash is taken while it is written, so the test holds no copy.
            var local = Path.Combine(directory, "fifty.bin");
            string expected;
            await using (var file = File.Create(local))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var chunk = new byte[1 << 20];
                for (var i = 0; i < 50; i++)
                {
                    RandomNumberGenerator.Fill(chunk);
                    hash.AppendData(chunk);
                    await file.WriteAsync(chunk);
                }

                expected = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            await using (var input = File.OpenRead(local))
            {
                var summed = await fixture.RunAsync(["exec", CliFixture.Box, "--", "sha256sum"], input: input);
                Assert.True(summed.ExitCode == 0, summed.ToString());
                Assert.Equal($"{expected}  -\n", summed.Text);
            }

            // cat echoes it while it is still being sent: stdin and stdout stream at once.
            var hashing = new HashingStream();
            await using (var input = File.OpenRead(local))
            {
                var echoed = await fixture.RunAsync(["exec", CliFixture.Box, "--", "cat"], stdout: hashing, input: input);
                Assert.True(echoed.ExitCode == 0, echoed.ToString());
            }

            Assert.Equal(50L << 20, hashing.Length);
            Assert.Equal(expected, hashing.Hex());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task ExecWithStdinPassesTheExitStatusOptionsAndStderrThrough()
    {
        var streams = await fixture.RunAsync(["exec", CliFixture.Box, "--cwd", "/tmp", "--env", "GREETING=hi there", "--", "sh", "-c", "cat; echo \"$GREETING\" from $(pwd); printf err >&2; exit 7"], stdin: "in\n"u8.ToArray());
        Assert.Equal(7, streams.ExitCode);
        Assert.Equal("in\nhi there from /tmp\n", streams.Text);
        Assert.Equal("err", streams.Stderr);

        foreach (var code in new[] { 0, 1, 128, 255 })
        {
            var exit = await fixture.RunAsync(["exec", CliFixture.Box, "--", $"exit {code}"], stdin: []);
            Assert.Equal(code, exit.ExitCode);
        }

        // A command that ends without reading its stdin ends orch too.
        var early = await fixture.RunAsync(["exec", CliFixture.Box, "--", "head -c 3"], stdin: new byte[4 << 20]);
        Assert.True(early.ExitCode == 0, early.ToString());
        Assert.Equal(3, early.Stdout.Length);

        var missing = await fixture.RunAsync(["exec", "no-such-box", "--", "true"], stdin: []);
        Assert.True(missing.ExitCode == 3, missing.ToString());

        var tooLong = await fixture.RunAsync(["exec", CliFixture.Box, "--", "echo " + new string('x', 9000)], stdin: []);
        Assert.True(tooLong.ExitCode == 2, tooLong.ToString());
        Assert.Contains("-n", tooLong.Stderr, StringComparison.Ordinal);

        var invalid = await fixture.RunAsync(["exec", CliFixture.Box, "--env", "1X=a", "--", "true"], stdin: []);
        Assert.True(invalid.ExitCode == 2, invalid.ToString());
        Assert.Contains("env.1X", invalid.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CopyRoundTripsOneHundredMegabytesAndDirectories()
    {
        var directory = Directory.CreateTempSubdirectory("orch-cp").FullName;
        try
        {
            var local = Path.Combine(directory, "random.bin");
            await using (var file = File.Create(local))
            {
                var chunk = new byte[1 << 20];
                for (var i = 0; i < 100; i++)
                {
                    RandomNumberGenerator.Fill(chunk);
                    await file.WriteAsync(chunk);
                }
            }

            var up = await fixture.RunAsync(["cp", local, $"{CliFixture.Box}:/tmp/cp/random.bin", "-o", "json"]);
            Assert.True(up.ExitCode == 0, up.ToString());
            var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(local)));
            Assert.Equal(sha, up.Json.GetProperty("sha256").GetString());
            Assert.Equal(100L << 20, up.Json.GetProperty("bytes").GetInt64());

            var back = Path.Combine(directory, "back.bin");
            var down = await fixture.RunAsync(["cp", $"{CliFixture.Box}:/tmp/cp/random.bin", back]);
            Assert.True(down.ExitCode == 0, down.ToString());
            Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(back))));

            var tree = Path.Combine(directory, "tree");
            Directory.CreateDirectory(Path.Combine(tree, "sub"));
            File.WriteAllText(Path.Combine(tree, "a.txt"), "alpha");
            File.WriteAllBytes(Path.Combine(tree, "sub", "b.bin"), [0, 1, 2, 255]);
            Assert.Equal(0, (await fixture.RunAsync(["cp", "-r", tree, $"{CliFixture.Box}:/tmp/cp/tree"])).ExitCode);
            var copy = Path.Combine(directory, "copy");
            var treeDown = await fixture.RunAsync(["cp", "-r", $"{CliFixture.Box}:/tmp/cp/tree", copy]);
            Assert.True(treeDown.ExitCode == 0, treeDown.ToString());
            Assert.Equal("alpha", File.ReadAllText(Path.Combine(copy, "a.txt")));
            Assert.Equal([0, 1, 2, 255], File.ReadAllBytes(Path.Combine(copy, "sub", "b.bin")));

            var absent = await fixture.RunAsync(["cp", $"{CliFixture.Box}:/tmp/cp/absent", back]);
            Assert.Equal(3, absent.ExitCode);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task WorkflowsValidateOfflineRegisterAndRunsFollowToTheirEnd()
    {
        var directory = Directory.CreateTempSubdirectory("orch-wf").FullName;
        try
        {
            var broken = Path.Combine(directory, "broken.yaml");
            File.WriteAllText(broken, "name: broken\nsteps:\n  - id: nap\n    uses: slep\n");
            var invalid = await fixture.RunAsync(["workflows", "validate", broken, "-o", "json"]);
            Assert.Equal(1, invalid.ExitCode);
            var error = invalid.Json.GetProperty("errors")[0];
            Assert.Equal(4, error.GetProperty("line").GetInt32());
            Assert.Equal(11, error.GetProperty("column").GetInt32());

            var good = Path.Combine(directory, "good.yaml");
            File.WriteAllText(good, $"name: cli-good\nsteps:\n  - id: hello\n    uses: ssh.exec\n    with:\n      instance: {CliFixture.Box}\n      command: echo hello\n");
            var bad = Path.Combine(directory, "bad.yaml");
            File.WriteAllText(bad, $"name: cli-bad\nsteps:\n  - id: boom\n    uses: ssh.exec\n    with:\n      instance: {CliFixture.Box}\n      command: exit 4\n");
            Assert.Equal(0, (await fixture.RunAsync(["workflows", "validate", good])).ExitCode);
            var registered = await fixture.RunAsync(["workflows", "register", good, "-o", "json"]);
            Assert.True(registered.ExitCode == 0, registered.ToString());
            Assert.Equal(1, registered.Json.GetProperty("version").GetInt32());
            Assert.Equal(0, (await fixture.RunAsync(["workflows", "register", bad])).ExitCode);

            var list = await fixture.RunAsync(["workflows", "list", "-o", "json"]);
            Assert.Contains(list.Json.GetProperty("items").EnumerateArray(), w => w.GetProperty("name").GetString() == "cli-good");
            var show = await fixture.RunAsync(["workflows", "show", "cli-good", "--version", "1"]);
            Assert.Contains("echo hello", show.Text, StringComparison.Ordinal);
            Assert.Equal(3, (await fixture.RunAsync(["workflows", "show", "no-such-workflow"])).ExitCode);

            var success = await fixture.RunAsync(["runs", "start", "cli-good", "--follow"]);
            Assert.True(success.ExitCode == 0, success.ToString());
            Assert.Contains("step.completed", success.Text, StringComparison.Ordinal);
            Assert.Contains("succeeded", success.Stderr, StringComparison.Ordinal);

            var failure = await fixture.RunAsync(["runs", "start", "cli-bad", "--follow", "-o", "json"]);
            Assert.Equal(1, failure.ExitCode);
            var lines = failure.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains(lines, l => JsonDocument.Parse(l).RootElement.GetProperty("kind").GetString() == "step.failed");
            var final = JsonDocument.Parse(lines[^1]).RootElement;
            Assert.Equal("failed", final.GetProperty("status").GetString());
            var runId = final.GetProperty("id").GetString()!;

            var get = await fixture.RunAsync(["runs", "get", runId, "-o", "json"]);
            Assert.Equal("failed", get.Json.GetProperty("status").GetString());
            var runs = await fixture.RunAsync(["runs", "list", "--workflow", "cli-bad", "--status", "failed", "-o", "json"]);
            Assert.Contains(runs.Json.GetProperty("items").EnumerateArray(), r => r.GetProperty("id").GetString() == runId);
            var watch = await fixture.RunAsync(["runs", "watch", runId, "--from-sequence", "1"]);
            Assert.Equal(1, watch.ExitCode);
            var logs = await fixture.RunAsync(["runs", "logs", successRunId(success), "hello"]);
            Assert.Equal("hello\n", logs.Text);
            Assert.Equal(0, (await fixture.RunAsync(["runs", "retry", runId])).ExitCode);
            Assert.Equal(3, (await fixture.RunAsync(["runs", "get", "no-such-run"])).ExitCode);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        static string successRunId(OrchResult result) => result.Stderr.Split('\n').First(static l => l.StartsWith("run ", StringComparison.Ordinal)).Split(' ')[1];
    }

    [Fact]
    public async Task AdminCommandsNeedTheAdminKey()
    {
        var tenant = "cli-" + Guid.NewGuid().ToString("N")[..8];
        var created = await fixture.RunAsync(["tenants", "create", tenant, "--display-name", "CLI", "-o", "json"], key: ApiKeys.Admin);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Equal(tenant, created.Json.GetProperty("id").GetString());
        var quotas = await fixture.RunAsync(["tenants", "quotas", tenant, "--max-instances", "3", "-o", "json"], key: ApiKeys.Admin);
        Assert.Equal(3, quotas.Json.GetProperty("quotas").GetProperty("max_instances").GetInt32());
        Assert.Equal(0, (await fixture.RunAsync(["tenants", "get", tenant], key: ApiKeys.Admin)).ExitCode);

        var key = await fixture.RunAsync(["keys", "create", tenant, "--name", "ci", "-o", "json"], key: ApiKeys.Admin);
        var keyId = key.Json.GetProperty("id").GetString()!;
        var newKey = key.Json.GetProperty("key").GetString()!;
        Assert.Equal(0, (await fixture.RunAsync(["instances", "list"], key: newKey)).ExitCode);
        var keys = await fixture.RunAsync(["keys", "list", tenant, "-o", "json"], key: ApiKeys.Admin);
        Assert.Contains(keys.Json.GetProperty("items").EnumerateArray(), k => k.GetProperty("id").GetString() == keyId);
        Assert.Equal(0, (await fixture.RunAsync(["keys", "revoke", tenant, keyId], key: ApiKeys.Admin)).ExitCode);
        Assert.Equal(4, (await fixture.RunAsync(["instances", "list"], key: newKey)).ExitCode);

        Assert.Equal(4, (await fixture.RunAsync(["tenants", "get", tenant])).ExitCode);
    }

    [Fact]
    public async Task TenantsListShowsEveryTenantOrOnePageAndNeedsTheAdminKey()
    {
        // The cluster is shared: the paged call starts at this test's prefix, which sorts just before its tenants.
        var prefix = "cli-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var id in new[] { "b", "a", "c" })
        {
            Assert.Equal(0, (await fixture.RunAsync(["tenants", "create", $"{prefix}-{id}", "--display-name", $"Tenant {id}"], key: ApiKeys.Admin)).ExitCode);
        }

        var all = await fixture.RunAsync(["tenants", "list", "-o", "json"], key: ApiKeys.Admin);
        Assert.True(all.ExitCode == 0, all.ToString());
        var ids = all.Json.GetProperty("items").EnumerateArray().Select(static t => t.GetProperty("id").GetString()!).ToList();
        Assert.Equal([$"{prefix}-a", $"{prefix}-b", $"{prefix}-c"], ids.Where(i => i.StartsWith(prefix, StringComparison.Ordinal)));
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.False(all.Json.TryGetProperty("next_cursor", out _));

        var page = await fixture.RunAsync(["tenants", "list", "--limit", "2", "--cursor", prefix, "-o", "json"], key: ApiKeys.Admin);
        var items = page.Json.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal([$"{prefix}-a", $"{prefix}-b"], items.Select(static t => t.GetProperty("id").GetString()));
        Assert.Equal("Tenant a", items[0].GetProperty("display_name").GetString());
        Assert.Equal($"{prefix}-b", page.Json.GetProperty("next_cursor").GetString());

        var table = await fixture.RunAsync(["tenants", "list", "--limit", "1", "--cursor", prefix], key: ApiKeys.Admin);
        Assert.StartsWith("ID\tDISPLAY NAME\tCREATED\n", table.Text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains($"{prefix}-a\tTenant a\t", table.Text, StringComparison.Ordinal);
        Assert.Contains($"--cursor {prefix}-a", table.Stderr, StringComparison.Ordinal);

        var badLimit = await fixture.RunAsync(["tenants", "list", "--limit", "0"], key: ApiKeys.Admin);
        Assert.Equal(2, badLimit.ExitCode);
        Assert.Contains("limit", badLimit.Stderr, StringComparison.Ordinal);

        Assert.Equal(4, (await fixture.RunAsync(["tenants", "list"])).ExitCode);

        var help = await fixture.RunAsync(["tenants", "list", "--help"]);
        Assert.Contains("orch tenants list --limit 20 --cursor acme", help.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginSavesAContextReadableOnlyByItsOwner()
    {
        var home = Directory.CreateTempSubdirectory("orch-login").FullName;
        try
        {
            var environment = new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = home, ["ORCH_URL"] = "", ["ORCH_KEY"] = "" };
            var login = await fixture.RunAsync(["login", "--url", fixture.BaseAddress.ToString(), "--context", "test"], stdin: Encoding.UTF8.GetBytes(fixture.TenantKey + "\n"), environment: environment);
            Assert.True(login.ExitCode == 0, login.ToString());
            var config = Path.Combine(home, "orch", "config.json");
            Assert.True(OperatingSystem.IsWindows() || File.GetUnixFileMode(config) == (UnixFileMode.UserRead | UnixFileMode.UserWrite), "config.json is not 0600");

            var list = await fixture.RunAsync(["instances", "list", "-o", "json"], environment: environment);
            Assert.True(list.ExitCode == 0, list.ToString());
            var contexts = await fixture.RunAsync(["context", "list", "-o", "json"], environment: environment);
            Assert.True(contexts.Json[0].GetProperty("current").GetBoolean());
            Assert.Equal(0, (await fixture.RunAsync(["context", "remove", "test"], environment: environment)).ExitCode);
            Assert.Equal(3, (await fixture.RunAsync(["context", "use", "test"], environment: environment)).ExitCode);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>Counts and hashes what orch writes to stdout, without keeping it.</summary>
    private sealed class HashingStream : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _length;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public string Hex() => Convert.ToHexStringLower(_hash.GetHashAndReset());

        public override void Write(byte[] buffer, int offset, int count)
        {
            _hash.AppendData(buffer, offset, count);
            _length += count;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
